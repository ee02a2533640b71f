"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``prometheus``).

Registers the ``pushgateway`` marker sink (``markers:`` in the daemon's configuration) and the
``prometheus`` metric backend (``metric_backend:``). Both modules are imported only when chgsync
collects the components, so loading the plugin stays cheap for other commands.
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.markers import MarkerSinkType
from chgsync.triggers import MetricBackendType


@chgsync.hookimpl
def register_marker_sinks(register: Callable[[MarkerSinkType], None]) -> None:
    from .pushgateway import SINK_TYPE

    register(SINK_TYPE)


@chgsync.hookimpl
def register_metric_backends(register: Callable[[MetricBackendType], None]) -> None:
    from .backend import BACKEND_TYPE

    register(BACKEND_TYPE)
