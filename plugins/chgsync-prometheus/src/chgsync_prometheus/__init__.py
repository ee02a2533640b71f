"""Prometheus for chgsync.

- :class:`chgsync_prometheus.pushgateway.PushgatewaySink`: the ``pushgateway`` marker sink, the latest
  deploy marker per service and environment as gauges on a Prometheus Pushgateway.
- :class:`chgsync_prometheus.backend.PrometheusBackend`: the ``prometheus`` metric backend that answers
  rollback-trigger queries (PromQL over ``/api/v1/query_range``).

Tests run the real servers through :mod:`chgsync.testing.prometheus`; the fixtures are in
:mod:`chgsync_prometheus.fixtures`.
"""

from .backend import PrometheusBackend, QueryRejected
from .pushgateway import PushgatewaySink

__all__ = ["PrometheusBackend", "PushgatewaySink", "QueryRejected"]
