"""End-to-end harness: both emulators, a store (SQLite and PostgreSQL) and the daemon, over real HTTP.

The daemon's HTTP intake runs for real and the emulators deliver webhooks to it; its worker
loops are stepped by the test (``World.settle``) so that each test decides when work happens
and waits for quiet instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chgsync_jira.plugin
import chgsync_servicenow.plugin
import pytest
from chgsync_jira.emulator import JiraEmulator
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.plugins import Plugins

WEBHOOK_SECRET = "e2e-webhook-secret"


class Clock:
    """The daemon's clock: the rules judge moves at this time, which a test moves forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    jira: JiraEmulator
    servicenow: ServiceNowEmulator
    daemon: Daemon
    clock: Clock

    def settle(self, timeout: float = 60.0) -> None:
        """Deliver every webhook and do every piece of work, until nothing is left anywhere."""
        deadline = time.monotonic() + timeout
        while True:
            for emulator in (self.jira, self.servicenow):
                assert emulator.webhooks.wait_idle(max(0.1, deadline - time.monotonic())), "webhooks stuck"
            received = len(self.jira.webhooks.records) + len(self.servicenow.webhooks.records)
            self.daemon.run_until_idle(timeout=max(0.1, deadline - time.monotonic()))
            for emulator in (self.jira, self.servicenow):
                emulator.webhooks.wait_idle(max(0.1, deadline - time.monotonic()))
            if len(self.jira.webhooks.records) + len(self.servicenow.webhooks.records) == received:
                counts = self.daemon.store.inbox_counts()
                if not counts.get("pending") and not counts.get("claimed"):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the world did not settle")


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
