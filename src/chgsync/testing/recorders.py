"""In-memory channels and marker sinks for tests: they keep what they receive and can be made to fail.

They register through the same hooks as a real channel plugin (``register_notifiers``,
``register_marker_sinks``), so a test exercises routing, the outbox and retries exactly as the
daemon runs them with Slack or Datadog, minus the network.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from .. import hookimpl
from ..errors import RemoteError
from ..markers import DeployMarker, MarkerSinkType
from ..notify import Notification, NotifierType


class _Failing:
    def __init__(self, system: str) -> None:
        self.system = system
        self._fail = 0
        self._down = False
        self.attempts = 0
        self._lock = threading.Lock()

    def fail_next(self, n: int = 1) -> None:
        """The next ``n`` calls fail as a 503 would (retryable)."""
        self._fail = n

    def down(self, is_down: bool = True) -> None:
        self._down = is_down

    def _maybe_fail(self, operation: str) -> None:
        with self._lock:
            self.attempts += 1
            if self._down or self._fail > 0:
                self._fail = max(0, self._fail - 1)
                raise RemoteError(self.system, operation, 503, "Service Unavailable")


class Recorder(_Failing):
    """A notification channel. ``send`` returns a thread id for the first message of each change."""

    def __init__(self, name: str = "recorder") -> None:
        super().__init__(name)
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> str | None:
        self._maybe_fail("send")
        self.sent.append(notification)
        return notification.thread or f"thread-{notification.change_id}"

    def events(self) -> Counter[str]:
        return Counter(n.event for n in self.sent)


class MarkerRecorder(_Failing):
    """A marker sink; ``mark`` returns an id per change, as an annotation store would."""

    def __init__(self, name: str = "markers") -> None:
        super().__init__(name)
        self.marks: list[DeployMarker] = []

    def mark(self, marker: DeployMarker) -> str | None:
        self._maybe_fail("mark")
        self.marks.append(marker)
        return marker.previous or f"mark-{marker.change_id}"


class RecorderPlugin:
    """Registers the ``recorder`` channel type and the ``markers`` sink type, each handing out one instance."""

    def __init__(self, recorder: Recorder | None = None, markers: MarkerRecorder | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.markers = markers or MarkerRecorder()

    @hookimpl
    def register_notifiers(self, register: Callable[[NotifierType], None]) -> None:
        register(NotifierType(name="recorder", factory=self._recorder, description="Keeps what it is sent."))

    @hookimpl
    def register_marker_sinks(self, register: Callable[[MarkerSinkType], None]) -> None:
        register(MarkerSinkType(name="markers", factory=self._markers, description="Keeps the markers it gets."))

    def _recorder(self, settings: Mapping[str, Any]) -> Recorder:
        return self.recorder

    def _markers(self, settings: Mapping[str, Any]) -> MarkerRecorder:
        return self.markers
