"""The ``jira`` library, under chgsync's retry policy and call counter.

The library's own retries are switched off (``max_retries=0``): it sleeps for real, only on 429 and
503, and would hide attempts from the count. Every HTTP call the adapter makes goes through
:meth:`Http.call`, which retries under :func:`chgsync.retry.call_with_retry` (429 honours
``Retry-After``; 5xx, timeouts and connection errors back off with jitter; other 4xx fail at once
with Jira's own words). A response hook on the library's session counts each response under the
adapter operation in progress, so ``calls`` matches what the server saw, retries included.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from chgsync.retry import Attempt, CallCounter, call_with_retry, parse_retry_after

from .config import Settings

T = TypeVar("T")

_TAGS = re.compile(r"<[^>]+>")


def jira_message(response: requests.Response | None, fallback: str = "") -> str:
    """Jira's own account of an error: ``errorMessages`` and ``errors`` (field: message), or the text."""
    if response is None:
        return fallback
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(m) for m in body.get("errorMessages") or [] if m]
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        for key in ("message", "errorMessage"):
            if not parts and body.get(key):
                parts.append(str(body[key]))
        if parts:
            return "; ".join(parts)
    text = " ".join(_TAGS.sub(" ", response.text or "").split())
    if text:
        return text[:300]
    return fallback or f"{response.status_code} {response.reason}".strip()


def classify(exc: BaseException) -> Attempt | None:
    """What a failed call tells the retry loop; None for exceptions that are not remote failures."""
    if isinstance(exc, JIRAError):
        response = exc.response if isinstance(exc.response, requests.Response) else None
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        message = jira_message(response, fallback=str(exc.text or "") or "no answer")
        return Attempt(exc.status_code, retry_after, message)
    if isinstance(exc, requests.Timeout):
        return Attempt(None, None, f"no answer within the timeout ({exc.__class__.__name__})")
    if isinstance(exc, requests.RequestException):
        return Attempt(None, None, f"{exc.__class__.__name__}: {exc}")
    return None


class Http:
    """One ``jira.JIRA`` client for one adapter, created on first use (the factory does no I/O)."""

    def __init__(self, settings: Settings, counter: CallCounter) -> None:
        self.settings = settings
        self.counter = counter
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> JIRA:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> JIRA:
        s = self.settings
        # get_server_info=False: the constructor would call serverInfo before the counting hook is on;
        # Adapter.connect() makes that call itself, counted, and sets what the constructor would have.
        client = JIRA(
            server=s.url,
            basic_auth=(s.user, s.token),
            max_retries=0,
            timeout=s.timeout,
            get_server_info=False,
            options={"verify": s.verify, "check_update": False},
        )
        client._session.hooks["response"].append(self.counter.hook)
        return client

    def call(self, operation: str, fn: Callable[[JIRA], T]) -> T:
        """Run one HTTP call under the retry policy; failures become :class:`chgsync.errors.RemoteError`."""
        client = self.client
        return call_with_retry(lambda: fn(client), classify, system=self.settings.name, operation=operation,
                               policy=self.settings.retry, sleep=self.settings.sleep or time.sleep)

    # -- raw REST where the library would spend extra calls --------------------------------------------
    def url(self, path: str) -> str:
        return str(self.client._get_url(path))

    def get(self, client: JIRA, path: str, params: dict[str, Any] | None = None) -> Any:
        response = client._session.get(self.url(path), params=params)
        return response.json() if response.content else None

    def send(self, client: JIRA, method: str, path: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        response = client._session.request(method, self.url(path), data=json.dumps(body), params=params)
        return response.json() if response.content else None
