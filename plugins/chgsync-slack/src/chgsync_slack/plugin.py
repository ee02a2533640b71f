"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``slack``).

Registers the Slack notifier (``type: slack`` under ``notifiers:`` in the daemon's configuration) and
the Slack Web API stand-in (``chgsync emulate slack``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.notify import NotifierType
from chgsync.testing.emulator import EmulatorType


@chgsync.hookimpl
def register_notifiers(register: Callable[[NotifierType], None]) -> None:
    from .notifier import NOTIFIER_TYPE  # imported here so loading the plugin stays cheap for other commands

    register(NOTIFIER_TYPE)


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import SlackStandIn

    register(EmulatorType(
        name="slack",
        factory=SlackStandIn,
        description="Slack Web API: chat.postMessage, chat.update and auth.test with Block Kit limits, "
        "threads and bot-token auth.",
    ))
