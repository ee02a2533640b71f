"""500 moves with the daemon killed (SIGKILL) and restarted midway: nothing lost, nothing doubled.

The daemon runs as a real ``chgsync daemon`` subprocess (its plugins loaded through entry points),
so that the kill is a real one: no ``finally`` runs, claims stay held until their lease expires,
half-done remote writes stay half done, and webhooks sent while it is down are lost for good
(the emulators retry a few times, then give up), leaving reconciliation polling to find them.
The emulators and the people working in Jira live in the test process; the test reads the store
directly (the same SQLite file or PostgreSQL schema) to see what the daemon decided.

Besides the 500 moves, two crash windows the big run cannot hit on purpose are pinned down: the kill
between ServiceNow inserting a record and the daemon recording it (a subprocess again), and a move
cut off between two hops (stepped in process, so the order of what follows is the test's).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from chgsync_jira.emulator import JiraEmulator
from chgsync_servicenow.emulator import ServiceNowEmulator
from sqlalchemy import func, select

from chgsync.adapter import RemoteRef
from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.lifecycle import ChangeType, State, happy_path
from chgsync.model import Change
from chgsync.store import Store
from chgsync.store import schema as tables
from chgsync.testing.samples import sample_change

from .conftest import WEBHOOK_SECRET as STEPPED_SECRET
from .conftest import Clock, World, daemon_config, environ_for, make_plugins
from .processes import PERSON, DaemonProcess, Person, free_port, wait_for

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "crash-webhook-secret"
WALK = happy_path(ChangeType.NORMAL)[1:]  # cab_review, approved, scheduled, implementing, implemented, closed
MOVES = 500
CHANGES = -(-MOVES // len(WALK))  # 84 changes walked Draft → Closed: 504 moves
KILL_AFTER = 250  # the trap that kills the daemon is armed after this many moves
MOVES_WHILE_DOWN = 100
ADOPTED = 6  # changes adopted around the kill in the creation test
LOST_WEBHOOKS = 10  # the daemon stays down until at least this many deliveries failed for good
ASSESS = "-4"
SN_WALK = ["-5", "-4", "-3", "-2", "-1", "0", "3"]  # New, Assess, Authorize, Scheduled, Implement, Review, Closed
POLICY = {
    # Moves are made in real time, now: no windows, no notice, no CAB roles to collect. The sample
    # change fills in everything else (plan, risks, rollback, checklist) each move asks for.
    "windows": {"production": []},
    "lead_time_business_days": {"normal": 0},
    "cab": {"required": {"normal": {"low": [], "medium": [], "high": []}}},
    "validation_points": [],  # closing as successful asks for no post-implementation checks first
}


def write_config(directory: Path, store_url: str, port: int, jira: JiraEmulator, sn: ServiceNowEmulator,
                 claim_lease: str = "PT3S") -> Path:
    policy = directory / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    config = directory / "chgsync.yaml"
    config.write_text(yaml.safe_dump({
        "store": store_url,
        "listen": {"host": "127.0.0.1", "port": port},
        "policy": "policy.yaml",
        "poll_interval": "PT2S",      # reconciliation runs throughout, and repairs the webhooks lost
        "worker_interval": "PT0.05S",
        "claim_lease": claim_lease,   # claims held by the killed process expire soon after
        "adapters": {
            "jira": {"url": jira.base_url, "user": jira.user, "token_env": "CRASH_JIRA_TOKEN",
                     "webhook_secret_env": "CRASH_WEBHOOK_SECRET"},
            "servicenow": {"url": sn.base_url, "user": sn.user, "password_env": "CRASH_SN_PASSWORD",
                           "webhook_secret_env": "CRASH_WEBHOOK_SECRET"},
        },
    }))
    return config


def daemon_for(store_url: str, directory: Path, jira: JiraEmulator, sn: ServiceNowEmulator,
               claim_lease: str = "PT3S") -> DaemonProcess:
    """A daemon process (not started yet) on a port chosen now, both emulators' webhooks pointed at it."""
    port = free_port()
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": "chgsync-jira,chgsync-servicenow",
           "CRASH_JIRA_TOKEN": jira.secret, "CRASH_SN_PASSWORD": sn.secret, "CRASH_WEBHOOK_SECRET": WEBHOOK_SECRET}
    daemon = DaemonProcess(write_config(directory, store_url, port, jira, sn, claim_lease), port, env, directory)
    jira.webhooks.subscribe(f"{daemon.url}/webhooks/jira", secret=WEBHOOK_SECRET)
    sn.webhooks.subscribe(f"{daemon.url}/webhooks/servicenow", secret=WEBHOOK_SECRET)
    return daemon


# -- reading the outcome -------------------------------------------------------------------------------
def sn_writes(sn: ServiceNowEmulator) -> dict[str, list[dict[str, Any]]]:
    """Every accepted change_request write, per record, in order: the instance's business-rule notices.

    The emulator sends one for each insert or update that changed something (whoever made it, and
    whether or not the daemon was up to receive it), with the fields changed and their previous values.
    """
    writes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for delivery in list(sn.webhooks.records):
        body = json.loads(delivery.body)
        writes[body["sys_id"]].append(body)
    return writes


@dataclass
class Run:
    jira: JiraEmulator
    sn: ServiceNowEmulator
    store: Store
    keys: list[str]

    def changes(self) -> list[Change]:
        with self.store.begin() as conn:
            return self.store.list_changes(conn)

    def links(self) -> list[dict[str, Any]]:
        with self.store.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(select(tables.links))]

    def adopted(self) -> list[str]:
        """Problems left before every issue is adopted, mirrored to ServiceNow and linked both ways."""
        links = self.links()
        jira_keys = {link["remote_key"] for link in links if link["system"] == "jira"}
        changes = defaultdict(set)
        for link in links:
            changes[link["change_id"]].add(link["system"])
        problems = [f"{len(set(self.keys) - jira_keys)} Jira issues not adopted yet"] if set(self.keys) - jira_keys \
            else []
        half = [c for c, systems in changes.items() if systems != {"jira", "servicenow"}]
        if half:
            problems.append(f"{len(half)} changes not linked in both systems yet, e.g. {sorted(half)[:3]}")
        return problems + self.work_left()

    def work_left(self) -> list[str]:
        problems = []
        outbox = self.store.outbox_counts()
        if any(outbox.get(s) for s in ("pending", "claimed", "dead")):
            problems.append(f"outbox not drained: {outbox}")
        inbox = self.store.inbox_counts()
        if any(inbox.get(s) for s in ("pending", "claimed")):
            problems.append(f"inbox not drained: {inbox}")
        return problems

    def converged(self) -> list[str]:
        """Problems left before every change is Closed everywhere with nothing left to do."""
        records = self.sn.find_records("change_request")
        open_sn = sorted(f"{r['number']}={r['state']}" for r in records if r["state"] != "3")
        if open_sn:  # the cheap check first: the store is only read once ServiceNow looks done
            return [f"{len(open_sn)} ServiceNow records not Closed, e.g. {open_sn[:5]}"]
        problems = []
        not_closed = [f"{c.id}={c.state.value}" for c in self.changes() if c.state != State.CLOSED]
        if not_closed:
            problems.append(f"{len(not_closed)} changes not Closed in chgsync, e.g. {not_closed[:5]}")
        problems += self.work_left()
        for name, emulator in (("Jira", self.jira), ("ServiceNow", self.sn)):
            if not emulator.webhooks.wait_idle(0):
                problems.append(f"{name} still has webhooks to deliver")
        return problems


@pytest.fixture
def emulators() -> Iterator[tuple[JiraEmulator, ServiceNowEmulator]]:
    with JiraEmulator(seed={"users": [PERSON]}) as jira, ServiceNowEmulator() as sn:
        yield jira, sn


Notice = Callable[[str, dict[str, Any]], bool]


def entering(state: str) -> Notice:
    """A change_request write that moved the record into ``state``."""
    return lambda event, body: (event == "change_request.update" and "state" in body["changed_fields"]
                                and body["record"]["state"] == state)


def inserting(event: str, body: dict[str, Any]) -> bool:
    return event == "change_request.insert"


class Trap:
    """Springs once, inside ServiceNow, right after it applied a write matching ``when``.

    ServiceNow has written the record but not yet answered the request: the write has happened and
    the writer has not heard that it did. A move into Assess -- always a stop on the way to Authorize
    or further, never a state of its own -- leaves the record half-way through a move; an insert
    leaves a record its writer does not know it made.
    """

    def __init__(self, sn: ServiceNowEmulator, when: Notice, action: Callable[[], None]) -> None:
        self.armed = False
        self.sprung = threading.Event()
        self.number = ""
        deliver = sn.webhooks.emit

        def emit(event: str, payload: Any, headers: Any = None) -> int:
            # ServiceNow's business rule, run under the instance's lock once the write is applied.
            if self.armed and when(event, payload):
                self.armed = False
                action()
                self.number = payload["number"]
                self.sprung.set()
            return deliver(event, payload, headers)

        sn.webhooks.emit = emit  # type: ignore[method-assign]


def test_500_moves_survive_a_sigkill_midway(store_url: str, tmp_path: Path,
                                            emulators: tuple[JiraEmulator, ServiceNowEmulator]) -> None:
    jira, sn = emulators
    daemon = daemon_for(store_url, tmp_path, jira, sn)
    trap = Trap(sn, entering(ASSESS), daemon.kill)  # SIGKILL mid-move: the first hop applied, its answer never read
    person = Person(jira)
    rng = random.Random(20261126)
    started = time.monotonic()
    daemon.start()
    store = Store(store_url, check_schema=False)  # the daemon created the schema; read it as it is
    try:
        # N complete normal changes created in Jira, each touching systems of its own (no conflicts).
        drafts: dict[str, Change] = {}
        for i in range(CHANGES):
            change = sample_change(ChangeType.NORMAL, id=f"DRAFT-{i}", title=f"Upgrade orders-db-{i:03d}")
            change = change.model_copy(update={"implementation": change.implementation.model_copy(
                update={"systems": [f"orders-db-{i:03d}", f"orders-worker-{i:03d}"]})})
            drafts[person.create(change)] = change
        run = Run(jira, sn, store, list(drafts))
        wait_for("adoption of every change", run.adopted, timeout=180)
        adopted_at = time.monotonic()

        def webhooks_lost() -> list[str]:
            failed = sum(1 for d in list(jira.webhooks.records) if d.outcome == "failed")
            return [] if failed >= LOST_WEBHOOKS else [f"only {failed} Jira webhooks lost so far"]

        def restart() -> None:
            # Down until webhooks were lost for good: only reconciliation can find those moves.
            wait_for("webhooks lost while the daemon is down", webhooks_lost, timeout=60)
            daemon.start()

        # 500 moves, changes interleaved at random, as fast as people can click: the daemon falls behind
        # and works through a backlog. After 250 moves the trap is armed and the first moves of a few
        # changes held back until then are made (each starts New → Assess → ... in ServiceNow); people
        # pause until the trap has killed the daemon mid-move, then make 100 more moves while it is down.
        steps = {key: 0 for key in drafts}
        late = rng.sample(sorted(drafts), 4)
        made = 0
        killed_after = 0
        while any(s < len(WALK) for s in steps.values()):
            held = [k for k in late if steps[k] == 0]
            if made >= KILL_AFTER and held:
                key = held[0]
            else:
                key = rng.choice(sorted(k for k, s in steps.items() if s < len(WALK) and k not in held))
            drafts[key] = person.move(key, drafts[key], WALK[steps[key]])
            steps[key] += 1
            made += 1
            if made == KILL_AFTER:
                trap.armed = True
            if made >= KILL_AFTER and not killed_after and all(steps[k] for k in late):
                wait_for("the daemon killed mid-move", lambda: [] if trap.sprung.is_set() else ["still running"],
                         timeout=120)
                killed_after = made
            if killed_after and daemon.runs == 1 and made - killed_after >= MOVES_WHILE_DOWN:
                restart()
        if daemon.runs == 1:
            restart()
        moved_at = time.monotonic()
        wait_for("convergence after the crash", run.converged, timeout=300)
        converged_at = time.monotonic()
        metrics = requests.get(f"{daemon.url}/metrics", timeout=10).text
        daemon.stop()
        repaired = sum(float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith("chgsync_reconciliation_repaired_total"))
        lost = sum(1 for d in list(jira.webhooks.records) if d.outcome == "failed")
        print(f"\n{CHANGES} changes, {made} moves; adopted in {adopted_at - started:.1f} s, moves made in "
              f"{moved_at - adopted_at:.1f} s, converged {converged_at - moved_at:.1f} s later, total "
              f"{converged_at - started:.1f} s. Killed after move {killed_after}, mid-move of "
              f"{trap.number}; {lost} Jira webhooks lost; {repaired:.0f} records repaired by polling.")
        assert made >= MOVES and all(s == len(WALK) for s in steps.values()), (made, steps)
        assert_nothing_lost(run, person)
        assert_nothing_doubled(run, person)
    finally:
        daemon.stop()
        store.close()


def test_a_kill_between_creating_a_record_and_recording_it_still_links_it_once(
        store_url: str, tmp_path: Path, emulators: tuple[JiraEmulator, ServiceNowEmulator]) -> None:
    """SIGKILL right after ServiceNow inserted the mirror of a change adopted from Jira, unanswered.

    ServiceNow then holds a record carrying the change's ID that chgsync has no link for, and the dead
    process still has the create claimed. Restarted at once, the daemon hears of the record before it
    may take the create over (someone adds a work note; the insert's own webhook went to the dead
    process): the engine knows its own create and links it. The relay, taking the create over when
    the claim runs out, must still finish it -- correlate the record with the issue and link the
    issue to it -- and not skip it as done because a link exists now.
    """
    jira, sn = emulators
    daemon = daemon_for(store_url, tmp_path, jira, sn, claim_lease="PT12S")  # outlasts restart and note
    trap = Trap(sn, inserting, daemon.kill)
    trap.armed = True
    person = Person(jira)
    daemon.start()
    store = Store(store_url, check_schema=False)
    try:
        keys = [person.create(sample_change(ChangeType.NORMAL, id=f"DRAFT-{i}", title=f"Upgrade orders-db-{i}"))
                for i in range(ADOPTED)]
        wait_for("the daemon killed mid-create", lambda: [] if trap.sprung.is_set() else ["still running"], 60)
        daemon.start()
        [record] = sn.find_records("change_request", f"number={trap.number}")
        r = requests.patch(f"{sn.base_url}/api/now/table/change_request/{record['sys_id']}",
                           json={"work_notes": "Picked up by the database team."}, auth=(sn.user, sn.secret),
                           timeout=10)
        assert r.status_code == 200, r.text
        run = Run(jira, sn, store, keys)

        def recognised() -> list[str]:
            return [] if any(link["remote_key"] == trap.number for link in run.links()) else [
                f"{trap.number} not linked yet"]
        wait_for("the engine recognising its own create", recognised, timeout=30)
        wait_for("adoption of every change", run.adopted, timeout=60)
        daemon.stop()
        assert_linked_once(run, person, ADOPTED)
        assert {a["action"] for a in store.audit_trail()} == {"created"}, store.audit_trail()
    finally:
        daemon.stop()
        store.close()


def assert_nothing_lost(run: Run, person: Person) -> None:
    changes = run.changes()
    assert len(changes) == CHANGES
    for change in changes:
        # Every state entered exactly once, in lifecycle order: no move lost, none applied twice.
        assert [h.to_state for h in change.history] == WALK, (change.id, change.history)
        assert change.outcome is not None and change.close_notes, change.id
    refused = [a for a in run.store.audit_trail() if a["action"] in ("move_refused", "revert_impossible",
                                                                       "fields_restored")]
    assert not refused, refused[:5]
    by_key = {link["remote_key"]: link["change_id"] for link in run.links() if link["system"] == "jira"}
    for key in run.keys:
        issue = person.forms.get(key)
        assert issue.change.state == State.CLOSED, (key, issue.change.state)
        assert issue.change.id == by_key[key]  # the ID chgsync assigned was written back
    for record in run.sn.find_records("change_request"):
        assert (record["state"], record["approval"], record["close_code"]) == ("3", "approved", "successful"), record


def assert_linked_once(run: Run, person: Person, count: int) -> list[dict[str, str]]:
    """Exactly one record per change in each system, linked to each other once: returns ServiceNow's."""
    r = person.session.get(f"{person.api}/search", params={"jql": "project = CHG", "maxResults": "1000",
                                                           "fields": "summary"}, timeout=10)
    assert r.json()["total"] == count
    records = run.sn.find_records("change_request")
    assert len(records) == count
    assert len({r["u_chgsync_id"] for r in records}) == count
    with run.store.begin() as conn:
        per_pair = conn.execute(select(tables.links.c.change_id, tables.links.c.system, func.count())
                                .group_by(tables.links.c.change_id, tables.links.c.system)).all()
    assert len(per_pair) == 2 * count and all(n == 1 for _, _, n in per_pair)
    links = run.links()
    jira_key = {link["change_id"]: link["remote_key"] for link in links if link["system"] == "jira"}
    number = {link["remote_key"]: link["change_id"] for link in links if link["system"] == "servicenow"}
    for record in records:  # one correlation each, pointing at that change's issue
        assert record["correlation_id"] == jira_key[record["u_chgsync_id"]], record
    for key in run.keys:  # one remote link each, pointing at that change's record
        remote = person.session.get(f"{person.api}/issue/{key}/remotelink", timeout=10).json()
        assert len(remote) == 1, (key, remote)
        assert jira_key[number[remote[0]["object"]["title"]]] == key, (key, remote)
    return records


def assert_nothing_doubled(run: Run, person: Person) -> None:
    records = assert_linked_once(run, person, CHANGES)

    # ServiceNow: the states each record went through, from the instance's own record of every accepted
    # write (its business-rule notices, emitted whether or not the daemon was up to receive them). The
    # relay writes the change as it is when the item runs, so a record may skip states (Assess →
    # Scheduled when the change was already approved by then): the exact path depends on timing. What
    # must hold is that no state is ever applied twice or undone, so the sequence only goes forward, and
    # ends Closed. A move retried after the crash re-reads the record first, so it may repeat a read
    # but never a hop already made; ServiceNow would also refuse writing a record's current state (403),
    # so no write may have been refused either.
    order = {state: i for i, state in enumerate(SN_WALK)}
    writes = sn_writes(run.sn)
    for record in records:
        history = writes[record["sys_id"]]
        assert history[0]["operation"] == "insert", history[0]
        states = [w["record"]["state"] for w in history if "state" in w["changed_fields"]]
        trail = [(w["sys_mod_count"], {f: (w["previous"].get(f), w["record"].get(f)) for f in w["changed_fields"]
                                       if f in ("state", "approval")}) for w in history]
        assert states and states[-1] == "3", (record["number"], trail)
        assert all(order[a] < order[b] for a, b in pairwise(states)), (record["number"], trail)
        approvals = [w["record"]["approval"] for w in history if "approval" in w["changed_fields"]]
        assert approvals.count("approved") == 1, (record["number"], trail)
    refused = Counter((r.method, r.path, r.status) for r in run.sn.requests if r.status >= 400)
    assert not refused, refused

    # Jira: every transition is the person's; chgsync, the origin's mirror, never moved or commented.
    chgsync_user = run.jira.user
    jira_calls = list(run.jira.requests)
    assert sum(1 for r in jira_calls if r.path.endswith("/transitions") and r.method == "POST"
               and r.user == chgsync_user) == 0
    assert sum(1 for r in jira_calls if r.path.endswith("/transitions") and r.method == "POST"
               and r.status == 204) == person.transitions
    assert not [r for r in jira_calls if r.path.endswith("/comment") and r.method == "POST"]
    ours = {r["sys_id"] for r in records}
    notes = [n for n in run.sn.find_records("sys_journal_field") if n["element_id"] in ours]
    assert not notes, notes[:3]


# -- a move interrupted between hops, pinned down ------------------------------------------------------
@pytest.fixture
def stepped(store_url: str, tmp_path: Path, emulators: tuple[JiraEmulator, ServiceNowEmulator]) -> Iterator[World]:
    """The conftest's stepped harness (the test decides when the daemon works) under this module's policy."""
    jira, sn = emulators
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    data = daemon_config(store_url, jira, sn).model_dump()
    data["policy"] = tmp_path / "policy.yaml"
    data["adapters"]["servicenow"]["retry"] = {"attempts": 2, "base": 0.01}  # give up on an outage quickly
    config = DaemonConfig.model_validate(data)
    clock = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    daemon = Daemon(config, plugins=make_plugins(), clock=clock, environ=environ_for(jira, sn))
    daemon.start_http()
    jira.webhooks.subscribe(f"{daemon.url}/webhooks/jira", secret=STEPPED_SECRET)
    sn.webhooks.subscribe(f"{daemon.url}/webhooks/servicenow", secret=STEPPED_SECRET)
    try:
        yield World(jira, sn, daemon, clock)
    finally:
        daemon.stop()


def test_a_move_interrupted_between_hops_is_finished_not_taken_for_a_persons_move(stepped: World) -> None:
    """A move left half-way in ServiceNow waits for chgsync to finish it; it is not judged as a person's.

    In the crash test the kill lands between two hops, but whether the restarted daemon reads that
    record before the relay takes the move over is a race it does not control. Here the race is
    pinned: ServiceNow applies New → Assess of a move to Authorize (approved), then goes down, so the
    write fails with the record at Assess and waits for its retry (as a killed one waits for its lease).
    Assess reads as CAB Review; taken for a person's move Approved → CAB Review, it used to be refused
    and "reverted" -- a comment and a notice blaming nobody for a move nobody made.
    """
    world = stepped
    person = Person(world.jira)
    draft = sample_change(ChangeType.NORMAL, id="DRAFT")
    key = person.create(draft)
    world.settle()
    [change] = Run(world.jira, world.servicenow, world.daemon.store, [key]).changes()
    with world.daemon.store.begin() as conn:
        sys_id = world.daemon.store.links_for(conn, change.id)["servicenow"]["remote_id"]
    trap = Trap(world.servicenow, entering(ASSESS), lambda: world.servicenow.faults.outage(True))
    trap.armed = True
    draft = person.move(key, draft, State.CAB_REVIEW)
    person.move(key, draft, State.APPROVED)
    assert world.jira.webhooks.wait_idle(10)
    world.daemon.run_until_idle()  # adopts the move; the ServiceNow write stops at Assess and fails
    assert trap.sprung.is_set()
    assert world.daemon.store.list_outbox("pending")[0].last_error
    world.servicenow.faults.outage(False)
    assert world.servicenow.webhooks.wait_idle(10)
    world.clock.advance(seconds=10)  # the write's retry and the Assess event's are both due now
    world.daemon.run_until_idle()
    world.clock.advance(seconds=10)  # and whatever waited for the write to finish
    world.settle()

    record = world.servicenow.get_record("change_request", sys_id)
    assert record is not None and (record["state"], record["approval"]) == ("-3", "approved")
    [change] = Run(world.jira, world.servicenow, world.daemon.store, [key]).changes()
    assert [h.to_state for h in change.history] == [State.CAB_REVIEW, State.APPROVED]
    actions = [a["action"] for a in world.daemon.store.audit_trail(change.id)]
    assert "move_refused" not in actions, actions
    assert not [n for n in world.servicenow.find_records("sys_journal_field") if n["element_id"] == sys_id]
    assert person.state_in_jira(key) == State.APPROVED


# -- a comment posted by a worker that died before recording it ----------------------------------------
@pytest.mark.parametrize("system", ["jira", "servicenow"])
@pytest.mark.parametrize("posted_before_death", [True, False])
def test_a_comment_whose_worker_died_is_posted_once(stepped: World, system: str, posted_before_death: bool) -> None:
    """A worker claims a comment, (perhaps) posts it, and dies: the next claim posts it only if it is missing.

    The claim is taken as the dead replica took it (attempts counted, a lease held); its remote write is
    made, or not, with the adapter it would have used. Once the lease runs out the survivor takes the
    item over and must leave exactly one copy of the comment on the record.
    """
    world = stepped
    person = Person(world.jira)
    key = person.create(sample_change(ChangeType.NORMAL, id="DRAFT"))
    world.settle()
    [change] = Run(world.jira, world.servicenow, world.daemon.store, [key]).changes()
    store = world.daemon.store
    with store.begin() as conn:
        link = store.links_for(conn, change.id)[system]
    text = f"Error rate spiked on checkout after Change {change.id} ({system})."
    with store.begin() as conn:
        assert store.enqueue(conn, f"{change.id}:test-comment:{system}", change.id, "comment", system, {"text": text})
    [claimed] = store.claim_outbox("dead-replica", lease=timedelta(seconds=3))
    assert claimed.kind == "comment" and claimed.attempts == 1
    adapter = world.daemon.adapters[system]
    ref = RemoteRef(system, link["remote_id"], link["remote_key"], link["url"])
    if posted_before_death:
        adapter.comment(ref, text)

    world.clock.advance(seconds=5)  # the dead replica's lease runs out
    world.settle()
    world.clock.advance(seconds=5)  # the comment's own webhooks waited for the write to be recorded
    world.settle()

    assert not store.list_outbox("pending") and not store.list_outbox("claimed")
    assert comment_texts(world, system, link["remote_id"]).count(text) == 1


def comment_texts(world: World, system: str, remote_id: str) -> list[str]:
    if system == "jira":
        r = requests.get(f"{world.jira.base_url}/rest/api/2/issue/{remote_id}/comment",
                         auth=(world.jira.user, world.jira.secret), timeout=10)
        r.raise_for_status()
        return [str(c["body"]) for c in r.json()["comments"]]
    return [str(n["value"]) for n in world.servicenow.find_records("sys_journal_field") if n["element_id"] == remote_id]
