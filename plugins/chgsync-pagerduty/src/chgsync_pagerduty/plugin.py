"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``pagerduty``).

Registers the ``pagerduty`` marker sink (``markers:`` in the daemon's configuration) and the
``pagerduty`` emulator, a stand-in for the Events API's change-events endpoint
(``chgsync emulate pagerduty``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.markers import MarkerSinkType
from chgsync.testing.emulator import EmulatorType


@chgsync.hookimpl
def register_marker_sinks(register: Callable[[MarkerSinkType], None]) -> None:
    from .sink import SINK_TYPE  # imported here so loading the plugin stays cheap for other commands

    register(SINK_TYPE)


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import PagerDutyStandIn

    register(EmulatorType(
        name="pagerduty",
        factory=PagerDutyStandIn,
        description="PagerDuty Events API v2 change events: /v2/change/enqueue checked against the documented "
        "shape, with routing keys for auth.",
    ))
