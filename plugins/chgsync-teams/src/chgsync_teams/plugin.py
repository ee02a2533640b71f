"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``teams``).

Registers the Teams notifier (``type: teams`` under ``notifiers:`` in the daemon's configuration) and
the Workflows trigger stand-in (``chgsync emulate teams``).
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
    from .standin import TeamsStandIn

    register(EmulatorType(
        name="teams",
        factory=TeamsStandIn,
        description="Teams Workflows webhook trigger: signed trigger URLs, Adaptive Card message checks, "
        "the ~28 KB limit, 202 Accepted.",
    ))
