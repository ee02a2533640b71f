"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``datadog``).

Registers the ``datadog`` marker sink (``markers:`` in the daemon's configuration) and the
``datadog`` emulator, a stand-in for Datadog's event and DORA intake (``chgsync emulate datadog``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.markers import MarkerSinkType
from chgsync.testing.emulator import EmulatorType


@chgsync.hookimpl
def register_marker_sinks(register: Callable[[MarkerSinkType], None]) -> None:
    from .sink import SINK_TYPE  # the Datadog client is large: import it only when sinks are wanted

    register(SINK_TYPE)


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import DatadogStandIn

    register(EmulatorType(
        name="datadog",
        factory=DatadogStandIn,
        description="Datadog API stand-in: v1 events and DORA deployments, checked against Datadog's "
        "documented shapes, with DD-API-KEY authentication.",
    ))
