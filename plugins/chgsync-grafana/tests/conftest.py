"""Fixtures of this package's tests: a running Grafana stand-in, sinks pointed at it, and markers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_grafana.sink import GrafanaSink, from_settings
from chgsync_grafana.standin import GrafanaStandIn

from chgsync.markers import DeployMarker, MarkerPhase
from chgsync.testing.pytest_plugin import closing_all, emulator_fixture
from chgsync.testing.samples import sample_marker

START = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TOOK = timedelta(minutes=30, milliseconds=250)
LINKS = {"Jira": "https://acme.atlassian.net/browse/OPS-42"}


standin = emulator_fixture(GrafanaStandIn)


@pytest.fixture
def make_sink(standin: GrafanaStandIn) -> Iterator[Callable[..., GrafanaSink]]:
    """``make_sink(**settings)``: a sink on the stand-in with its token unless told otherwise."""
    yield from closing_all(lambda **settings: from_settings(
        {"url": standin.base_url, "token": standin.secret, "timeout": 5, **settings}))


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: the sample marker (CHG-1001 on checkout in prod) starting at START; an end
    comes half an hour and a quarter second later (Grafana keeps milliseconds)."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, **fields: Any) -> DeployMarker:
        at = START if phase == MarkerPhase.STARTED else START + TOOK
        return sample_marker(phase, at=at, took=TOOK, **{
            "key": f"CHG-1001:mark:{phase.value}>grafana", "links": LINKS, **fields})

    return make

