"""Fixtures for the email notifier's tests: notifications to send and the SMTP sinks to send them to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chgsync_email.testing import SmtpSink, smtp_sink  # noqa: F401  (the fixture)

from chgsync.notify import Notification

SENDER = "chgsync <chgsync@example.com>"
WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def note() -> Callable[..., Notification]:
    """A notification about CHG0012345, with any field overridden."""

    def make(**overrides: Any) -> Notification:
        fields: dict[str, Any] = {
            "key": "notice-1>email", "change_id": "CHG0012345", "event": "implementation_started",
            "subject": "Implementation started", "text": "Work on the payments database has begun.",
            "recipients": ("alice@example.com", "@bob", "#changes"),
            "links": {"Jira": "https://jira.example.com/browse/OPS-7"},
            "facts": {"State": "Implementing", "Risk": "high"},
        }
        return Notification(**(fields | overrides))

    return make


@pytest.fixture
def secure_sink() -> Iterator[SmtpSink]:
    """STARTTLS required, with a self-signed certificate, and AUTH required for the user ``chgsync``."""
    with SmtpSink(tls="starttls", users={"chgsync": "s3cret-pass"}) as sink:
        yield sink
