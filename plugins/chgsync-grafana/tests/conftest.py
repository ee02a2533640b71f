"""Fixtures of this package's tests: a running Grafana stand-in, sinks pointed at it, and markers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_grafana.sink import GrafanaSink, from_settings
from chgsync_grafana.standin import GrafanaStandIn

from chgsync.markers import DeployMarker, MarkerPhase

BASE = DeployMarker(
    key="CHG-1001:mark:started>grafana", change_id="CHG-1001", phase=MarkerPhase.STARTED,
    at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC), services=("checkout",), environment="prod",
    title="Upgrade the cart", change_type="normal", risk="moderate",
    links={"Jira": "https://acme.atlassian.net/browse/OPS-42"})


@pytest.fixture
def standin() -> Iterator[GrafanaStandIn]:
    with GrafanaStandIn() as server:
        yield server


@pytest.fixture
def make_sink(standin: GrafanaStandIn) -> Iterator[Callable[..., GrafanaSink]]:
    """``make_sink(**settings)``: a sink on the stand-in with its token unless told otherwise."""
    made: list[GrafanaSink] = []

    def make(**settings: Any) -> GrafanaSink:
        sink = from_settings({"url": standin.base_url, "token": standin.secret, "timeout": 5, **settings})
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: CHG-1001 on checkout in prod; an end began 30 minutes before it."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, **fields: Any) -> DeployMarker:
        at = BASE.at if phase == MarkerPhase.STARTED else BASE.at + timedelta(minutes=30, milliseconds=250)
        started = None if phase == MarkerPhase.STARTED else BASE.at
        made = replace(BASE, key=f"CHG-1001:mark:{phase.value}>grafana", phase=phase, at=at, started_at=started)
        return replace(made, **fields)

    return make

