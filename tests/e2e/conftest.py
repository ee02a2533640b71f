"""End-to-end harness: both emulators, a store (SQLite and PostgreSQL) and the daemon, over real HTTP.

The daemon's HTTP intake runs for real and the emulators deliver webhooks to it; its worker
loops are stepped by the test (``World.settle``, from :mod:`chgsync.testing.world`) so that each
test decides when work happens and waits for quiet instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import chgsync_jira.plugin
import chgsync_servicenow.plugin
import pytest
from chgsync_jira.emulator import JiraEmulator
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.plugins import Plugins
from chgsync.testing.world import SimClock as Clock
from chgsync.testing.world import World

__all__ = ["WEBHOOK_SECRET", "Clock", "World", "daemon_config", "environ_for", "make_plugins"]

WEBHOOK_SECRET = "e2e-webhook-secret"


def make_plugins() -> Plugins:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    plugins.register(chgsync_servicenow.plugin, name="chgsync_servicenow")
    return plugins


def daemon_config(store_url: str, jira: JiraEmulator, sn: ServiceNowEmulator) -> DaemonConfig:
    return DaemonConfig.model_validate({
        "store": store_url,
        "listen": {"host": "127.0.0.1", "port": 0},
        "worker_interval": "PT0.05S",
        "adapters": {
            "jira": {"url": jira.base_url, "user": jira.user, "token_env": "E2E_JIRA_TOKEN",
                     "webhook_secret_env": "E2E_WEBHOOK_SECRET"},
            "servicenow": {"url": sn.base_url, "user": sn.user, "password_env": "E2E_SN_PASSWORD",
                           "webhook_secret_env": "E2E_WEBHOOK_SECRET"},
        },
    })


def environ_for(jira: JiraEmulator, sn: ServiceNowEmulator) -> dict[str, str]:
    return {"E2E_JIRA_TOKEN": jira.secret, "E2E_SN_PASSWORD": sn.secret, "E2E_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def world(store_url: str, tmp_path: Path) -> Iterator[World]:
    clock = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    with JiraEmulator() as jira, ServiceNowEmulator() as sn:
        daemon = Daemon(daemon_config(store_url, jira, sn), plugins=make_plugins(), clock=clock,
                        environ=environ_for(jira, sn))
        daemon.start_http()
        jira.webhooks.subscribe(f"{daemon.url}/webhooks/jira", secret=WEBHOOK_SECRET)
        sn.webhooks.subscribe(f"{daemon.url}/webhooks/servicenow", secret=WEBHOOK_SECRET)
        try:
            yield World(jira, sn, daemon, clock)
        finally:
            daemon.stop()
