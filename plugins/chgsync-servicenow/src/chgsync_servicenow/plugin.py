"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``servicenow``).

Each hook implementation registers one component: the ServiceNow emulator (``chgsync emulate
servicenow``) and the ServiceNow adapter (``type: servicenow`` in the daemon's configuration,
``chgsync mapping check`` and ``chgsync normalize --from servicenow``).
"""

from __future__ import annotations

from collections.abc import Callable

import chgsync
from chgsync.adapter import AdapterType
from chgsync.testing.emulator import EmulatorType

from .emulator import ServiceNowEmulator


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    register(
        EmulatorType(
            name="servicenow",
            factory=ServiceNowEmulator,
            description="ServiceNow Table API: change_request state model per type, approvals, work notes, "
            "encoded queries, display values, outbound change notifications.",
        )
    )


@chgsync.hookimpl
def register_adapters(register: Callable[[AdapterType], None]) -> None:
    from .adapter import ADAPTER_TYPE  # imported here so loading the plugin stays cheap for other commands

    register(ADAPTER_TYPE)
