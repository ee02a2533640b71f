"""Fixtures for the webhook notifier's tests: a receiver stand-in and notifications to deliver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_webhook.notifier import WebhookNotifier
from chgsync_webhook.settings import load_settings
from chgsync_webhook.standin import WebhookReceiver

from chgsync.notify import Notification

SECRET = "a-shared-secret-of-some-length"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Clock:
    """A settable clock, so the receiver and the sender can disagree on purpose."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def shift(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET, clock=lambda: NOW) as r:
        yield r


@pytest.fixture
def notifier(receiver: WebhookReceiver, clock: Clock) -> Callable[..., WebhookNotifier]:
    """A notifier aimed at the receiver, with any setting overridden."""

    def make(**settings: Any) -> WebhookNotifier:
        return WebhookNotifier(load_settings({"url": receiver.url, "secret": SECRET} | settings), clock=clock)

    return make


@pytest.fixture
def note() -> Callable[..., Notification]:
    def make(**overrides: Any) -> Notification:
        fields: dict[str, Any] = {
            "key": "notice-1>hook", "change_id": "CHG0012345", "event": "implementation_started",
            "subject": "Implementation started", "text": "Work on the payments database has begun.",
            "recipients": ("alice@example.com", "@bob"), "links": {"Jira": "https://jira.example.com/OPS-7"},
            "facts": {"State": "Implementing", "Risk": "high"}, "components": ("payments-db",),
        }
        return Notification(**(fields | overrides))

    return make
