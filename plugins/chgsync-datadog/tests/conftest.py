"""Fixtures of this package's tests: a running Datadog stand-in and sinks pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_datadog.sink import DatadogSink, from_settings
from chgsync_datadog.standin import DatadogStandIn

from chgsync.markers import DeployMarker, MarkerPhase

STARTED = DeployMarker(
    key="CHG-1001:mark:started", change_id="CHG-1001", phase=MarkerPhase.STARTED,
    at=datetime(2026, 1, 1, tzinfo=UTC), services=("checkout",), environment="prod", title="Upgrade the cart",
    change_type="normal", risk="moderate", links={"Jira": "https://acme.atlassian.net/browse/CHG-1001"})


@pytest.fixture
def standin() -> Iterator[DatadogStandIn]:
    with DatadogStandIn() as server:
        yield server


@pytest.fixture
def make_sink(standin: DatadogStandIn) -> Iterator[Callable[..., DatadogSink]]:
    """``make_sink(**settings)``: a sink on the stand-in, with its API key unless told otherwise."""
    made: list[DatadogSink] = []

    def make(**settings: Any) -> DatadogSink:
        sink = from_settings({"api_key": standin.secret, "host": standin.base_url, **settings})
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: CHG-1001 on checkout/prod, happening a minute ago."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, **fields: Any) -> DeployMarker:
        at = datetime.now(UTC).replace(microsecond=250_000) - timedelta(minutes=1)
        started = None if phase == MarkerPhase.STARTED else at - timedelta(minutes=30)
        base = replace(STARTED, key=f"CHG-1001:mark:{phase.value}", phase=phase, at=at, started_at=started)
        return replace(base, **fields)

    return make
