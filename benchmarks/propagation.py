"""Propagation benchmark: what one move a person makes costs chgsync, and how soon the other tool shows it.

Both emulators run on loopback and the daemon runs in this process the way ``chgsync daemon`` runs it
(``Daemon.start()``: the inbox, outbox and poller threads and the HTTP intake receiving real
webhooks). A person walks normal changes Draft → Closed, making one move at a time, mostly in Jira
and, for some changes, the last three moves (Implementing, Implemented, Closed) in ServiceNow.

For each propagated move it measures

- **latency**: from the person's last request of the move returning to the other tool showing the
  new state (its record polled every 10 ms, in process, so the polling costs no API call); and
- **API calls**: every call chgsync made until it was quiet again (webhooks delivered, inbox and
  outbox empty), from the adapters' own per-operation counters, split by system and operation, and
  checked against the emulators' request logs with the person's requests taken out (the person
  uses a Jira account of their own; in ServiceNow the benchmark counts what it sent).

Moves are made one at a time, so these are figures for a daemon with nothing queued. Polling is
off by default (``--poll-interval PT1H``) so that every call is one a move caused; reconciliation
costs calls on its own schedule whatever the traffic.

Run: ``.venv/bin/python benchmarks/propagation.py [--moves N] [--store URL]``. The default store is a
fresh SQLite file; a ``postgresql://`` URL gets a throw-away schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.wire import to_wire
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.lifecycle import ChangeType, State, happy_path
from chgsync.model import Change
from chgsync.testing.samples import sample_change

WALK = happy_path(ChangeType.NORMAL)[1:]  # cab_review, approved, scheduled, implementing, implemented, closed
SERVICENOW_MOVES = {State.IMPLEMENTING: "-1", State.IMPLEMENTED: "0", State.CLOSED: "3"}
PERSON = {"email": "pat.person@example.com", "displayName": "Pat Person", "token": "pat-person-token",
          "timeZone": "UTC"}
SECRET = "benchmark-webhook-secret"
POLICY = {  # moves are legal now: no windows, no notice, no CAB roles to collect (the sample fills the rest)
    "windows": {"production": []},
    "lead_time_business_days": {"normal": 0},
    "cab": {"required": {"normal": {"low": [], "medium": [], "high": []}}},
    "validation_points": [],  # closing as successful asks for no post-implementation checks first
}
SYSTEMS = ("jira", "servicenow")


def wait_until(what: str, done: Callable[[], bool], timeout: float, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


# -- the store -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def store_url(url: str | None) -> Iterator[str]:
    """The store to use: a fresh SQLite file, or a throw-away schema in the PostgreSQL database given."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="chgsync-bench-") as tmp:
            yield url or f"sqlite:///{Path(tmp) / 'chgsync.sqlite'}"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# -- the person ----------------------------------------------------------------------------------------
@dataclass
class Person:
    """Someone working in both tools: Jira with an account of their own, ServiceNow through its form."""

    jira: JiraEmulator
    sn: ServiceNowEmulator
    daemon: Daemon
    jira_session: requests.Session = field(default_factory=requests.Session)
    sn_session: requests.Session = field(default_factory=requests.Session)
    sn_requests: int = 0

    def __post_init__(self) -> None:
        self.jira_session.auth = (PERSON["email"], PERSON["token"])
        self.sn_session.auth = (self.sn.user, self.sn.secret)
        for s in (self.jira_session, self.sn_session):
            s.trust_env = False
        self.forms = self.daemon.adapters["jira"]  # only its pure encode_fields: what Jira's forms send

    @property
    def api(self) -> str:
        return f"{self.jira.base_url}/rest/api/2"

    def create(self, change: Change) -> str:
        fields = self.forms.encode_fields(change)  # type: ignore[attr-defined]
        fields.pop(self.forms.mapping.field("id").remote, None)  # type: ignore[union-attr]
        fields.update(project={"key": "CHG"}, issuetype={"name": "Change"})
        r = self.jira_session.post(f"{self.api}/issue", json={"fields": fields}, timeout=10)
        r.raise_for_status()
        return str(r.json()["key"])

    def _jira(self, method: str, path: str, body: dict[str, Any]) -> None:
        self.jira_session.request(method, f"{self.api}/{path}", json=body, timeout=10).raise_for_status()

    def transition(self, key: str, to_status: str) -> None:
        r = self.jira_session.get(f"{self.api}/issue/{key}/transitions", timeout=10)
        ids = [t["id"] for t in r.json()["transitions"] if t["to"]["name"] == to_status]
        if not ids:
            raise RuntimeError(f"{key} has no transition to {to_status}")
        self._jira("POST", f"issue/{key}/transitions", {"transition": {"id": ids[0]}})

    def set_stage(self, key: str, state: State) -> None:
        remote = self.forms.mapping.states[state].remote
        shapes = self.forms.record_config.state_fields  # type: ignore[attr-defined]
        self._jira("PUT", f"issue/{key}", {"fields": {f: to_wire(s, remote[f]) for f, s in shapes.items() if f in remote}})

    def move_in_jira(self, key: str, change: Change, target: State) -> Change:
        status = self.forms.mapping.status_of
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        if target == State.CAB_REVIEW:
            self.transition(key, "Peer review")
            self.transition(key, status(State.CAB_REVIEW))
        elif target == State.SCHEDULED:
            self.set_stage(key, State.SCHEDULED)
        elif target == State.IMPLEMENTED:
            change = change.model_copy(update={"outcome": "successful", "schedule": change.schedule.model_copy(
                update={"actual_start": now - timedelta(minutes=30), "actual_end": now})})
            paths = ["outcome", "schedule.actual_start", "schedule.actual_end"]
            self._jira("PUT", f"issue/{key}", {"fields": self.forms.encode_fields(change, paths)})  # type: ignore[attr-defined]
            self.transition(key, status(State.IMPLEMENTED))
        elif target == State.CLOSED:
            change = change.model_copy(update={"close_notes": "Done and verified."})
            self._jira("PUT", f"issue/{key}", {"fields": self.forms.encode_fields(change, ["close_notes"])})  # type: ignore[attr-defined]
            self.set_stage(key, State.CLOSED)
        else:
            self.transition(key, status(target))
        return change

    def move_in_servicenow(self, sys_id: str, target: State) -> None:
        """One form save: the new state with what the form asks for at that step (the instance fills times)."""
        body = {"state": SERVICENOW_MOVES[target]}
        if target == State.IMPLEMENTED:
            body["close_code"] = "successful"
        if target == State.CLOSED:
            body["close_notes"] = "Done and verified."
        r = self.sn_session.patch(f"{self.sn.base_url}/api/now/table/change_request/{sys_id}", json=body, timeout=10)
        self.sn_requests += 1
        r.raise_for_status()

    def jira_shows(self, key: str, target: State) -> bool:
        """Jira's status and Change stage say ``target`` (one light read, as the person)."""
        stage_fields = list(self.forms.record_config.state_fields)  # type: ignore[attr-defined]
        r = self.jira_session.get(f"{self.api}/issue/{key}", params={"fields": ",".join(["status", *stage_fields])},
                                  timeout=10)
        fields = r.json()["fields"]
        values = {"status": fields["status"]["name"]}
        for f in stage_fields:
            values[f] = (fields.get(f) or {}).get("value")
        return self.forms.mapping.state_for(values) == target

    def servicenow_shows(self, sys_id: str, target: State) -> bool:
        record = self.sn.get_record("change_request", sys_id) or {}
        return self.daemon.adapters["servicenow"].mapping.state_for(record) == target


# -- measuring -----------------------------------------------------------------------------------------
@dataclass
class Move:
    change: str
    target: State
    made_in: str
    latency: float
    calls: Counter[tuple[str, str]]
    logged: Counter[str]


def snapshot(daemon: Daemon, jira: JiraEmulator, sn: ServiceNowEmulator,
             person: Person) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """chgsync's calls so far: its adapters' counters, and the emulators' logs less the person's requests."""
    counted: Counter[tuple[str, str]] = Counter()
    for system in SYSTEMS:
        for op, n in daemon.adapters[system].calls.items():
            counted[(system, op)] += n
    logged: Counter[str] = Counter()
    logged["jira"] = sum(1 for r in jira.requests if r.user == jira.user)
    logged["servicenow"] = len(sn.requests) - person.sn_requests
    return counted, logged


def quiet(daemon: Daemon, jira: JiraEmulator, sn: ServiceNowEmulator, timeout: float = 60.0) -> None:
    """Wait until every webhook is delivered and the inbox and outbox have nothing left (bounded)."""
    def settled() -> bool:
        before = len(jira.webhooks.records) + len(sn.webhooks.records)
        if not (jira.webhooks.wait_idle(0) and sn.webhooks.wait_idle(0)):
            return False
        inbox, outbox = daemon.store.inbox_counts(), daemon.store.outbox_counts()
        if any(c.get(s) for c in (inbox, outbox) for s in ("pending", "claimed")):
            return False
        return jira.webhooks.wait_idle(0) and sn.webhooks.wait_idle(0) and \
            len(jira.webhooks.records) + len(sn.webhooks.records) == before
    wait_until("the daemon going quiet", settled, timeout, every=0.02)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def run(moves: int, url: str, servicenow_share: float, seed: int, worker_interval: str,
        poll_interval: str) -> list[Move]:
    rng = random.Random(seed)
    with JiraEmulator(seed={"users": [PERSON]}) as jira, ServiceNowEmulator() as sn, \
            tempfile.TemporaryDirectory(prefix="chgsync-bench-") as tmp:
        (Path(tmp) / "policy.yaml").write_text(yaml.safe_dump(POLICY))
        config = DaemonConfig.model_validate({
            "store": url, "listen": {"host": "127.0.0.1", "port": 0}, "policy": Path(tmp) / "policy.yaml",
            "worker_interval": worker_interval, "poll_interval": poll_interval,
            "adapters": {
                "jira": {"url": jira.base_url, "user": jira.user, "token_env": "JIRA_TOKEN",
                         "webhook_secret_env": "WEBHOOK_SECRET"},
                "servicenow": {"url": sn.base_url, "user": sn.user, "password_env": "SN_PASSWORD",
                               "webhook_secret_env": "WEBHOOK_SECRET"},
            },
        })
        daemon = Daemon(config, environ={"JIRA_TOKEN": jira.secret, "SN_PASSWORD": sn.secret,
                                         "WEBHOOK_SECRET": SECRET})
        daemon.start()
        try:
            jira.webhooks.subscribe(f"{daemon.url}/webhooks/jira", secret=SECRET)
            sn.webhooks.subscribe(f"{daemon.url}/webhooks/servicenow", secret=SECRET)
            person = Person(jira, sn, daemon)
            count = math.ceil(moves / len(WALK))
            drafts: dict[str, Change] = {}
            for i in range(count):
                change = sample_change(ChangeType.NORMAL, id=f"DRAFT-{i}", title=f"Upgrade orders-db-{i:03d}")
                change = change.model_copy(update={"implementation": change.implementation.model_copy(
                    update={"systems": [f"orders-db-{i:03d}"]})})
                drafts[person.create(change)] = change
            sys_ids: dict[str, str] = {}

            def adopted() -> bool:
                with daemon.store.begin() as conn:
                    links = [daemon.store.links_for(conn, c.id) for c in daemon.store.list_changes(conn)]
                for link in links:
                    if "jira" in link and "servicenow" in link:
                        sys_ids[link["jira"]["remote_key"]] = link["servicenow"]["remote_id"]
                return len(sys_ids) == count
            wait_until("adoption of every change", adopted, 120, every=0.2)
            quiet(daemon, jira, sn)
            in_servicenow = set(rng.sample(sorted(drafts), round(count * servicenow_share)))
            steps = {key: 0 for key in drafts}
            done: list[Move] = []
            while len(done) < moves:
                key = rng.choice(sorted(k for k, s in steps.items() if s < len(WALK)))
                target = WALK[steps[key]]
                made_in = "servicenow" if key in in_servicenow and target in SERVICENOW_MOVES else "jira"
                calls_before, logged_before = snapshot(daemon, jira, sn, person)
                if made_in == "jira":
                    drafts[key] = person.move_in_jira(key, drafts[key], target)
                    made = time.monotonic()
                    wait_until(f"{key} {target} in ServiceNow",
                               lambda: person.servicenow_shows(sys_ids[key], target), 30)  # noqa: B023
                else:
                    person.move_in_servicenow(sys_ids[key], target)
                    made = time.monotonic()
                    wait_until(f"{key} {target} in Jira", lambda: person.jira_shows(key, target), 30)  # noqa: B023
                latency = time.monotonic() - made
                quiet(daemon, jira, sn)
                calls_after, logged_after = snapshot(daemon, jira, sn, person)
                done.append(Move(key, target, made_in, latency, calls_after - calls_before,
                                 logged_after - logged_before))
                steps[key] += 1
            return done
        except TimeoutError:
            stuck = [i for i in daemon.store.list_outbox(limit=10_000) if i.status != "done"]
            print(f"outbox not done: {stuck[:5]}\ninbox: {daemon.store.inbox_counts()}", file=sys.stderr)
            print(f"last audit entries: {daemon.store.audit_trail()[-5:]}", file=sys.stderr)
            raise
        finally:
            daemon.stop()


def report(moves: list[Move], url: str, elapsed: float) -> None:
    store = url.split("://", 1)[0].split("+", 1)[0]
    print(f"store {store}; {len(moves)} moves ({sum(m.made_in == 'jira' for m in moves)} made in Jira, "
          f"{sum(m.made_in == 'servicenow' for m in moves)} in ServiceNow), one at a time; {elapsed:.0f} s")
    print()
    print("latency, person's move → the other tool shows it (ms)")
    print(f"  {'moves':<30}{'n':>5}{'mean':>8}{'median':>8}{'p95':>8}{'max':>8}")
    groups = [("all", moves), ("Jira → ServiceNow", [m for m in moves if m.made_in == "jira"]),
              ("ServiceNow → Jira", [m for m in moves if m.made_in == "servicenow"])]
    for label, group in groups:
        if not group:
            continue
        ms = [m.latency * 1000 for m in group]
        print(f"  {label:<30}{len(ms):>5}{statistics.fmean(ms):>8.0f}{statistics.median(ms):>8.0f}"
              f"{percentile(ms, 95):>8.0f}{max(ms):>8.0f}")
    print()
    print("API calls chgsync made per move (mean)")
    print(f"  {'moves':<30}{'n':>5}{'jira':>8}{'sn':>8}{'total':>8}   {'jira, sn (emulator logs)':>24}")
    by_target: dict[str, list[Move]] = defaultdict(list)
    for m in moves:
        by_target[f"{m.target.value} (in {m.made_in})"].append(m)
    for label, group in [("all", moves), *sorted(by_target.items())]:
        per = {s: statistics.fmean(sum(n for (sys_, _), n in m.calls.items() if sys_ == s) for m in group)
               for s in SYSTEMS}
        logged = {s: statistics.fmean(m.logged[s] for m in group) for s in SYSTEMS}
        print(f"  {label:<30}{len(group):>5}{per['jira']:>8.1f}{per['servicenow']:>8.1f}"
              f"{per['jira'] + per['servicenow']:>8.1f}   {logged['jira']:>12.1f}{logged['servicenow']:>12.1f}")
    print()
    print("API calls per move by operation (mean over all moves)")
    ops: Counter[tuple[str, str]] = Counter()
    for m in moves:
        ops.update(m.calls)
    for (system, op), n in sorted(ops.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  {system:<12}{op:<16}{n / len(moves):>6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--moves", type=int, default=120, help="moves to make and measure (default 120)")
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file; postgresql://... gets a "
                        "throw-away schema)")
    parser.add_argument("--servicenow-share", type=float, default=0.25,
                        help="share of changes whose last three moves are made in ServiceNow (default 0.25)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the order of moves")
    parser.add_argument("--worker-interval", default=DaemonConfig.model_fields["worker_interval"].default,
                        help="the daemon's worker_interval (default: its default, PT0.2S)")
    parser.add_argument("--poll-interval", default="PT1H", help="the daemon's poll_interval (default PT1H: off)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with store_url(args.store) as url:
        moves = run(args.moves, url, args.servicenow_share, args.seed, args.worker_interval, args.poll_interval)
    report(moves, url, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
