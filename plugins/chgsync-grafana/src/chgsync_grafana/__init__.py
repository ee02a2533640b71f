"""Grafana for chgsync.

- :class:`chgsync_grafana.sink.GrafanaSink`: the ``grafana`` marker sink. A change's start becomes an
  annotation, and its end (finished or rolled back) turns that annotation into a region.
- :class:`chgsync_grafana.standin.GrafanaStandIn`: a loopback stand-in for Grafana's annotations API,
  registered as the ``grafana`` emulator.
"""
