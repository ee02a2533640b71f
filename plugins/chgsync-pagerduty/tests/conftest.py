"""Fixtures of this package's tests: a running PagerDuty stand-in, sinks pointed at it, and markers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chgsync_pagerduty.sink import PagerDutySink, from_settings
from chgsync_pagerduty.standin import PagerDutyStandIn

from chgsync.markers import DeployMarker, MarkerPhase
from chgsync.testing.pytest_plugin import closing_all, emulator_fixture
from chgsync.testing.samples import sample_marker

AT = datetime(2026, 3, 2, 14, 1, 7, 250_000, tzinfo=UTC)
LINKS = {"jira": "https://acme.atlassian.net/browse/CHG-1001", "servicenow": "CHG0031337"}


standin = emulator_fixture(PagerDutyStandIn)


@pytest.fixture
def make_sink(standin: PagerDutyStandIn) -> Iterator[Callable[..., PagerDutySink]]:
    """``make_sink(**settings)``: a sink on the stand-in, with its default key unless told otherwise."""
    yield from closing_all(lambda **settings: from_settings(
        {"routing_key": standin.secret, "base_url": standin.base_url, "timeout": 5, **settings}))


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: the sample marker (CHG-1001 on checkout) in production, with a Jira
    link and a ServiceNow key; later phases began 30 minutes before."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, *, at: datetime = AT, **fields: Any) -> DeployMarker:
        return sample_marker(phase, at=at, **{"environment": "production", "links": LINKS, **fields})

    return make
