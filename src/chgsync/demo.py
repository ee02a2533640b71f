"""``chgsync demo``: the whole installation on one machine, acted out the way people use it.

Both emulators, an SQLite store and the daemon run in this process. A normal change is planned in
Jira, approved by the CAB, illegally rushed and reverted, scheduled into a window, implemented from
ServiceNow, validated at 0 h, 24 h and 7 days (closing before the last check is refused) and
closed; an emergency change is authorised and implemented straight away, reminded of its
retrospective, and closed with an override once the checks that matter passed. The daemon's clock
is simulated so that days pass in seconds; every decision is printed as it happens.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .daemon.scheduler import parse_point, record_close_override, record_validation
from .files import load_model
from .lifecycle import ChangeType
from .model import Approval, Change, Checklist, Decision, Outcome, Verdict
from .plugins import Plugins
from .schedule import format_local
from .testing.samples import sample_change
from .testing.world import SimClock, World

_HERE = Path(__file__).resolve().parent
EXAMPLES = _HERE / "_examples" if (_HERE / "_examples").is_dir() else _HERE.parents[1] / "examples"
START = datetime.fromisoformat("2026-11-30T09:00:00+00:00")  # Monday, after the Black Friday freeze

Say = Callable[[str], None]


class Timeline:
    """Prints what the daemon decided and did since the last call, from its audit trail and outbox."""

    def __init__(self, world: World, say: Say) -> None:
        self.world = world
        self.say = say
        self.seen_audit = 0
        self.seen_outbox = 0

    def when(self) -> str:
        return format_local(self.world.clock(), self.world.daemon.guard.policy.zone)

    def person(self, who: str, where: str, what: str) -> None:
        self.say(f"{self.when()}  {who} ({where}): {what}")

    def later(self, **delta: float) -> None:
        """Move the clock on and show what fell due meanwhile."""
        self.world.clock.advance(**delta)
        self.say(f"{self.when()}  ...")
        self.flush()

    def flush(self) -> None:
        self.world.settle()
        store = self.world.daemon.store
        for entry in store.audit_trail():
            if entry["id"] <= self.seen_audit:
                continue
            self.seen_audit = entry["id"]
            if line := describe(entry):
                self.say(f"{'':24}chgsync: {line}")
        for item in store.list_outbox("done", limit=10_000):
            if item.id <= self.seen_outbox:
                continue
            self.seen_outbox = item.id
            line = effect(item.kind, item.target, item.payload, self.world)
            if line:
                self.say(f"{'':24}  → {line}")


def describe(entry: dict[str, Any]) -> str:
    d = entry["detail"]
    cid = entry["change_id"]
    action = entry["action"]
    if action == "created":
        return f"adopted {d['system']} {d['key']} as {cid} ({d['state']})"
    if action == "moved":
        return f"{cid} {d['from']} → {d['to']}, moved in {d['system']} by {entry['actor']}: allowed"
    if action == "updated":
        return f"{cid} edited in {d['system']}: {', '.join(d['fields'])}"
    if action == "move_refused":
        return (f"{cid} {d['from']} → {d['to']} in {d['system']} REFUSED: "
                + "; ".join(v["code"] for v in d["violations"]))
    if action == "reverted" and d.get("fields"):
        return f"{cid} edited in {d['system']}: {', '.join(d['fields'])}"
    if action == "fields_restored":
        return f"{cid}: {d['system']} may not edit {', '.join(d['fields'])}; restored"
    if action == "obligations_recorded":
        words = {"retrospective": "a retrospective", "postmortem": "a post-mortem"}
        owed = [f"{words.get(duty, duty)} by {when[:16].replace('T', ' ')} UTC" for duty, when in d["deadlines"].items()]
        checks = sum(1 for o in d["obligations"] if o["kind"] == "validation")
        owed += [f"{checks} validation checks"] if checks else []
        owed += ["status updates every 30 min"] if any(o["kind"] == "status_update" for o in d["obligations"]) else []
        return f"{cid} now owes {', '.join(owed)}" if owed else ""
    if action == "validation_recorded":
        return f"{cid}: {d['point']} validation recorded as {d['result']} by {entry['actor']}"
    if action == "close_override":
        return f"{cid}: close override by {entry['actor']}: {d['reason']}"
    if action == "obligation_notified":
        return ""  # the notice itself is printed from the outbox
    return f"{cid} {action} {d}"


def effect(kind: str, target: str, payload: dict[str, Any], world: World) -> str:
    if kind == "create":
        return f"created in {target}"
    if kind == "sync":
        mapping = world.daemon.adapters[target].mapping
        written = [f for f in payload.get("fields", []) if mapping.field(f) is not None]
        if payload.get("revert"):
            return f"{target}: moved it back"
        parts = [f"wrote {', '.join(written)}"] if written else []
        if payload.get("move"):
            parts.append("status brought in line")
        return f"{target}: {'; '.join(parts)}" if parts else ""
    if kind == "comment":
        first, *rest = str(payload["text"]).splitlines()
        return f"{target}: commented \"{first}\"" + "".join(f"\n{'':28}{line}" for line in rest)
    if kind == "link":
        return f"{target}: linked to {payload['other']['system']} {payload['other']['key']}"
    if kind == "notify" and payload.get("obligation"):
        return f"notice to {payload.get('to') or 'the team channel'}: {payload['text']}"
    return ""


def validated(world: World, t: Timeline, who: str, email: str, key: str, point: str, note: str) -> None:
    """A person records a passing check with ``chgsync validate-point`` (the same call, made in-process)."""
    change_id = change_id_of(world, key)
    t.person(who, "chgsync CLI", f"validate-point {change_id} --point {point} --result pass --note \"{note}\"")
    record_validation(world.daemon.store, world.daemon.guard.policy, change_id, parse_point(point), Verdict.PASS,
                      by=email, at=world.clock(), note=note)
    t.flush()


def approvals(change: Change, at: datetime, roles: list[str]) -> Change:
    people = {"technical_lead": "tara@example.com", "change_manager": "cam@example.com",
              "business_representative": "bea@example.com", "security": "sec@example.com"}
    rows = [Approval(role=r, approver=people.get(r, f"{r}@example.com"), decision=Decision.APPROVE,
                     reason="Plan and rollback reviewed.", at=at) for r in roles]
    return change.model_copy(update={"cab": change.cab.model_copy(update={"approvals": rows})})


def normal_story(world: World, t: Timeline) -> str:
    example = load_model(EXAMPLES / "normal.yaml", Change)
    change = example.model_copy(update={"checklist": Checklist()})
    t.person("Dana", "Jira", f"plans '{change.title}' in the CHG project")
    key = world.person_creates_in_jira(change)
    t.flush()
    t.person("Dana", "Jira", "submits it for review")
    world.person_transitions_jira(key, "Peer review")
    world.person_transitions_jira(key, "Awaiting CAB approval")
    t.flush()
    world.clock.advance(hours=2)
    t.person("Sam", "Jira", "is in a hurry and moves it to Awaiting implementation without the CAB")
    world.person_transitions_jira(key, "Awaiting implementation")
    t.flush()
    world.clock.advance(days=1)
    roles = world.daemon.guard.policy.cab.roles_for(change.type, change.overall_risk)
    change = approvals(change, world.clock(), roles)
    t.person("Cam", "Jira", f"records the CAB's decisions: {', '.join(roles)} approve")
    world.person_edits_jira_change(key, change, ["cab.approvals"])
    t.flush()
    t.person("Cam", "Jira", "approves the change")
    world.person_transitions_jira(key, "Awaiting implementation")
    t.flush()
    t.person("Cam", "Jira", "books it into Tuesday's window (Change stage: Scheduled)")
    world.person_edits_jira(key, {"customfield_10054": {"value": "Scheduled"}})
    t.flush()
    world.clock.set(change.schedule.planned_start - timedelta(hours=1))  # type: ignore[operator]
    change = change.model_copy(update={"checklist": Checklist(**{k: True for k in Checklist.model_fields})})
    t.person("Sam", "Jira", "ticks the pre-implementation checklist")
    world.person_edits_jira_change(key, change, ["checklist"])
    t.flush()
    with world.daemon.store.begin() as conn:
        sys_id = world.daemon.store.links_for(conn, change_id_of(world, key))["servicenow"]["remote_id"]
    world.clock.set(change.schedule.planned_start + timedelta(minutes=2))  # type: ignore[operator]
    t.person("Sam", "ServiceNow", "starts the work: state Implement")
    world.person_updates_servicenow(sys_id, {"state": "-1"})
    t.flush()
    world.clock.advance(minutes=55)
    t.person("Sam", "ServiceNow", "finishes: state Review, close code successful")
    world.person_updates_servicenow(sys_id, {"state": "0", "close_code": "successful",
                                             "close_notes": "Upgraded; replication lag under 1 s."})
    t.flush()
    validated(world, t, "Sam", "sam@example.com", key, "0h", "Checkout smoke test green.")
    t.later(days=1)
    validated(world, t, "Cam", "cam@example.com", key, "24h", "A day of orders, replication lag under 1 s.")
    t.person("Cam", "Jira", "closes the change")
    world.person_edits_jira(key, {"customfield_10071": "Validated at 0 h and 24 h: checkout healthy."})
    world.person_edits_jira(key, {"customfield_10054": {"value": "Closed"}})
    t.flush()
    t.later(days=6)
    validated(world, t, "Cam", "cam@example.com", key, "7d", "A week of orders without incident.")
    t.person("Cam", "Jira", "closes the change")
    world.person_edits_jira(key, {"customfield_10071": "Validated at 0 h, 24 h and 7 days: checkout healthy."})
    world.person_edits_jira(key, {"customfield_10054": {"value": "Closed"}})
    t.flush()
    return key


def emergency_story(world: World, t: Timeline) -> str:
    world.clock.advance(days=1, hours=5)
    change = sample_change(ChangeType.EMERGENCY, id="CHG-E", title="Roll back payments-api 4.2.0",
                           start=world.clock())
    change = approvals(change, world.clock(), []).model_copy(update={"cab": change.cab.model_copy(update={
        "approvals": [Approval(role="designated_authority", approver="priya@example.com",
                               decision=Decision.APPROVE, reason="Card payments failing.", at=world.clock())]})})
    t.person("Priya", "Jira", "raises an emergency change: card payments failing, she authorises it")
    key = world.person_creates_in_jira(change)
    t.flush()
    t.person("Omar (on call)", "Jira", "starts the rollback straight away (the pre-approved path)")
    world.person_transitions_jira(key, "Awaiting implementation")
    world.person_transitions_jira(key, "Implementing")
    t.flush()
    world.clock.advance(minutes=25)
    done = change.model_copy(update={"outcome": Outcome.SUCCESSFUL, "schedule": change.schedule.model_copy(
        update={"actual_start": world.clock() - timedelta(minutes=25), "actual_end": world.clock()})})
    t.person("Omar (on call)", "Jira", "rollback done; payments recovered")
    world.person_edits_jira_change(key, done, ["outcome", "schedule.actual_start", "schedule.actual_end"])
    world.person_transitions_jira(key, "Completed")
    t.flush()
    validated(world, t, "Omar (on call)", "omar@example.com", key, "0h", "Card payments succeed again.")
    t.later(hours=23)
    t.later(hours=2)
    world.clock.advance(hours=5)
    validated(world, t, "Priya", "priya@example.com", key, "24h", "A day without payment errors.")
    change_id = change_id_of(world, key)
    reason = "Rolled back to the last good release; the 7-day check adds nothing."
    t.person("Priya", "chgsync CLI", f"close-override {change_id} --reason \"{reason}\"")
    record_close_override(world.daemon.store, change_id, by="priya@example.com", reason=reason, at=world.clock())
    t.flush()
    t.person("Priya", "Jira", "links the retrospective and the post-mortem, and closes it")
    done = done.model_copy(update={"close_notes": "Rolled back to 4.1.3.", "emergency": done.emergency.model_copy(
        update={"retrospective_link": "https://jira.example.com/browse/RETRO-7",
                "postmortem_link": "https://wiki.example.com/postmortems/7"})})  # type: ignore[union-attr]
    world.person_edits_jira_change(key, done, ["close_notes", "emergency.retrospective_link",
                                               "emergency.postmortem_link"])
    world.person_edits_jira(key, {"customfield_10054": {"value": "Closed"}})
    t.flush()
    return key


def change_id_of(world: World, key: str) -> str:
    return world.jira_issue(key)["fields"][world.daemon.adapters["jira"].mapping.field("id").remote]  # type: ignore[union-attr]


def run(say: Say = print, *, keep_running: bool = False, directory: Path | None = None,
        plugins: Plugins | None = None, wait: Callable[[], None] | None = None) -> list[Change]:
    from .plugins import get_plugins

    plugins = plugins or get_plugins()
    tmp = tempfile.TemporaryDirectory(prefix="chgsync-demo-") if directory is None else None
    where = Path(tmp.name) if tmp is not None else directory
    assert where is not None
    try:
        clock = SimClock(START)
        with World.running(f"sqlite:///{where / 'chgsync.sqlite'}", plugins, clock,
                           policy=EXAMPLES / "policy.yaml") as world:
            say(f"Jira emulator {world.jira.base_url} · ServiceNow emulator {world.servicenow.base_url} · "
                f"daemon {world.daemon.url} · store {where / 'chgsync.sqlite'}")
            say(f"Policy {EXAMPLES / 'policy.yaml'}: CAB by risk, 5 business days' notice, production "
                "windows Tue/Thu 02:00–04:00 Europe/London.\n")
            t = Timeline(world, say)
            say("— A normal change —")
            normal_story(world, t)
            say("\n— An emergency change —")
            emergency_story(world, t)
            with world.daemon.store.begin() as conn:
                changes = world.daemon.store.list_changes(conn)
            say("")
            for c in changes:
                say(f"{c.id} {c.type.value:<9} {c.state.label:<12} " + " → ".join(h.to_state.label for h in c.history))
            if keep_running:
                say(f"\nStill running. Jira {world.jira.base_url} (user {world.jira.user}, token {world.jira.secret})")
                say(f"ServiceNow {world.servicenow.base_url} (user {world.servicenow.user}, password "
                    f"{world.servicenow.secret}); daemon {world.daemon.url}. Ctrl+C to stop.")
                world.daemon.start()  # the worker loops, as `chgsync daemon` runs them
                (wait or threading.Event().wait)()
            return changes
    finally:
        if tmp is not None:
            tmp.cleanup()
