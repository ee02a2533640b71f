"""Fixtures of this package's tests: a running Datadog stand-in and sinks pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_datadog.sink import DatadogSink, from_settings
from chgsync_datadog.standin import DatadogStandIn

from chgsync.markers import DeployMarker, MarkerPhase
from chgsync.testing.pytest_plugin import closing_all, emulator_fixture
from chgsync.testing.samples import sample_marker

standin = emulator_fixture(DatadogStandIn)


@pytest.fixture
def make_sink(standin: DatadogStandIn) -> Iterator[Callable[..., DatadogSink]]:
    """``make_sink(**settings)``: a sink on the stand-in, with its API key unless told otherwise."""
    yield from closing_all(lambda **settings: from_settings(
        {"api_key": standin.secret, "host": standin.base_url, **settings}))


@pytest.fixture
def marker() -> Callable[..., DeployMarker]:
    """``marker(phase, **fields)``: the sample marker (CHG-1001 on checkout/prod), happening a minute ago
    (Datadog refuses events dated too far back)."""

    def make(phase: MarkerPhase = MarkerPhase.STARTED, *, at: datetime | None = None,
             **fields: Any) -> DeployMarker:
        at = at or datetime.now(UTC).replace(microsecond=250_000) - timedelta(minutes=1)
        return sample_marker(phase, at=at, **fields)

    return make
