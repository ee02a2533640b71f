"""PagerDuty for chgsync.

- :class:`chgsync_pagerduty.sink.PagerDutySink`: the ``pagerduty`` marker sink, each deploy marker as a
  PagerDuty change event (Events API v2), one per PagerDuty service it concerns.
- :class:`chgsync_pagerduty.standin.PagerDutyStandIn`: a loopback stand-in for the change-events
  endpoint, registered as the ``pagerduty`` emulator.
"""

__version__ = "0.1.0"
