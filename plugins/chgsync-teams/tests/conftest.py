"""Fixtures: a started Workflows stand-in, a notifier pointed at its trigger URL, and notices to send."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from chgsync_teams.notifier import TeamsNotifier, from_settings
from chgsync_teams.standin import TeamsStandIn

from chgsync.notify import Notification
from chgsync.testing.pytest_plugin import emulator_fixture
from chgsync.testing.samples import sample_notice

standin = emulator_fixture(TeamsStandIn)


@pytest.fixture
def make_notifier(standin: TeamsStandIn) -> Callable[..., TeamsNotifier]:
    def make(**overrides: Any) -> TeamsNotifier:
        return from_settings({"url": standin.workflow_url(), "timeout": 5, **overrides})

    return make


@pytest.fixture
def notifier(make_notifier: Callable[..., TeamsNotifier]) -> TeamsNotifier:
    return make_notifier()


@pytest.fixture
def notice() -> Callable[..., Notification]:
    """The sample notice (CHG-7 approved by the CAB) with some fields replaced."""
    return partial(sample_notice, key="CHG-7:cab_decision:1>teams")
