"""Fixtures: a started Slack stand-in, a notifier pointed at it, and notices to send."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from chgsync_slack.notifier import SlackNotifier, from_settings
from chgsync_slack.standin import SlackStandIn

from chgsync.notify import Notification
from chgsync.testing import ManualClock
from chgsync.testing.pytest_plugin import emulator_fixture
from chgsync.testing.samples import sample_notice

standin = emulator_fixture(SlackStandIn)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_notifier(standin: SlackStandIn, clock: ManualClock) -> Callable[..., SlackNotifier]:
    def make(**overrides: Any) -> SlackNotifier:
        settings = {"token": standin.secret, "channel": "#changes", "base_url": f"{standin.base_url}/api/",
                    "timeout": 5, **overrides}
        return from_settings(settings, clock=clock, sleep=clock.sleep)

    return make


@pytest.fixture
def notifier(make_notifier: Callable[..., SlackNotifier]) -> SlackNotifier:
    return make_notifier()


@pytest.fixture
def notice() -> Callable[..., Notification]:
    """The sample notice (CHG-7 approved by the CAB) with some fields replaced."""
    return partial(sample_notice, key="CHG-7:cab_decision:1>slack")
