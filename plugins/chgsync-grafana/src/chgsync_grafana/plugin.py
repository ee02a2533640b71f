"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``grafana``).

Registers the ``grafana`` marker sink (``markers:`` in the daemon's configuration) and the ``grafana``
emulator, a stand-in for Grafana's annotations API (``chgsync emulate grafana``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.markers import MarkerSinkType
from chgsync.testing.emulator import EmulatorType


@chgsync.hookimpl
def register_marker_sinks(register: Callable[[MarkerSinkType], None]) -> None:
    from .sink import SINK_TYPE  # imported on demand so other commands do not pay for it

    register(SINK_TYPE)


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import GrafanaStandIn

    register(EmulatorType(
        name="grafana",
        factory=GrafanaStandIn,
        description="Grafana annotations API stand-in: create, patch, update, delete and search by tags, "
        "with service-account token auth, X-Grafana-Org-Id and Grafana's error bodies.",
    ))
