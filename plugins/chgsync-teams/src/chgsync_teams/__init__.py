"""Microsoft Teams for chgsync.

- :class:`chgsync_teams.notifier.TeamsNotifier`: the notifier, registered as ``teams``; each notice is
  one Adaptive Card posted through a Workflows webhook trigger (Office 365 connectors are retired).
- :class:`chgsync_teams.standin.TeamsStandIn`: a loopback Workflows trigger for tests and demos,
  registered as the ``teams`` emulator.
"""
