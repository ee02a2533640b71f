"""The daemon end to end over real HTTP: both emulators, webhooks, the store on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import requests

from chgsync.lifecycle import ChangeType, State
from chgsync.model import Change
from chgsync.testing.samples import sample_change

from .conftest import WEBHOOK_SECRET, World

PLANNED = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # a Thursday window, 8 business days after the clock's start


def person_creates_in_servicenow(world: World, change: Change) -> str:
    """What a person does in the ServiceNow form: a record with the plan filled in and no chgsync ID."""
    sn = world.daemon.adapters["servicenow"]
    body = {k: v for k, v in sn.payload(change).items() if k != "u_chgsync_id"}  # type: ignore[attr-defined]
    r = requests.post(f"{world.servicenow.base_url}/api/now/table/change_request", json=body,
                      auth=(world.servicenow.user, world.servicenow.secret), timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["result"]["sys_id"])


def person_creates_in_jira(world: World, change: Change) -> str:
    """What a person does with the Jira create form: the plan filled in, no chgsync change ID."""
    jira = world.daemon.adapters["jira"]
    fields = jira.encode_fields(change)  # type: ignore[attr-defined]
    id_field = jira.mapping.field("id")
    assert id_field is not None
    fields.pop(id_field.remote, None)
    fields["project"] = {"key": "CHG"}
    fields["issuetype"] = {"name": "Change"}
    r = requests.post(f"{world.jira.base_url}/rest/api/2/issue", json={"fields": fields},
                      auth=(world.jira.user, world.jira.secret), timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def jira_issue(world: World, key: str) -> dict[str, Any]:
    r = requests.get(f"{world.jira.base_url}/rest/api/2/issue/{key}", auth=(world.jira.user, world.jira.secret),
                     params={"expand": "changelog"}, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def sn_record(world: World, sys_id: str) -> dict[str, Any]:
    r = requests.get(f"{world.servicenow.base_url}/api/now/table/change_request/{sys_id}",
                     auth=(world.servicenow.user, world.servicenow.secret), timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json()["result"])


def person_transitions_jira(world: World, key: str, to_status: str) -> None:
    """Click the transition leading to ``to_status``, as a person would in the Jira UI."""
    auth = (world.jira.user, world.jira.secret)
    r = requests.get(f"{world.jira.base_url}/rest/api/2/issue/{key}/transitions", auth=auth, timeout=10)
    options = [t for t in r.json()["transitions"] if t["to"]["name"] == to_status]
    assert options, f"no transition to {to_status} from {jira_issue(world, key)['fields']['status']['name']}"
    r = requests.post(f"{world.jira.base_url}/rest/api/2/issue/{key}/transitions", auth=auth, timeout=10,
                      json={"transition": {"id": options[0]["id"]}})
    assert r.status_code == 204, r.text


def person_edits_jira(world: World, key: str, fields: dict[str, Any]) -> None:
    r = requests.put(f"{world.jira.base_url}/rest/api/2/issue/{key}", json={"fields": fields},
                     auth=(world.jira.user, world.jira.secret), timeout=10)
    assert r.status_code == 204, r.text


def only_change(world: World) -> Change:
    with world.daemon.store.begin() as conn:
        changes = world.daemon.store.list_changes(conn)
    assert len(changes) == 1, [c.id for c in changes]
    return changes[0]


def links(world: World, change_id: str) -> dict[str, dict[str, Any]]:
    with world.daemon.store.begin() as conn:
        return world.daemon.store.links_for(conn, change_id)


@pytest.fixture
def created(world: World) -> tuple[Change, str, str]:
    """A complete normal change a person created in Jira, adopted and mirrored into ServiceNow."""
    key = person_creates_in_jira(world, sample_change(ChangeType.NORMAL, id="CHG-X", start=PLANNED))
    world.settle()
    change = only_change(world)
    linked = links(world, change.id)
    assert linked["jira"]["remote_key"] == key
    return change, linked["servicenow"]["remote_id"], key


def test_created_in_servicenow_appears_linked_in_jira_and_back(world: World) -> None:
    sys_id = person_creates_in_servicenow(world, sample_change(ChangeType.NORMAL, id="CHG-X", start=PLANNED))
    world.settle()
    change = only_change(world)
    key = links(world, change.id)["jira"]["remote_key"]
    assert change.id == "CHG-1001" and change.state == State.DRAFT
    record = sn_record(world, sys_id)
    assert record["u_chgsync_id"] == change.id  # the assigned ID is written back where the change began
    assert record["correlation_id"] == key
    issue = jira_issue(world, key)
    assert issue["fields"]["summary"] == change.title
    assert issue["fields"]["status"]["name"] == "Planning"
    remote_links = requests.get(f"{world.jira.base_url}/rest/api/2/issue/{key}/remotelink",
                                auth=(world.jira.user, world.jira.secret), timeout=10).json()
    assert [lnk["object"]["title"] for lnk in remote_links] == [record["number"]] or len(remote_links) == 1
    # An edit made in Jira reaches ServiceNow; nothing echoes back as a new edit.
    person_edits_jira(world, key, {"summary": "Upgrade orders-db to PostgreSQL 16 (rehearsed)"})
    world.settle()
    assert sn_record(world, sys_id)["short_description"] == "Upgrade orders-db to PostgreSQL 16 (rehearsed)"
    assert only_change(world).title == "Upgrade orders-db to PostgreSQL 16 (rehearsed)"
    actions = [o.action for _, o in world.daemon.outcomes]
    assert actions.count("updated") == 1 and actions.count("created") == 1


def test_created_in_jira_appears_linked_in_servicenow(world: World, created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    assert change.id == "CHG-1001"
    record = sn_record(world, sys_id)
    assert (record["u_chgsync_id"], record["correlation_id"], record["state"]) == (change.id, key, "-5")
    assert record["short_description"] == change.title
    assert jira_issue(world, key)["fields"][world.daemon.adapters["jira"].mapping.field("id").remote] == change.id


def test_an_allowed_move_in_jira_propagates(world: World, created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    person_transitions_jira(world, key, "Peer review")
    person_transitions_jira(world, key, "Awaiting CAB approval")
    world.settle()
    assert only_change(world).state == State.CAB_REVIEW
    record = sn_record(world, sys_id)
    assert (record["state"], record["approval"]) == ("-3", "requested")


def test_an_illegal_move_in_jira_is_reverted_with_every_violation(world: World,
                                                                   created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    for status in ("Peer review", "Awaiting CAB approval", "Awaiting implementation"):
        person_transitions_jira(world, key, status)
    world.settle()
    assert only_change(world).state == State.DRAFT
    issue = jira_issue(world, key)
    assert issue["fields"]["status"]["name"] == "Planning"
    comments = [c["body"] for c in issue["fields"]["comment"]["comments"]]
    assert len(comments) == 1
    assert "reverted" in comments[0] and "approval.missing" in comments[0]
    assert comments[0].count("approval.missing") == 2  # low risk: technical lead and change manager
    assert sn_record(world, sys_id)["state"] == "-5"
    trail = [a["action"] for a in world.daemon.store.audit_trail(change.id)]
    assert "move_refused" in trail


def test_duplicated_and_reordered_webhooks_converge(world: World, created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    world.jira.faults.webhooks.duplicate_next(4)
    world.jira.faults.webhooks.reorder_next(3)
    for title in ("First", "Second", "Third"):
        person_edits_jira(world, key, {"summary": title})
    world.settle()
    assert only_change(world).title == "Third"
    assert sn_record(world, sys_id)["short_description"] == "Third"
    assert world.daemon.metrics.duplicates.labels("jira")._value.get() >= 1


def test_a_lost_webhook_is_repaired_by_polling(world: World, created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    world.daemon.poll_once()
    world.settle()
    repaired_before = world.daemon.metrics.repaired.labels("jira")._value.get()
    world.jira.faults.webhooks.drop_next(1)
    person_edits_jira(world, key, {"summary": "Edited while webhooks were lost"})
    world.settle()
    assert sn_record(world, sys_id)["short_description"] != "Edited while webhooks were lost"
    assert world.daemon.poll_once("jira") >= 1
    world.settle()
    assert sn_record(world, sys_id)["short_description"] == "Edited while webhooks were lost"
    assert world.daemon.metrics.repaired.labels("jira")._value.get() == repaired_before + 1


def test_a_servicenow_outage_is_caught_up(world: World, created: tuple[Change, str, str]) -> None:
    change, sys_id, key = created
    world.servicenow.faults.outage(True)
    person_edits_jira(world, key, {"summary": "Edited during the outage"})
    world.settle()
    assert world.daemon.store.outbox_counts().get("pending", 0) >= 1  # queued, not dropped
    world.clock.advance(seconds=60)
    world.servicenow.faults.outage(False)
    world.clock.advance(minutes=10)  # past any backoff the failures earned
    world.settle()
    assert sn_record(world, sys_id)["short_description"] == "Edited during the outage"
    assert world.daemon.store.outbox_counts().get("dead", 0) == 0


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"{not json", {}, 400, "JSON"),
        (b"[]", {}, 400, ""),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "CHG-1"}}).encode(),
         {"X-Hub-Signature": "sha256=" + "0" * 64}, 401, "signature"),
        (json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "CHG-1"}}).encode(),
         None, 401, "signature"),
    ],
    ids=["malformed", "not-an-object", "bad-signature", "unsigned"],
)
def test_intake_refuses_bad_webhooks_with_a_json_reason(world: World, body: bytes, headers: dict[str, str] | None,
                                                       status: int, reason: str) -> None:
    sent = {"Content-Type": "application/json"}
    if headers is None:
        pass
    elif headers:
        sent.update(headers)
    else:
        sent["X-Hub-Signature"] = sign(body)
    r = httpx.post(f"{world.daemon.url}/webhooks/jira", content=body, headers=sent)
    assert r.status_code == status
    assert r.json()["status"] == "rejected" and reason.lower() in r.json()["reason"].lower()
    assert world.daemon.store.inbox_counts() == {}


def test_intake_refuses_unknown_adapters_and_oversized_bodies(world: World) -> None:
    assert httpx.post(f"{world.daemon.url}/webhooks/github", content=b"{}").status_code == 404
    big = b"{" + b" " * (world.daemon.config.max_body_bytes + 1) + b"}"
    r = httpx.post(f"{world.daemon.url}/webhooks/jira", content=big)
    assert r.status_code == 413 and "larger" in r.json()["reason"]


def test_health_and_readiness(world: World) -> None:
    assert httpx.get(f"{world.daemon.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{world.daemon.url}/readyz").status_code == 200
    metrics = httpx.get(f"{world.daemon.url}/metrics").text
    assert "chgsync_events_received_total" in metrics


