"""Notices, markers and correlation through the running daemon, the emulators and the outbox.

Channels and sinks here are the in-memory recorders from ``chgsync.testing.recorders`` (the plugin
packages test their providers over HTTP, and ``test_monitoring_e2e`` runs the real servers): the
point is what the daemon sends, when, to whom, once, and what happens while a channel is down.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chgsync_jira.plugin
import chgsync_servicenow.plugin
import pytest
import requests
import yaml
from click.testing import CliRunner

from chgsync.cli import cli
from chgsync.lifecycle import ChangeType, State
from chgsync.model import Approval, Decision, Outcome
from chgsync.plugins import Plugins
from chgsync.testing.recorders import MarkerRecorder, Recorder, RecorderPlugin
from chgsync.testing.samples import sample_change
from chgsync.testing.world import SimClock, World

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
TOKEN = "alert-token"


@pytest.fixture
def recorders() -> RecorderPlugin:
    return RecorderPlugin(Recorder(), MarkerRecorder())


@pytest.fixture
def world(store_url: str, recorders: RecorderPlugin) -> Iterator[World]:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    plugins.register(chgsync_servicenow.plugin, name="chgsync_servicenow")
    plugins.register(recorders, name="recorders")
    extra = {"markers": {"markers": {}}, "alerts_token_env": "ALERT_TOKEN"}
    with World.running(store_url, plugins, SimClock(START), notifiers={"recorder": {}}, extra=extra,
                       environ={"ALERT_TOKEN": TOKEN}) as w:
        yield w


def implement(world: World, outcome: Outcome = Outcome.SUCCESSFUL, systems: tuple[str, ...] = ("checkout",)) -> tuple[str, str]:
    """An emergency change, approved, implemented through Jira; returns (Jira key, change ID)."""
    plan = sample_change(ChangeType.EMERGENCY, id="CHG-E", title="Roll back checkout 4.2.0", start=START,
                         implementation={"systems": list(systems)}, communication={})
    plan = plan.model_copy(update={"cab": plan.cab.model_copy(update={"approvals": [Approval(
        role="designated_authority", approver="priya@example.com", decision=Decision.APPROVE,
        reason="Checkout failing.", at=START)]})})
    key = world.person_creates_in_jira(plan)
    world.settle()
    world.person_transitions_jira(key, "Awaiting implementation")
    world.person_transitions_jira(key, "Implementing")
    world.settle()
    world.clock.advance(minutes=20)
    done = plan.model_copy(update={"outcome": outcome, "schedule": plan.schedule.model_copy(
        update={"actual_start": START, "actual_end": world.clock()})})
    world.person_edits_jira_change(key, done, ["outcome", "schedule.actual_start", "schedule.actual_end"])
    world.person_transitions_jira(key, "Completed")
    world.settle()
    with world.daemon.store.begin() as conn:
        [change] = world.daemon.store.list_changes(conn)
    assert change.state == State.IMPLEMENTED
    return key, change.id




def test_an_implemented_change_is_announced_once_threaded_and_marked(world: World, recorders: RecorderPlugin) -> None:
    key, change_id = implement(world)
    sent = recorders.recorder.sent
    events = Counter(n.event for n in sent)
    assert events["implementation_started"] == events["implementation_completed"] == 1
    assert events["emergency_resolved"] == 1 and events["cab_decision"] == 1
    assert len({n.key for n in sent}) == len(sent)  # nothing said twice
    started = next(n for n in sent if n.event == "implementation_started")
    assert started.text.startswith(f"Change {change_id} starting: Roll back checkout 4.2.0.")
    assert started.facts["State"] == "Implementing" and started.facts["Type"] == "emergency"
    assert set(started.links) == {"jira", "servicenow"}  # both tickets, once both exist
    complete = next(n for n in sent if n.event == "implementation_completed")
    assert complete.text == f"Change {change_id} complete. All systems green."
    # The first message of the change opened the thread; every later one carried it.
    assert sent[0].thread is None and {n.thread for n in sent[1:]} == {f"thread-{change_id}"}
    assert next(n for n in sent if n.event == "emergency_resolved").status == "resolved"

    marks = recorders.markers.marks
    assert [(m.phase.value, m.outcome) for m in marks] == [("started", None), ("finished", "successful")]
    assert marks[0].services == ("checkout",) and marks[0].environment == "production"
    assert marks[1].previous == f"mark-{change_id}" and marks[1].started_at is not None

    metrics = requests.get(f"{world.daemon.url}/metrics", timeout=10).text
    assert f'chgsync_deployment_info{{change_id="{change_id}",env="production",phase="finished",service="checkout"}} 1.0' \
        in metrics
    assert 'chgsync_deployment_last_outcome{env="production",outcome="successful",service="checkout"} 1.0' in metrics


def test_a_channel_that_is_down_delays_its_own_messages_only_and_loses_none(world: World,
                                                                             recorders: RecorderPlugin) -> None:
    recorders.recorder.down()
    recorders.markers.down()
    key, change_id = implement(world)  # settles: the tickets are in step although both sinks are down
    [record] = [r for r in world.servicenow.find_records("change_request") if r.get("u_chgsync_id") == change_id]
    assert record["state"] in ("0", "3")  # Review or Closed: ServiceNow went all the way
    assert recorders.recorder.sent == [] and recorders.recorder.attempts > 0
    waiting = [i for i in world.daemon.store.list_outbox("pending") if i.kind in ("send", "marker")]
    assert waiting, "the messages are queued for retry"

    recorders.recorder.down(False)
    recorders.markers.down(False)
    world.daemon.relay.policy = type(world.daemon.relay.policy)(base=timedelta(0), cap=timedelta(0))
    world.daemon.store.retry_outbox([i.id for i in waiting])
    world.settle()
    events = Counter(n.event for n in recorders.recorder.sent)
    assert events["implementation_started"] == events["implementation_completed"] == 1
    assert len({n.key for n in recorders.recorder.sent}) == len(recorders.recorder.sent)
    assert [m.phase.value for m in recorders.markers.marks] == ["started", "finished"]


def alertmanager(service: str, at: datetime, fingerprint: str = "a1b2c3d4e5f60718") -> dict:
    return {"receiver": "chgsync", "status": "firing", "version": "4", "groupKey": '{}:{alertname="HighErrorRate"}',
            "groupLabels": {"alertname": "HighErrorRate"}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "HighErrorRate", "service": service,
                                                      "env": "production"},
                        "annotations": {"summary": "Error rate spiked"}, "startsAt": at.isoformat(),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
                        "fingerprint": fingerprint}]}


def post(world: World, path: str, body: object, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{world.daemon.url}{path}", data=data, headers=headers, timeout=10)


def test_an_alert_after_the_change_is_commented_on_both_tickets_once(world: World, recorders: RecorderPlugin,
                                                                     tmp_path: Path) -> None:
    key, change_id = implement(world)
    alert = alertmanager("checkout", world.clock() + timedelta(minutes=7))
    r = post(world, "/alerts/alertmanager", alert)
    assert r.status_code == 202 and r.json()["signals"] == 1
    world.settle()
    again = post(world, "/alerts/alertmanager", alert)  # Alertmanager repeats a group every repeat_interval
    assert again.status_code == 202 and again.json()["duplicate"] is True
    world.settle()

    said = [c for c in world.jira_comments(key) if c.startswith("Error rate spiked")]
    assert len(said) == 1 and f"Error rate spiked on checkout after Change {change_id}" in said[0]
    assert len([n for n in world.servicenow_notes(change_id) if n.startswith("Error rate spiked")]) == 1
    assert Counter(n.event for n in recorders.recorder.sent)["incident_correlated"] == 1
    [corr] = world.daemon.store.correlations(change_id)
    assert corr["score"] >= 0.75 and "same service checkout" in corr["reasons"]

    elsewhere = alertmanager("search", world.clock() + timedelta(hours=3), fingerprint="ffffffffffffffff")
    assert post(world, "/alerts/alertmanager", elsewhere).status_code == 202
    world.settle()
    assert len(world.daemon.store.correlations()) == 1  # another service, hours later: no suspect

    config = tmp_path / "chgsync.yaml"
    config.write_text(yaml.safe_dump({"store": world.daemon.store.url}))
    at = (world.clock() + timedelta(minutes=10)).isoformat()
    found = CliRunner().invoke(cli, ["correlate", "--config", str(config), "--at", at, "--service", "checkout"])
    assert found.exit_code == 0 and found.output.startswith(f"{change_id}  likely"), found.output
    before = (START - timedelta(minutes=1)).isoformat()
    none = CliRunner().invoke(cli, ["correlate", "--config", str(config), "--at", before])
    assert none.exit_code == 1 and "No change implemented" in none.output


@pytest.mark.parametrize(("path", "body", "token", "status", "words"), [
    ("/alerts/alertmanager", b"{", TOKEN, 400, "not json"),
    ("/alerts/alertmanager", {"version": "4", "status": "firing", "groupKey": "g", "alerts": []}, TOKEN, 422,
     "alerts"),
    ("/incidents", {"id": "INC-1", "title": "Down"}, TOKEN, 422, "started_at"),
    ("/incidents", {"id": "INC-1", "title": "Down", "started_at": "2026-12-01T14:00:00Z"}, None, 401, "bearer"),
    ("/incidents", {"id": "INC-1", "title": "Down", "started_at": "2026-12-01T14:00:00Z"}, "wrong", 401, "bearer"),
])
def test_bad_alert_and_incident_deliveries_get_a_json_reason_and_store_nothing(
        world: World, path: str, body: object, token: str | None, status: int, words: str) -> None:
    r = post(world, path, body, token)
    assert r.status_code == status
    assert r.json()["status"] == "rejected" and words in r.json()["reason"].lower()
    assert sum(world.daemon.store.inbox_counts().values()) == 0


def test_a_generic_incident_correlates_like_an_alert(world: World) -> None:
    key, change_id = implement(world, systems=("payments",))
    r = post(world, "/incidents", {"id": "INC-42", "title": "Payments failing", "services": ["payments"],
                                   "environment": "prod", "started_at": (world.clock() + timedelta(minutes=3)).isoformat()})
    assert r.status_code == 202
    world.settle()
    assert any(c.startswith(f"Payments failing on payments after Change {change_id}") for c in world.jira_comments(key))



def test_the_window_opening_is_said_once_before_a_scheduled_change_starts(world: World,
                                                                         recorders: RecorderPlugin) -> None:
    plan = sample_change(id="CHG-N", title="Resize checkout pool", start=START + timedelta(hours=2),
                         implementation={"systems": ["checkout"]}, communication={})
    plan = plan.model_copy(update={"state": State.SCHEDULED})
    with world.daemon.store.begin() as conn:
        world.daemon.store.save_change(conn, plan, None)
    world.settle()
    assert "window_opening" not in Counter(n.event for n in recorders.recorder.sent)
    world.clock.advance(minutes=110)  # ten minutes before the planned start
    world.settle()
    world.clock.advance(minutes=5)
    world.settle()
    opening = [n for n in recorders.recorder.sent if n.event == "window_opening"]
    assert len(opening) == 1 and opening[0].text.startswith("Change CHG-N (Resize checkout pool) starts in 10 min")
