"""Fixtures: a started Slack stand-in, a notifier pointed at it, and notices to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from chgsync_slack.notifier import SlackNotifier, from_settings
from chgsync_slack.standin import SlackStandIn

from chgsync.notify import Notification


class FakeClock:
    """Monotonic seconds that move only when told to, or when the notifier sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_notifier(standin: SlackStandIn, clock: FakeClock) -> Callable[..., SlackNotifier]:
    def make(**overrides: Any) -> SlackNotifier:
        settings = {"token": standin.secret, "channel": "#changes", "base_url": f"{standin.base_url}/api/",
                    "timeout": 5, **overrides}
        return from_settings(settings, clock=clock, sleep=clock.sleep)

    return make


@pytest.fixture
def notifier(make_notifier: Callable[..., SlackNotifier]) -> SlackNotifier:
    return make_notifier()


NOTICE = Notification(
    key="CHG-7:cab_decision:1>slack",
    change_id="CHG-7",
    event="cab_decision",
    subject="CHG-7: Upgrade the orders database to PostgreSQL 16",
    text="The CAB approved CHG-7 for the window on 2026-03-01.",
    links={"jira": "https://acme.atlassian.net/browse/OPS-42", "servicenow": "CHG0031337"},
    facts={"State": "Scheduled", "Type": "normal", "Risk": "high",
           "Window": "2026-03-01 02:00–03:00 UTC", "Environment": "", "Systems": "orders-db"},
)


@pytest.fixture
def notice() -> Callable[..., Notification]:
    """A change's notice with some fields replaced."""

    def make(**changes: Any) -> Notification:
        return replace(NOTICE, **changes)

    return make
