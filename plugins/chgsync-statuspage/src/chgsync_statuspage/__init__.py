"""Atlassian Statuspage for chgsync.

- :class:`chgsync_statuspage.notifier.StatuspageNotifier`: the notifier, registered as ``statuspage``;
  an emergency change becomes one realtime incident whose updates follow the change.
- :class:`chgsync_statuspage.standin.StatuspageStandIn`: a loopback stand-in for the Manage API, for
  tests and demos, registered as the ``statuspage`` emulator.
"""
