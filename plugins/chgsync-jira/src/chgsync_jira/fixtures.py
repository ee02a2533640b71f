"""pytest fixtures for testing against the Jira emulator (entry point ``pytest11: chgsync_jira``).

``jira_emulator``
    A fresh, started :class:`~chgsync_jira.emulator.JiraEmulator` per test, with the default
    site (projects CHG and OPS). Its ``base_url``, ``user`` and ``secret`` are what a client needs;
    ``faults``, ``requests`` and ``webhooks`` inject faults, count calls and control deliveries.
"""

from __future__ import annotations

from chgsync.testing.pytest_plugin import emulator_fixture

from .emulator import JiraEmulator

jira_emulator = emulator_fixture(JiraEmulator)
