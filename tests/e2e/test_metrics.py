"""Every metric an operator alerts on moves when its event happens, as read from `/metrics` over HTTP.

One story on a :class:`chgsync.testing.world.World` (both emulators, the daemon's real HTTP intake,
its loops stepped on a simulated clock): a change is created and applied, an illegal move is
reverted, a lost webhook is repaired by polling, a ServiceNow outage causes retries and a refusal a
dead letter, an event waits while the clock runs, and the obligations table fills and empties.
Each assertion reads the scrape exactly as Prometheus parses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import chgsync_jira.plugin
import chgsync_servicenow.plugin
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update

from chgsync.lifecycle import ChangeType
from chgsync.plugins import Plugins
from chgsync.store import schema as tables
from chgsync.testing.samples import sample_change
from chgsync.testing.world import SimClock, World

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PLANNED = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # a Thursday window, 8 business days after START


class Scrape:
    """One parsed scrape of ``/metrics``: ``value(name, **labels)`` sums the matching samples (0 if none)."""

    def __init__(self, url: str) -> None:
        r = requests.get(f"{url}/metrics", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
        self.samples = [s for family in text_string_to_metric_families(r.text) for s in family.samples]

    def value(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def label_values(self) -> set[str]:
        return {v for s in self.samples for v in s.labels.values()}


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    plugins.register(chgsync_servicenow.plugin, name="chgsync_servicenow")
    with World.running(store_url, plugins, SimClock(START)) as world:
        yield world


def scrape(world: World) -> Scrape:
    return Scrape(world.daemon.url)


def test_each_metric_moves_with_its_event(world: World) -> None:
    clock = world.clock
    assert isinstance(clock, SimClock)
    empty = scrape(world)
    for name in ("chgsync_events_received_total", "chgsync_events_applied_total", "chgsync_moves_reverted_total",
                 "chgsync_reconciliation_repaired_total", "chgsync_outbox_retries_total",
                 "chgsync_outbox_dead_letters_total", "chgsync_sync_lag_seconds_count"):
        assert empty.value(name) == 0, name
    assert empty.value("chgsync_outbox_depth", status="pending") == 0  # depths are there from the first scrape

    # Received and applied: a change created in Jira is adopted and mirrored to ServiceNow.
    key = world.person_creates_in_jira(sample_change(ChangeType.NORMAL, id="CHG-X", start=PLANNED))
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_events_received_total", system="jira") >= 1
    assert m.value("chgsync_events_applied_total", system="jira", action="created") == 1
    assert m.value("chgsync_sync_lag_seconds_count", system="jira") >= 1
    assert m.value("chgsync_outbox_depth", status="done") >= 2  # created in ServiceNow, linked both ways
    assert m.value("chgsync_inbox_depth", status="done") >= 1
    assert m.value("chgsync_oldest_waiting_seconds", queue="inbox") == 0

    # Sync lag: an event that waits (the loops do not run) ages on the simulated clock until applied.
    lag_sum = m.value("chgsync_sync_lag_seconds_sum", system="jira")
    world.person_edits_jira(key, {"summary": "Upgrade orders-db, rehearsed twice"})
    assert world.jira.webhooks.wait_idle(10)
    clock.advance(seconds=42)
    m = scrape(world)
    assert m.value("chgsync_inbox_depth", status="pending") == 1
    assert m.value("chgsync_oldest_waiting_seconds", queue="inbox") == 42
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_sync_lag_seconds_sum", system="jira") - lag_sum >= 42
    assert m.value("chgsync_sync_lag_seconds_bucket", system="jira", le="30.0") < \
        m.value("chgsync_sync_lag_seconds_bucket", system="jira", le="60.0")
    assert m.value("chgsync_oldest_waiting_seconds", queue="inbox") == 0
    assert m.value("chgsync_events_applied_total", system="jira", action="updated") == 1

    # A move that breaks the rules is reverted (no CAB approvals yet for a move to Scheduled).
    for status in ("Peer review", "Awaiting CAB approval", "Awaiting implementation"):
        world.person_transitions_jira(key, status)
    world.settle()
    assert scrape(world).value("chgsync_moves_reverted_total", system="jira") == 1

    # A lost webhook is repaired by polling, and only by polling.
    world.daemon.poll_once()
    world.settle()
    m = scrape(world)
    repaired = m.value("chgsync_reconciliation_repaired_total", system="jira")
    polled = m.value("chgsync_events_polled_total", system="jira")
    assert m.value("chgsync_lease_held", lease="poller:jira") == 1
    world.jira.faults.webhooks.drop_next(1)
    world.person_edits_jira(key, {"summary": "Edited while webhooks were lost"})
    world.settle()
    assert scrape(world).value("chgsync_reconciliation_repaired_total", system="jira") == repaired
    world.daemon.poll_once("jira")
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_reconciliation_repaired_total", system="jira") == repaired + 1
    assert m.value("chgsync_events_polled_total", system="jira") > polled

    # A ServiceNow outage: the write is retried (counted by kind), waits in the outbox, and catches up.
    world.servicenow.faults.outage(True)
    world.person_edits_jira(key, {"summary": "Edited during the outage"})
    world.settle()
    clock.advance(seconds=90)
    m = scrape(world)
    assert m.value("chgsync_outbox_retries_total", kind="sync") >= 1
    assert m.value("chgsync_outbox_depth", status="pending") >= 1
    assert m.value("chgsync_oldest_waiting_seconds", queue="outbox") >= 90
    assert m.value("chgsync_outbox_dead_letters_total") == 0
    world.servicenow.faults.outage(False)
    clock.advance(minutes=10)  # past the backoff the failures earned
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_outbox_depth", status="pending") == 0
    assert m.value("chgsync_oldest_waiting_seconds", queue="outbox") == 0

    # A refusal no retry can fix (400) dead-letters the write; `outbox retry` after the fix drains it.
    retries = m.value("chgsync_outbox_retries_total")
    world.servicenow.faults.outage(True, status=400)
    world.person_edits_jira(key, {"summary": "Edited while ServiceNow refuses"})
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_outbox_dead_letters_total", kind="sync") == 1
    assert m.value("chgsync_outbox_depth", status="dead") == 1
    assert m.value("chgsync_outbox_retries_total") == retries  # permanent: not retried
    world.servicenow.faults.outage(False)
    assert world.daemon.store.retry_outbox() == 1
    world.settle()
    m = scrape(world)
    assert m.value("chgsync_outbox_depth", status="dead") == 0
    assert m.value("chgsync_outbox_dead_letters_total", kind="sync") == 1  # a counter: it stays
    with world.daemon.store.begin() as conn:
        change_id = world.daemon.store.list_changes(conn)[0].id
    with world.daemon.store.begin() as conn:
        sn_id = world.daemon.store.links_for(conn, change_id)["servicenow"]["remote_id"]
    assert world.servicenow_record(sn_id)["short_description"] == "Edited while ServiceNow refuses"

    # Obligations due and overdue, read from the table on each scrape (the scheduler fills it). Owed:
    # "open" (not fired yet) and "notified" (fired, not met yet); "met" and "done" owe nothing.
    now = clock()
    rows = {"validation:24h": ("validation", now + timedelta(hours=24), "open"),
            "postmortem_reminder": ("postmortem_reminder", now - timedelta(hours=1), "notified"),
            "postmortem_escalation": ("postmortem_escalation", now + timedelta(hours=12), "open"),
            "retrospective_escalation": ("retrospective_escalation", now - timedelta(hours=2), "met"),
            "status_update:1": ("status_update", now - timedelta(hours=3), "done")}
    with world.daemon.store.begin() as conn:
        for name, (kind, due, status) in rows.items():
            conn.execute(insert(tables.obligations).values(key=f"{change_id}:{name}", change_id=change_id, kind=kind,
                                                           due_at=due, status=status, detail={}, updated_at=now))
    m = scrape(world)
    assert m.value("chgsync_obligations_due", kind="validation") == 1
    assert m.value("chgsync_obligations_overdue", kind="validation") == 0
    assert m.value("chgsync_obligations_overdue", kind="postmortem_reminder") == 1  # reminded, still not written
    assert m.value("chgsync_obligations_due", kind="postmortem_escalation") == 1
    assert m.value("chgsync_obligations_overdue") == 1  # met and done owe nothing
    clock.advance(hours=25)  # the validation point and the post-mortem deadline pass ...
    with world.daemon.store.begin() as conn:  # ... and the reminder was acted on: the post-mortem is linked
        conn.execute(update(tables.obligations)
                     .where(tables.obligations.c.key == f"{change_id}:postmortem_reminder").values(status="met"))
    m = scrape(world)
    assert m.value("chgsync_obligations_due") == 0
    assert m.value("chgsync_obligations_overdue", kind="validation") == 1
    assert m.value("chgsync_obligations_overdue", kind="postmortem_escalation") == 1
    assert m.value("chgsync_obligations_overdue", kind="postmortem_reminder") == 0  # reads 0, not its last value

    # Bounded labels: no change ID, issue key or record id ever becomes a label value.
    values = m.label_values()
    assert not [v for v in values if v.startswith("CHG-") or v == key or v == sn_id], values
