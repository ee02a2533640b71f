"""Notifications: what a channel plugin receives and must implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .registry import Component


@dataclass(frozen=True)
class Notification:
    """One message about one change. ``key`` is stable across retries: use it to deduplicate."""

    key: str
    change_id: str
    event: str
    subject: str
    text: str
    recipients: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """A channel. ``send`` raises :class:`chgsync.errors.RemoteError` when delivery failed."""

    def send(self, notification: Notification) -> str | None:
        """Deliver and return the channel's id for the message (for threading), if it has one."""
        ...


NotifierFactory = Callable[[Mapping[str, Any]], Notifier]


class NotifierType(Component[NotifierFactory]):
    kind = "notifier"
