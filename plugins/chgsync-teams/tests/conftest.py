"""Fixtures: a started Workflows stand-in, a notifier pointed at its trigger URL, and notices to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from chgsync_teams.notifier import TeamsNotifier, from_settings
from chgsync_teams.standin import TeamsStandIn

from chgsync.notify import Notification


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn() as server:
        yield server


@pytest.fixture
def make_notifier(standin: TeamsStandIn) -> Callable[..., TeamsNotifier]:
    def make(**overrides: Any) -> TeamsNotifier:
        return from_settings({"url": standin.workflow_url(), "timeout": 5, **overrides})

    return make


@pytest.fixture
def notifier(make_notifier: Callable[..., TeamsNotifier]) -> TeamsNotifier:
    return make_notifier()


NOTICE = Notification(
    key="CHG-7:cab_decision:1>teams",
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
