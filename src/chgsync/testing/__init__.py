"""Tools for testing chgsync and its plugins without the real products.

- :mod:`chgsync.testing.emulator`: the base for product emulators (real HTTP on loopback, request
  log, fault injection, webhooks).
- :mod:`chgsync.testing.pytest_plugin`: fixtures, loaded by pytest through the ``pytest11`` entry point.
- :mod:`chgsync.testing.strategies`: hypothesis strategies for canonical values, for round-trip
  property tests (needs ``hypothesis``; not imported here).
"""

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
    "RequestLog",
    "RequestRecord",
    "Subscription",
    "WebhookDispatcher",
    "WebhookFaults",
    "hub_signature",
    "self_signed_certificate",
]
