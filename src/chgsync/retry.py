"""Retrying remote calls: honour Retry-After on 429, back off exponentially with jitter on 5xx and
timeouts, and give up with a typed error that carries the remote's own message.

Both adapters use this one policy so that behaviour under load is the same everywhere; the sleep
function is injectable so tests exercise the policy without waiting.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from .errors import RateLimited, RemoteError

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` counts the first try. Delays are full-jitter: uniform in [0, min(cap, base·2^n)]."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 20.0
    max_retry_after: float = 120.0
    timeout: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2**retry))

    def delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # The server's advice is a floor; a little jitter keeps replicas from waking together.
            return min(self.max_retry_after, retry_after) + self.rng.uniform(0, self.base)
        return self.backoff(retry)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date, RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class CallCounter:
    """API calls per adapter operation (``create``, ``move``...), including retries. Thread-safe."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextmanager
    def operation(self, name: str) -> Iterator[None]:
        previous = getattr(self._local, "op", None)
        self._local.op = previous or name  # an operation called inside another counts to the outer one
        try:
            yield
        finally:
            self._local.op = previous

    @property
    def current(self) -> str:
        return getattr(self._local, "op", None) or "other"

    def count(self, n: int = 1) -> None:
        with self._lock:
            self.calls[self.current] += n

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """A ``requests`` response hook: one call counted per HTTP response received."""
        self.count()
        return response


@dataclass(frozen=True)
class Attempt:
    """What one try produced, as the retry loop needs to see it."""

    status: int | None
    retry_after: float | None
    message: str


def call_with_retry(
    fn: Callable[[], T],
    classify: Callable[[BaseException], Attempt | None],
    *,
    system: str,
    operation: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn``; on an exception ``classify`` turns into a retryable :class:`Attempt`, wait and retry.

    ``classify`` returns None for exceptions that are not remote failures (they propagate as they
    are). Non-retryable statuses (4xx other than 408/425/429) fail at once.
    """
    last: Attempt | None = None
    for attempt in range(policy.attempts):
        try:
            return fn()
        except Exception as exc:
            last = classify(exc)
            if last is None:
                raise
            retryable = last.status is None or last.status in RETRYABLE_STATUS
            if not retryable:
                raise RemoteError(system, operation, last.status, last.message, attempts=attempt + 1) from exc
            if attempt + 1 >= policy.attempts:
                if last.status == 429:
                    raise RateLimited(system, operation, last.message, retry_after=last.retry_after,
                                      attempts=attempt + 1) from exc
                raise RemoteError(system, operation, last.status, last.message, attempts=attempt + 1) from exc
            sleep(policy.delay(attempt, last.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover
