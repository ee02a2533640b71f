"""The chgsync plugin module for Jira (entry point ``chgsync: jira``).

Registers two components: the Jira Cloud emulator (``chgsync emulate jira``) and the Jira adapter
(``type: jira`` in the daemon's configuration, ``chgsync mapping check`` and
``chgsync normalize --from jira``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.adapter import AdapterType
from chgsync.testing.emulator import EmulatorType

from .emulator import JiraEmulator


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    register(
        EmulatorType(
            name="jira",
            factory=JiraEmulator,
            description="Jira Cloud on loopback: REST v2/v3, JQL, a JSM-style change workflow, webhooks.",
        )
    )


@chgsync.hookimpl
def register_adapters(register: Callable[[AdapterType], None]) -> None:
    from .adapter import ADAPTER_TYPE  # imported here so loading the plugin stays cheap for other commands

    register(ADAPTER_TYPE)
