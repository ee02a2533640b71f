"""Spacing posts to one channel, because Slack allows about one message per second per channel.

Waiting here is cheaper than a 429: a burst of notices about one change (approved, window opening,
started) would otherwise come back as ``ratelimited`` and be retried by the outbox much later. The
clock and sleep are injectable so tests check the spacing without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ChannelPacer:
    """Holds each post to a channel until ``min_interval`` has passed since the previous one ended.

    A post is held at most ``min_interval`` seconds, whatever the clock does (a clock that jumps
    backwards must not stall a channel). Posts to one channel are serialised; channels are independent.
    """

    def __init__(self, min_interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, channel: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(channel, threading.Lock())

    @contextmanager
    def slot(self, channel: str) -> Iterator[None]:
        """Wait for the channel's turn, then post inside the ``with`` block."""
        with self._lock(channel):
            last = self._last.get(channel)
            if last is not None and self.min_interval > 0:
                wait = min(self.min_interval, last + self.min_interval - self._clock())
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                # A failed attempt reached Slack too and counts against the limit.
                self._last[channel] = self._clock()
