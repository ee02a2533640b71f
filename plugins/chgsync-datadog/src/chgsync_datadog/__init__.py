"""Datadog for chgsync.

- :class:`chgsync_datadog.sink.DatadogSink`: the ``datadog`` marker sink, each deploy marker as a
  Datadog event and each finished or rolled-back change as a DORA deployment per service.
- :class:`chgsync_datadog.standin.DatadogStandIn`: a loopback stand-in for those two endpoints,
  registered as the ``datadog`` emulator.
"""
