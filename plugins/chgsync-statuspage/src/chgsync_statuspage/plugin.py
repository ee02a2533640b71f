"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``statuspage``).

Registers the notifier (``type: statuspage`` under ``notifiers:`` in the daemon's configuration) and
the Manage API stand-in (``chgsync emulate statuspage``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.notify import NotifierType
from chgsync.testing.emulator import EmulatorType


@chgsync.hookimpl
def register_notifiers(register: Callable[[NotifierType], None]) -> None:
    from .notifier import NOTIFIER_TYPE  # deferred: other commands should not pay for requests/pydantic models

    register(NOTIFIER_TYPE)


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import StatuspageStandIn

    register(EmulatorType(
        name="statuspage",
        factory=StatuspageStandIn,
        description="Atlassian Statuspage Manage API: pages, components, incidents with their updates, "
        "OAuth API-key auth and Statuspage's status checks.",
    ))
