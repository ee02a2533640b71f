"""Fixtures of this package's tests: a running PagerDuty stand-in, sinks pointed at it, and markers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_pagerduty.sink import PagerDutySink, from_settings
from chgsync_pagerduty.standin import PagerDutyStandIn

from chgsync.markers import DeployMarker, MarkerPhase

BASE = DeployMarker(
    key="CHG-1001:mark:started", change_id="CHG-1001", phase=MarkerPhase.STARTED,
    at=datetime(2026, 3, 2, 14, 1, 7, 250_000, tzinfo=UTC), services=("checkout",), environment="production",
    title="Upgrade the cart", change_type="normal", risk="moderate",
    links={"jira": "https://acme.atlassian.net/browse/CHG-1001", "servicenow": "CHG0031337"})


@pytest.fixture
def standin() -> Iterator[PagerDutyStandIn]:
    with PagerDutyStandIn() as server:
        yield server


@pytest.fixture
def make_sink(standin: PagerDutyStandIn) -> Iterator[Callable[..., PagerDutySink]]:
    """``make_sink(**settings)``: a sink on the stand-in, with its default key unless told otherwise."""
    made: list[PagerDutySink] = []

    def make(**settings: Any) -> PagerDutySink:
        sink = from_settings({"routing_key": standin.secret, "base_url": standin.base_url, "timeout": 5,
                              **settings})
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: CHG-1001 on checkout in production; later phases began 30 minutes before."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, **fields: Any) -> DeployMarker:
        started = None if phase == MarkerPhase.STARTED else BASE.at - timedelta(minutes=30)
        base = replace(BASE, key=f"CHG-1001:mark:{phase.value}", phase=phase, started_at=started)
        return replace(base, **fields)

    return make
