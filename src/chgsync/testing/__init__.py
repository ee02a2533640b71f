"""Tools for testing chgsync and its plugins without the real products.

- :mod:`chgsync.testing.emulator`: the base for product emulators (real HTTP on loopback, request
  log, fault injection, webhooks).
- :mod:`chgsync.testing.pytest_plugin`: fixtures, loaded by pytest through the ``pytest11`` entry point.
- :mod:`chgsync.testing.strategies`: hypothesis strategies for canonical values, for round-trip
  property tests (needs ``hypothesis``; not imported here).
- :mod:`chgsync.testing.checks`: the checks every plugin package's tests make (registration
  through the hooks, bad settings, remote failures).
- :mod:`chgsync.testing.clocks`: a clock the test moves, whose ``sleep`` costs no time.
- :mod:`chgsync.testing.samples`: a complete change of each type, a notice and a deploy marker
  (not imported here).
"""

from .checks import assert_registers, config_problem, remote_failure
from .clocks import ManualClock
from .emulator import (
    Emulator,
    EmulatorType,
    Faults,
    RequestLog,
    RequestRecord,
    Subscription,
    WebhookDispatcher,
    WebhookFaults,
    hub_signature,
    self_signed_certificate,
)

__all__ = [
    "Emulator",
    "EmulatorType",
    "Faults",
    "ManualClock",
    "RequestLog",
    "RequestRecord",
    "Subscription",
    "WebhookDispatcher",
    "WebhookFaults",
    "assert_registers",
    "config_problem",
    "hub_signature",
    "remote_failure",
    "self_signed_certificate",
]
