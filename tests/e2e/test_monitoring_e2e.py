"""A change's trail through real monitoring: its markers, an alert after it, its rollback trigger.

Why real servers: a stand-in would only repeat what we believe. What has to be proven here is that
what the ``pushgateway`` sink pushes is scraped and comes back from Prometheus's query API with the
labels chgsync promises, that a rollback trigger's PromQL (after a round trip through the ticket's
text field) evaluates over stored history to what the watch expects, and that Alertmanager's own
webhook, with the bearer token from its ``http_config``, is taken by the daemon, including the way
Alertmanager re-sends a whole group when it grows. So Prometheus, Pushgateway and Alertmanager are
the Debian programs on loopback ports (:mod:`chgsync.testing.prometheus`), one set per test; Jira
and ServiceNow are the emulators; Datadog, which has no local server, is the stand-in that checks
each request against Datadog's documented shapes.

Prometheus and Alertmanager keep real time, so the simulated clock starts an hour before now: the
implementation, the alert and the trigger's history all lie in the recent past, where the servers
keep and accept them. The history is written with ``promtool`` before Prometheus starts, since a
Pushgateway refuses samples with timestamps.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chgsync_datadog.plugin
import chgsync_jira.plugin
import chgsync_prometheus.plugin
import chgsync_servicenow.plugin
import pytest
import requests
from chgsync_datadog.standin import DatadogStandIn
from chgsync_prometheus.fixtures import require_services
from prometheus_client.parser import text_string_to_metric_families

from chgsync.lifecycle import ChangeType, State
from chgsync.model import Approval, Decision, Outcome
from chgsync.plugins import Plugins
from chgsync.testing.prometheus import (
    ALERTMANAGER,
    Alertmanager,
    Prometheus,
    Pushgateway,
    ScrapeJob,
    Series,
    alertmanager_config,
)
from chgsync.testing.recorders import MarkerRecorder, Recorder, RecorderPlugin
from chgsync.testing.samples import sample_change
from chgsync.testing.world import SimClock, World

SERVICE = "checkout"
ENV = "production"
TOKEN = "monitoring-alert-token"
IMPLEMENTER = "sam@example.com"  # sample_change's implementer
RATIO = (f'sum(rate(http_requests_total{{service="{SERVICE}",code=~"5.."}}[5m])) / '
         f'sum(rate(http_requests_total{{service="{SERVICE}"}}[5m]))')
TRIGGER = "Checkout error ratio above 5% for 5 minutes"


def traffic(start: int, end: int, worse_from: int | None, step: int = 15) -> list[Series]:
    """Checkout at 10 requests/s: 1 % errors, 9 % from ``worse_from`` on (never when None)."""
    ok: list[tuple[float, float]] = []
    errors: list[tuple[float, float]] = []
    ok_total = err_total = 0.0
    for t in range(start, end + 1, step):
        ok.append((t, ok_total))
        errors.append((t, err_total))
        ratio = 0.09 if worse_from is not None and t >= worse_from else 0.01
        err_total += 10 * step * ratio
        ok_total += 10 * step * (1 - ratio)
    labels = {"service": SERVICE, "env": ENV, "job": "web"}
    return [Series("http_requests_total", {**labels, "code": "200"}, ok, "counter"),
            Series("http_requests_total", {**labels, "code": "500"}, errors, "counter")]


@dataclass
class Monitored:
    world: World
    recorders: RecorderPlugin
    datadog: DatadogStandIn
    prometheus: Prometheus
    start: datetime


@pytest.fixture
def stage(store_url: str, pushgateway_server: Pushgateway,
          prometheus_factory: Callable[..., Prometheus]) -> Iterator[Callable[..., Monitored]]:
    """``stage(errors_rise=...)``: history in a fresh Prometheus that scrapes the gateway, then the world.

    The daemon pushes markers to the Pushgateway and Datadog stand-in, asks that Prometheus about
    rollback triggers, and takes alerts with a bearer token.
    """
    with ExitStack() as exits:
        def make(*, errors_rise: bool) -> Monitored:
            now = int(time.time()) // 60 * 60
            start = now - 3600
            history = traffic(start - 1800, now - 60, start + 300 if errors_rise else None)
            gateway = ScrapeJob("pushgateway", [pushgateway_server.address], honor_labels=True)
            prometheus = prometheus_factory(jobs=[gateway], backfill=history)
            datadog = exits.enter_context(DatadogStandIn())
            recorders = RecorderPlugin(Recorder(), MarkerRecorder())
            plugins = Plugins(load_entrypoints=False)
            for module in (chgsync_jira.plugin, chgsync_servicenow.plugin, chgsync_prometheus.plugin,
                           chgsync_datadog.plugin):
                plugins.register(module, name=module.__name__.split(".")[0])
            plugins.register(recorders, name="recorders")
            extra = {
                "markers": {"pushgateway": {"url": pushgateway_server.url},
                            "datadog": {"api_key_env": "DD_API_KEY", "host": datadog.base_url}},
                "metric_backend": {"type": "prometheus", "url": prometheus.url},
                "rollback": {"every": "PT1M", "watch": "PT1H", "step": "PT1M"},
                "alerts_token_env": "ALERT_TOKEN",
            }
            world = exits.enter_context(World.running(
                store_url, plugins, SimClock(datetime.fromtimestamp(start, UTC)), notifiers={"recorder": {}},
                extra=extra, environ={"ALERT_TOKEN": TOKEN, "DD_API_KEY": datadog.secret}))
            return Monitored(world, recorders, datadog, prometheus, datetime.fromtimestamp(start, UTC))

        yield make


@contextmanager
def alertmanager_for(world: World, workdir: Path) -> Iterator[Alertmanager]:
    """An Alertmanager whose one receiver is the daemon, presenting the bearer token as documented."""
    require_services(ALERTMANAGER)
    config = alertmanager_config(f"{world.daemon.url}/alerts/alertmanager", group_wait="1s", group_interval="2s")
    config["receivers"][0]["webhook_configs"][0]["http_config"] = {
        "authorization": {"type": "Bearer", "credentials": TOKEN}}
    with Alertmanager(workdir, config=config) as server:
        yield server


def implement(world: World, start: datetime) -> tuple[str, str]:
    """An emergency change on checkout with a machine-checkable rollback trigger, implemented through
    Jira from ``start`` for 20 minutes; returns (Jira key, change ID)."""
    plan = sample_change(ChangeType.EMERGENCY, id="CHG-M", title="Deploy checkout 4.3.0", start=start,
                         implementation={"systems": [SERVICE]}, communication={},
                         rollback={"trigger": {"description": TRIGGER, "condition": {
                             "query": RATIO, "op": ">", "threshold": 0.05, "for": "PT5M"}},
                             "steps": [{"description": "Redeploy checkout 4.2.0"}]})
    plan = plan.model_copy(update={"cab": plan.cab.model_copy(update={"approvals": [Approval(
        role="designated_authority", approver="priya@example.com", decision=Decision.APPROVE,
        reason="Checkout failing.", at=start)]})})
    key = world.person_creates_in_jira(plan)
    world.settle()
    world.person_transitions_jira(key, "Awaiting implementation")
    world.person_transitions_jira(key, "Implementing")
    world.settle()
    world.clock.advance(minutes=20)
    done = plan.model_copy(update={"outcome": Outcome.SUCCESSFUL, "schedule": plan.schedule.model_copy(
        update={"actual_start": start, "actual_end": world.clock()})})
    world.person_edits_jira_change(key, done, ["outcome", "schedule.actual_start", "schedule.actual_end"])
    world.person_transitions_jira(key, "Completed")
    world.settle()
    with world.daemon.store.begin() as conn:
        [change] = world.daemon.store.list_changes(conn)
    assert change.state == State.IMPLEMENTED
    # The condition reached chgsync through the ticket's text field, not from the plan in memory.
    assert change.rollback.trigger is not None and change.rollback.trigger.condition is not None
    assert change.rollback.trigger.condition.query == RATIO
    return key, change.id


def settle_until(world: World, done: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Settle repeatedly until ``done()``: deliveries from Alertmanager arrive on their own schedule."""
    deadline = time.monotonic() + timeout
    while True:
        world.settle()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.1)




def daemon_metric(world: World, name: str, **labels: str) -> float:
    """A sample from the daemon's own /metrics (0 when the series is absent)."""
    text = requests.get(f"{world.daemon.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def test_a_change_is_marked_correlated_and_flagged_through_real_monitoring(
        stage: Callable[..., Monitored], tmp_path: Path) -> None:
    m = stage(errors_rise=True)
    world = m.world
    key, change_id = implement(world, m.start)
    end = m.start + timedelta(minutes=20)

    # Prometheus: the finished marker, scraped from the Pushgateway, read back through the query API.
    selector = f'{{job="chgsync",service="{SERVICE}",env="{ENV}"}}'
    info = m.prometheus.wait_for(f"chgsync_deployment_info{selector}",
                                 until=lambda r: any(s["metric"].get("phase") == "finished" for s in r))
    assert [(s["metric"]["change_id"], s["metric"]["phase"]) for s in info] == [(change_id, "finished")]
    [outcome] = m.prometheus.query(f"chgsync_deployment_outcome{selector}")
    assert outcome["metric"]["outcome"] == "successful" and outcome["value"][1] == "1"
    [at] = m.prometheus.query(f"chgsync_deployment_timestamp_seconds{selector}")
    [began] = m.prometheus.query(f"chgsync_deployment_started_timestamp_seconds{selector}")
    assert float(at["value"][1]) == end.timestamp() and float(began["value"][1]) == m.start.timestamp()

    # Datadog: an event per phase, the second threaded under the first, and one DORA deployment.
    events = m.datadog.events_tagged(f"change_id:{change_id.lower()}", f"service:{SERVICE}", f"env:{ENV}")
    assert [next(t for t in e["tags"] if t.startswith("phase:")) for e in events] == ["phase:started",
                                                                                       "phase:finished"]
    assert [e["date_happened"] for e in events] == [int(m.start.timestamp()), int(end.timestamp())]
    assert events[1]["related_event_id"] == events[0]["id"] and events[1]["alert_type"] == "success"
    [deployment] = m.datadog.deployments.values()
    assert deployment["id"] == f"chgsync:{change_id}:{SERVICE}"
    assert (deployment["service"], deployment["env"]) == (SERVICE, ENV)
    assert (deployment["started_at_ns"], deployment["finished_at_ns"]) == (nanoseconds(m.start), nanoseconds(end))
    assert "outcome:successful" in deployment["custom_tags"]

    # The trigger: clear when implementation began (errors rose five minutes in), holding at completion.
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="clear") >= 1
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="holds") >= 1
    world.clock.advance(minutes=2)  # evaluated again: still holds, still said once
    world.settle()
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="holds") >= 2
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="unknown") == 0
    [recommended] = [n for n in m.recorders.recorder.sent if n.event == "rollback_recommended"]
    assert recommended.severity == "critical"  # its addressee: test_the_recommendation_is_addressed_to_the_implementer
    assert recommended.text.startswith(f'Rollback recommended for change {change_id} (Deploy checkout 4.3.0): '
                                       f'its rollback trigger "{TRIGGER}" holds: {RATIO} > 0.05 held for')
    [audit] = [a for a in world.daemon.store.audit_trail(change_id) if a["action"] == "rollback_recommended"]
    assert audit["detail"]["value"] == pytest.approx(0.09, abs=0.002) and audit["detail"]["auto"] is False
    for notes in (world.jira_comments(key), world.servicenow_notes(change_id)):
        assert len([c for c in notes if c.startswith("Rollback recommended")]) == 1

    # An alert on the same service after the change, delivered by Alertmanager itself.
    first_at, second_at = end + timedelta(minutes=7), end + timedelta(minutes=9)

    def alert(instance: str, at: datetime) -> dict[str, object]:
        return {"labels": {"alertname": "HighErrorRate", "service": SERVICE, "env": "prod", "instance": instance},
                "annotations": {"summary": "Error rate spiked"}, "startsAt": at,
                "generatorURL": f"{m.prometheus.url}/graph"}

    def spiked(notes: list[str], at: datetime) -> list[str]:
        return [n for n in notes if n.startswith(f"Error rate spiked on {SERVICE} after Change {change_id}")
                and f"Alert started {at:%Y-%m-%d %H:%M} UTC" in n]

    with alertmanager_for(world, tmp_path) as alertmanager:
        alertmanager.post_alerts([alert("web-1", first_at)])
        settle_until(world, lambda: world.daemon.store.correlations(change_id), "the first correlation")
        # A second alert joins the group: Alertmanager sends the whole group again, the first alert too.
        alertmanager.post_alerts([alert("web-2", second_at)])
        settle_until(world, lambda: len(world.daemon.store.correlations(change_id)) == 2, "the second correlation")
    assert daemon_metric(world, "chgsync_events_received_total", system="alertmanager") == 2
    assert daemon_metric(world, "chgsync_webhooks_rejected_total", system="alertmanager", status="401") == 0

    for notes in (world.jira_comments(key), world.servicenow_notes(change_id)):
        assert len(spiked(notes, first_at)) == 1 and len(spiked(notes, second_at)) == 1
    assert Counter(n.event for n in m.recorders.recorder.sent)["incident_correlated"] == 2
    for corr in world.daemon.store.correlations(change_id):
        assert corr["score"] >= 0.75 and "same service checkout" in corr["reasons"]


def test_a_healthy_trigger_recommends_nothing(stage: Callable[..., Monitored]) -> None:
    m = stage(errors_rise=False)
    world = m.world
    key, change_id = implement(world, m.start)
    world.clock.advance(minutes=2)
    world.settle()

    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="clear") >= 3
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="holds") == 0
    assert daemon_metric(world, "chgsync_rollback_trigger_evaluations_total", result="unknown") == 0
    assert "rollback_recommended" not in Counter(n.event for n in m.recorders.recorder.sent)
    assert not [a for a in world.daemon.store.audit_trail(change_id) if a["action"] == "rollback_recommended"]
    for notes in (world.jira_comments(key), world.servicenow_notes(change_id)):
        assert not [c for c in notes if c.startswith("Rollback recommended")]


def test_the_recommendation_is_addressed_to_the_implementer(stage: Callable[..., Monitored]) -> None:
    m = stage(errors_rise=True)
    implement(m.world, m.start)
    with m.world.daemon.store.begin() as conn:
        [change] = m.world.daemon.store.list_changes(conn)
    assert change.implementer == IMPLEMENTER  # the plan named one; it travelled as the Jira assignee
    [recommended] = [n for n in m.recorders.recorder.sent if n.event == "rollback_recommended"]
    assert IMPLEMENTER in recommended.recipients
