"""The adapter inside the real daemon (Jira only, SQLite): a change people make and submit in Jira is
adopted, given a canonical ID written back to Jira, and its move is judged by the policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chgsync_jira.plugin
import pytest
from chgsync_jira.adapter import from_settings
from chgsync_jira.emulator import JiraEmulator

from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.plugins import Plugins
from chgsync.testing.samples import sample_change

SECRET = "daemon-webhook-secret"


@pytest.fixture
def daemon(jira_emulator: JiraEmulator, tmp_path: Path) -> Iterator[Daemon]:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    config = DaemonConfig.model_validate({
        "store": f"sqlite:///{tmp_path / 'chgsync.sqlite'}",
        "listen": {"host": "127.0.0.1", "port": 0},
        "worker_interval": "PT0.05S",
        "adapters": {"jira": {"url": jira_emulator.base_url, "user": jira_emulator.user, "token_env": "TOKEN",
                              "webhook_secret_env": "SECRET"}},
    })
    # the policy judges moves at this time: a week before the sample change's window
    d = Daemon(config, plugins=plugins, clock=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
               environ={"TOKEN": jira_emulator.secret, "SECRET": SECRET})
    d.start_http()
    jira_emulator.webhooks.subscribe(f"{d.url}/webhooks/jira", secret=SECRET)
    try:
        yield d
    finally:
        d.stop()


def settle(emulator: JiraEmulator, daemon: Daemon) -> None:
    assert emulator.webhooks.wait_idle()
    daemon.run_until_idle(timeout=30)


def test_a_change_made_in_jira_is_adopted_and_its_move_judged(jira_emulator: JiraEmulator, daemon: Daemon) -> None:
    offline = from_settings({"url": jira_emulator.base_url})
    fields = {k: v for k, v in offline.encode_fields(sample_change("normal")).items() if v not in (None, [])}
    del fields["customfield_10062"]  # a person does not know chgsync's IDs
    session = jira_emulator.session()
    created = session.post(f"{jira_emulator.base_url}/rest/api/2/issue", json={"fields": {
        "project": {"key": "CHG"}, "issuetype": {"name": "Change"}, **fields}})
    key = created.json()["key"]
    settle(jira_emulator, daemon)
    issue: dict[str, Any] = session.get(f"{jira_emulator.base_url}/rest/api/2/issue/{key}").json()
    change_id = issue["fields"]["customfield_10062"]
    assert change_id and change_id != key  # adopted: the daemon assigned an ID and wrote it back

    session.post(f"{jira_emulator.base_url}/rest/api/2/issue/{key}/transitions", json={"transition": {"id": "11"}})
    settle(jira_emulator, daemon)
    assert [o.action for _, o in daemon.outcomes if o.action not in ("unchanged", "echo")] == ["created", "moved"]
    with daemon.store.begin() as conn:
        stored = daemon.store.get_change(conn, change_id)
    assert stored is not None and stored[0].state.value == "cab_review"
    status = session.get(f"{jira_emulator.base_url}/rest/api/2/issue/{key}").json()["fields"]["status"]["name"]
    assert status == "Peer review"  # Peer review reads as CAB review: nothing to correct in Jira


def test_a_reassignment_in_jira_changes_the_implementer(jira_emulator: JiraEmulator, daemon: Daemon) -> None:
    """People pick the Assignee in Jira; the change's implementer follows, by e-mail address."""
    offline = from_settings({"url": jira_emulator.base_url})
    fields = {k: v for k, v in offline.encode_fields(sample_change("normal")).items() if v not in (None, [])}
    del fields["customfield_10062"]

    def account(email: str) -> str:
        user = jira_emulator.site.user_by_email(email)
        assert user is not None
        return user.account_id

    session = jira_emulator.session()
    created = session.post(f"{jira_emulator.base_url}/rest/api/2/issue", json={"fields": {
        "project": {"key": "CHG"}, "issuetype": {"name": "Change"}, **fields,
        "assignee": {"accountId": account("sam@example.com")}}})
    key = created.json()["key"]
    settle(jira_emulator, daemon)
    with daemon.store.begin() as conn:
        [change] = daemon.store.list_changes(conn)
    assert change.implementer == "sam@example.com"
    assert change.requester == jira_emulator.user  # Jira's Reporter: whoever created the issue

    session.put(f"{jira_emulator.base_url}/rest/api/2/issue/{key}/assignee",
                json={"accountId": account("priya.shah@example.com")})
    settle(jira_emulator, daemon)
    with daemon.store.begin() as conn:
        [change] = daemon.store.list_changes(conn)
    assert change.implementer == "priya.shah@example.com"
    updated = [o for _, o in daemon.outcomes if o.action == "updated"]
    assert [o.accepted_fields for o in updated] == [["implementer"]]
