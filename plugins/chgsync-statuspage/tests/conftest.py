"""Fixtures: a running Statuspage stand-in, notifiers pointed at it, and emergency notices to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial

import pytest
from chgsync_statuspage.notifier import StatuspageNotifier, from_settings
from chgsync_statuspage.standin import DEFAULT_PAGE_ID, StatuspageStandIn

from chgsync.notify import Notification
from chgsync.testing.pytest_plugin import closing_all, emulator_fixture
from chgsync.testing.samples import sample_notice

standin = emulator_fixture(StatuspageStandIn)


@pytest.fixture
def make_notifier(standin: StatuspageStandIn) -> Iterator[Callable[..., StatuspageNotifier]]:
    """``make_notifier(**settings)``: a notifier on the stand-in's page, unpaced unless told otherwise."""
    yield from closing_all(lambda **settings: from_settings(
        {"api_key": standin.secret, "page_id": DEFAULT_PAGE_ID, "base_url": f"{standin.base_url}/v1",
         "timeout": 5, "min_interval": 0, **settings}))


@pytest.fixture
def notifier(make_notifier: Callable[..., StatuspageNotifier]) -> StatuspageNotifier:
    return make_notifier()


EMERGENCY = sample_notice(key="CHG-9:event:state:implementing:3>status", change_id="CHG-9",
                          event="state_changed", subject="CHG-9: Checkout payments failing",
                          text="We are investigating failed card payments at checkout.", emergency=True,
                          status="investigating", components=("checkout", "payments"), severity="critical")


@pytest.fixture
def notice() -> Callable[..., Notification]:
    """An emergency notice about CHG-9 with some fields replaced."""
    return partial(replace, EMERGENCY)
