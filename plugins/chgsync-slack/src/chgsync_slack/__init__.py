"""Slack for chgsync.

- :class:`chgsync_slack.notifier.SlackNotifier`: the notifier, registered as ``slack``; one thread per
  change in one channel, its first message a card rewritten with the change's current state.
- :class:`chgsync_slack.standin.SlackStandIn`: a loopback Slack Web API for tests and demos,
  registered as the ``slack`` emulator.
"""
