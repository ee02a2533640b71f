"""Notifications: what a channel plugin receives and must implement.

The daemon never calls a channel directly. The engine and the scheduler queue a notice about an
event; the relay routes it (communication plan plus configured routes) and queues one delivery per
channel, so a channel that is down delays its own messages and nobody else's, and a message is
retried, never lost, never sent twice by a retry of another channel's failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from .registry import Component


class Event(StrEnum):
    """What a notice is about. Routes in the daemon configuration name these."""

    STATE_CHANGED = "state_changed"
    APPROVAL_REQUESTED = "approval_requested"
    CAB_DECISION = "cab_decision"
    WINDOW_OPENING = "window_opening"
    IMPLEMENTATION_STARTED = "implementation_started"
    IMPLEMENTATION_COMPLETED = "implementation_completed"
    VALIDATION_DUE = "validation_due"
    VALIDATION_FAILED = "validation_failed"
    ROLLBACK = "rollback"
    ROLLBACK_RECOMMENDED = "rollback_recommended"
    DEADLINE_DUE = "deadline_due"
    DEADLINE_MISSED = "deadline_missed"
    MOVE_REVERTED = "move_reverted"
    EMERGENCY_STATUS = "emergency_status"
    EMERGENCY_RESOLVED = "emergency_resolved"
    INCIDENT_CORRELATED = "incident_correlated"

    @classmethod
    def of(cls, name: str) -> Event:
        """The event a notice's name routes as (obligation notices carry their own, finer names)."""
        if name in cls._value2member_map_:
            return cls(name)
        if name.endswith("_reminder"):
            return cls.DEADLINE_DUE
        if name.endswith("_escalation"):
            return cls.DEADLINE_MISSED
        return _ALIASES.get(name, cls.STATE_CHANGED)

    @property
    def timing(self) -> str:
        """Where the event falls in a communication plan's before / during / after."""
        return _TIMING.get(self, "during")


_TIMING = {
    Event.APPROVAL_REQUESTED: "before", Event.CAB_DECISION: "before", Event.WINDOW_OPENING: "before",
    Event.IMPLEMENTATION_STARTED: "during", Event.EMERGENCY_STATUS: "during",
    Event.IMPLEMENTATION_COMPLETED: "after", Event.VALIDATION_DUE: "after", Event.VALIDATION_FAILED: "after",
    Event.ROLLBACK: "after", Event.ROLLBACK_RECOMMENDED: "after", Event.EMERGENCY_RESOLVED: "after",
    Event.INCIDENT_CORRELATED: "after",
}

_ALIASES = {"status_update": Event.EMERGENCY_STATUS}

# Status-page vocabulary for a realtime incident; an emergency change walks it.
STATUS_PAGE_STATES = ("investigating", "identified", "monitoring", "resolved")


@dataclass(frozen=True)
class Notification:
    """One message about one change, for one channel.

    ``key`` is stable across retries: a channel that can deduplicate should use it. ``thread`` is
    what this channel returned for the first message it sent about this change (a Slack ``ts``, a
    Statuspage incident id, an email Message-ID), so later messages thread under it or update it.
    ``facts`` are ordered label → value pairs (State, Type, Risk, Window, ...) for rich layouts;
    ``links`` name → URL (one per ticketing system). ``status`` is the status-page state for
    emergency notices, ``components`` the systems affected, ``severity`` info/warning/critical.
    """

    key: str
    change_id: str
    event: str
    subject: str
    text: str
    recipients: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, str] = field(default_factory=dict)
    thread: str | None = None
    emergency: bool = False
    status: str | None = None
    components: tuple[str, ...] = ()
    severity: str = "info"

    @property
    def emails(self) -> tuple[str, ...]:
        """Recipients that are email addresses (stakeholder contacts may also be Slack handles)."""
        return tuple(r for r in self.recipients if "@" in r and not r.startswith(("@", "#")))


@runtime_checkable
class Notifier(Protocol):
    """A channel. ``send`` raises :class:`chgsync.errors.RemoteError` when delivery failed.

    A retryable error (no response, 429, 5xx) is retried later with backoff, honouring
    ``retry_after``; any other is dead-lettered for ``chgsync outbox retry``.
    """

    def send(self, notification: Notification) -> str | None:
        """Deliver and return the channel's id for the message (for threading), if it has one."""
        ...


NotifierFactory = Callable[[Mapping[str, Any]], Notifier]


class NotifierType(Component[NotifierFactory]):
    kind = "notifier"
