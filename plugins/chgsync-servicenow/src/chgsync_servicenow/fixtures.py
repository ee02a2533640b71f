"""pytest fixtures for testing against ServiceNow (loaded through the ``pytest11`` entry point).

``servicenow_emulator``
    A fresh, started :class:`~chgsync_servicenow.emulator.ServiceNowEmulator` per test, on a free
    loopback port with the default data. Build variants (TLS, a seed, other settings) with
    ``chgsync.testing.pytest_plugin.emulator_fixture(ServiceNowEmulator, tls=True, ...)``.
"""

from __future__ import annotations

from chgsync.testing.pytest_plugin import emulator_fixture

from .emulator import ServiceNowEmulator

servicenow_emulator = emulator_fixture(ServiceNowEmulator)
