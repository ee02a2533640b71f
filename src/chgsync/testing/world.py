"""A whole installation on one machine: both emulators, the daemon on a simulated clock, webhooks between.

``chgsync demo`` and the end-to-end tests stage their stories on it. The daemon's HTTP intake runs
for real and the emulators deliver webhooks to it; its worker loops are stepped by
:meth:`World.settle`, which waits for quiet instead of sleeping. The ``person_*`` methods act on
the emulators the way people do in the tools' UIs (the same REST calls the UIs make).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from ..daemon.config import DaemonConfig
from ..daemon.runner import Daemon
from ..errors import PluginError
from ..model import Change
from ..plugins import Plugins
from .emulator import Emulator

WEBHOOK_SECRET = "chgsync-demo-webhook-secret"


class SimClock:
    """The daemon's clock: the rules judge moves at this time, which the story moves forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.now = when


class World:
    def __init__(self, jira: Emulator, servicenow: Emulator, daemon: Daemon, clock: SimClock) -> None:
        self.jira = jira
        self.servicenow = servicenow
        self.daemon = daemon
        self.clock = clock

    # -- staging -----------------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def running(cls, store_url: str, plugins: Plugins, clock: SimClock, *, policy: Path | None = None,
                port: int = 0, notifiers: dict[str, dict[str, Any]] | None = None,
                extra: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Iterator[World]:
        """Both emulators and the daemon, webhooks subscribed; ``notifiers`` configures channels by name.

        ``extra`` adds daemon configuration (markers, routes, a metric backend, ...) and ``environ``
        the environment variables its ``*_env`` keys name.
        """
        emulators = plugins.emulators()
        missing = [name for name in ("jira", "servicenow") if name not in emulators]
        if missing:
            raise PluginError(", ".join(missing), "is needed; install chgsync-jira and chgsync-servicenow.")
        with emulators["jira"].factory() as jira, emulators["servicenow"].factory() as sn:
            config = DaemonConfig.model_validate({
                "store": store_url,
                "listen": {"host": "127.0.0.1", "port": port},
                "policy": str(policy) if policy else None,
                "adapters": {
                    "jira": {"url": jira.base_url, "user": jira.user, "token_env": "JIRA_TOKEN",
                             "webhook_secret_env": "WEBHOOK_SECRET"},
                    "servicenow": {"url": sn.base_url, "user": sn.user, "password_env": "SN_PASSWORD",
                                   "webhook_secret_env": "WEBHOOK_SECRET"},
                },
                "notifiers": notifiers or {},
                **(extra or {}),
            })
            env = {"JIRA_TOKEN": jira.secret, "SN_PASSWORD": sn.secret, "WEBHOOK_SECRET": WEBHOOK_SECRET,
                   **(environ or {})}
            daemon = Daemon(config, plugins=plugins, clock=clock, environ=env)
            daemon.start_http()
            jira.webhooks.subscribe(f"{daemon.url}/webhooks/jira", secret=WEBHOOK_SECRET)
            sn.webhooks.subscribe(f"{daemon.url}/webhooks/servicenow", secret=WEBHOOK_SECRET)
            try:
                yield cls(jira, sn, daemon, clock)
            finally:
                daemon.stop()

    def settle(self, timeout: float = 60.0) -> None:
        """Deliver every webhook and do every piece of work, until nothing is left anywhere."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        while True:
            for emulator in (self.jira, self.servicenow):
                if not emulator.webhooks.wait_idle(left()):
                    raise TimeoutError(f"{emulator.product} webhooks are still being delivered")
            delivered = len(self.jira.webhooks.records) + len(self.servicenow.webhooks.records)
            self.daemon.run_until_idle(timeout=left())
            for emulator in (self.jira, self.servicenow):
                emulator.webhooks.wait_idle(left())
            if len(self.jira.webhooks.records) + len(self.servicenow.webhooks.records) == delivered:
                if not self.daemon.store.has_due_work():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("The daemon and the emulators did not settle.")

    # -- people --------------------------------------------------------------------------------------
    def _call(self, emulator: Emulator, method: str, path: str, **kwargs: Any) -> requests.Response:
        r = requests.request(method, f"{emulator.base_url}{path}", auth=(emulator.user, emulator.secret),
                             timeout=10, **kwargs)
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path} answered {r.status_code}: {r.text}")
        return r

    def jira_account(self, email: str) -> str | None:
        """Whom a person picks in a Jira user picker for an address: the user search's exact match."""
        found = self._call(self.jira, "GET", "/rest/api/2/user/search", params={"query": email}).json()
        exact = [u for u in found if str(u.get("emailAddress", "")).casefold() == email.casefold()]
        return str(exact[0]["accountId"]) if exact else None

    def servicenow_user(self, email: str) -> str | None:
        """Whom a person picks in a ServiceNow reference field for an address: the one active sys_user."""
        rows = self._call(self.servicenow, "GET", "/api/now/table/sys_user", params={
            "sysparm_query": f"email={email}^active=true", "sysparm_fields": "sys_id"}).json()["result"]
        return str(rows[0]["sys_id"]) if len(rows) == 1 else None

    def person_creates_in_jira(self, change: Change, project: str = "CHG", issue_type: str = "Change") -> str:
        """The Jira create form filled in with the plan (its people picked in the user pickers), and no
        chgsync change ID (people don't have one)."""
        adapter = self.daemon.adapters["jira"]
        fields = adapter.encode_fields(change, users=self.jira_account)  # type: ignore[attr-defined]
        id_field = adapter.mapping.field("id")
        if id_field is not None:
            fields.pop(id_field.remote, None)
        fields.update({"project": {"key": project}, "issuetype": {"name": issue_type}})
        return str(self._call(self.jira, "POST", "/rest/api/2/issue", json={"fields": fields}).json()["key"])

    def person_edits_jira(self, key: str, fields: dict[str, Any]) -> None:
        self._call(self.jira, "PUT", f"/rest/api/2/issue/{key}", json={"fields": fields})

    def person_edits_jira_change(self, key: str, change: Change, canonical: list[str]) -> None:
        """Edit the Jira fields that hold the given canonical parts of ``change``."""
        adapter = self.daemon.adapters["jira"]
        fields = adapter.encode_fields(change, canonical, users=self.jira_account)  # type: ignore[attr-defined]
        self.person_edits_jira(key, fields)

    def person_transitions_jira(self, key: str, to_status: str) -> None:
        """Click the transition that leads to ``to_status``."""
        options = self._call(self.jira, "GET", f"/rest/api/2/issue/{key}/transitions").json()["transitions"]
        chosen = [t for t in options if t["to"]["name"] == to_status]
        if not chosen:
            raise AssertionError(f"{key} has no transition to {to_status!r}; it offers "
                                 f"{[t['to']['name'] for t in options]}")
        self._call(self.jira, "POST", f"/rest/api/2/issue/{key}/transitions",
                   json={"transition": {"id": chosen[0]["id"]}})

    def jira_issue(self, key: str) -> dict[str, Any]:
        return dict(self._call(self.jira, "GET", f"/rest/api/2/issue/{key}").json())

    def person_creates_in_servicenow(self, change: Change) -> str:
        """The ServiceNow form filled in with the plan (its people picked by address), no chgsync ID."""
        adapter = self.daemon.adapters["servicenow"]
        body = adapter.payload(change, users=self.servicenow_user)  # type: ignore[attr-defined]
        id_field = adapter.mapping.field("id")
        if id_field is not None:
            body.pop(id_field.remote, None)
        r = self._call(self.servicenow, "POST", "/api/now/table/change_request", json=body)
        return str(r.json()["result"]["sys_id"])

    def person_updates_servicenow(self, sys_id: str, values: dict[str, str]) -> None:
        self._call(self.servicenow, "PATCH", f"/api/now/table/change_request/{sys_id}", json=values)

    def servicenow_record(self, sys_id: str) -> dict[str, Any]:
        return dict(self._call(self.servicenow, "GET", f"/api/now/table/change_request/{sys_id}").json()["result"])

    def jira_comments(self, key: str) -> list[str]:
        """The issue's comment bodies, oldest first, as anyone reading the issue sees them."""
        r = self._call(self.jira, "GET", f"/rest/api/2/issue/{key}/comment")
        return [str(c["body"]) for c in r.json()["comments"]]

    def servicenow_notes(self, change_id: str) -> list[str]:
        """The journal (work notes and comments) of the record carrying ``change_id``."""
        r = self._call(self.servicenow, "GET", "/api/now/table/change_request",
                       params={"sysparm_query": f"u_chgsync_id={change_id}", "sysparm_fields": "sys_id"})
        [record] = r.json()["result"]
        r = self._call(self.servicenow, "GET", "/api/now/table/sys_journal_field",
                       params={"sysparm_query": f"element_id={record['sys_id']}"})
        return [str(n["value"]) for n in r.json()["result"]]
