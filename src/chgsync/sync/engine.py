"""The sync engine: a remote record, re-read from its system, becomes a canonical decision.

For each record: drop it if this version was applied already or it is our own write coming back
(the echo ledger matches value and version, never a time window); otherwise compare it field by
field with the baseline last synced with that system, accept the edits the mapping lets that
system make, and judge a status move with the lifecycle rules. An accepted move propagates to the
other systems; a refused one is reverted where it was made, with a comment listing every
violation. Every decision commits together with its side effects (the outbox) and an audit entry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..adapter import Adapter, RemoteRecord, RemoteRef
from ..announcements import Mark, announce
from ..errors import InputError
from ..lifecycle import State, is_allowed, path
from ..mapping import get_path, set_path
from ..model import Change
from ..plugins import Plugins
from ..store import InboxItem, Store
from ..validation import Guard, Violation
from .views import STATE_KEY, changed_remote_fields, remote_view

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What applying one record did, for logs, metrics and tests."""

    action: str  # unchanged | echo | created | updated | moved | reverted | rejected
    change_id: str | None = None
    violations: list[Violation] = field(default_factory=list)
    accepted_fields: list[str] = field(default_factory=list)


def poll_delivery_id(record: RemoteRecord) -> str:
    return f"poll:{record.ref.id}:{record.version}"


def ref_body(ref: RemoteRef) -> bytes:
    return json.dumps({"system": ref.system, "id": ref.id, "key": ref.key, "url": ref.url}).encode()


class Engine:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], guard: Guard, *,
                 clock: Callable[[], datetime], plugins: Plugins | None = None, actor: str = "chgsync") -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.guard = guard
        self.clock = clock
        self.plugins = plugins
        self.actor = actor

    # -- intake --------------------------------------------------------------------------------------
    def resolve(self, item: InboxItem) -> tuple[RemoteRef, str]:
        """Which record an inbox item points at, and who acted. Raises InputError for a bad webhook."""
        adapter = self.adapters.get(item.system)
        if adapter is None:
            raise InputError(None, f"No adapter named {item.system!r} is configured.")
        if item.source == "webhook":
            event = adapter.parse_webhook(item.headers, item.body)
            return event.ref, event.actor
        data = json.loads(item.body)
        return RemoteRef(item.system, data["id"], data["key"], data.get("url", "")), ""

    # -- decisions -----------------------------------------------------------------------------------
    def apply(self, record: RemoteRecord, *, actor: str = "", source: str = "webhook") -> Outcome:
        system = record.ref.system
        adapter = self.adapters[system]
        view = remote_view(adapter, record.change)
        with self.store.begin() as conn:
            link = self.store.get_link(conn, system, record.ref.id, lock=True)
            if link is not None and link["remote_version"] == record.version:
                return Outcome("unchanged", link["change_id"])
            if self.store.is_echo(conn, system, record.ref.id, record.version, view):
                if link is not None:
                    self.store.link(conn, link["change_id"], record.ref, record.version, view)
                return Outcome("echo", link["change_id"] if link else None)
            if link is None:
                return self._adopt(conn, record, view, actor or record.updated_by, source)
            return self._merge(conn, record, view, link, actor or record.updated_by, source)

    def _others(self, conn: Connection, change_id: str) -> list[Change]:
        states = [s.value for s in self.guard.policy.conflicts.states]
        return [c for c in self.store.list_changes(conn, states) if c.id != change_id]

    def _adopt(self, conn: Connection, record: RemoteRecord, view: dict[str, Any], actor: str,
               source: str) -> Outcome:
        """A record we have no link for: a change created in that system (or our create, half-recorded)."""
        system = record.ref.system
        change = record.change
        existing = self.store.get_change(conn, change.id) if change.id != record.ref.key else None
        if existing is not None:
            # Our own create whose link was not recorded (a crash between the write and the commit).
            self.store.link(conn, change.id, record.ref, record.version, view)
            return Outcome("unchanged", change.id)
        new_id = change.id if change.id != record.ref.key else self.store.next_change_id(conn)
        now = self.clock()
        draft = change.model_copy(update={"id": new_id, "state": State.DRAFT, "history": []})
        outcome = Outcome("created", new_id)
        accepted = draft
        if change.state != State.DRAFT:
            violations = self.guard.check(draft, change.state, now, self._others(conn, new_id))
            if violations:
                outcome = Outcome("reverted", new_id, violations)
            else:
                accepted = draft.moved(change.state, now, by=actor or None)
        self.store.save_change(conn, accepted, None)
        enqueue_announcements(self.store, conn, None, accepted, now)
        # The baseline is what the record held before: a revert then shows as a state to restore.
        self.store.link(conn, new_id, record.ref, record.version, view)
        self.store.audit(conn, new_id, actor or system, "created", {"system": system, "key": record.ref.key,
                                                                   "source": source, "state": accepted.state})
        if self.adapters[system].mapping.field("id") is not None:  # write the assigned ID back
            self._enqueue_sync(conn, accepted, system, ["id"], version=1)
        for other in self.adapters:
            if other != system:
                self.store.enqueue(conn, f"{new_id}:create:{other}", new_id, "create", other, {"origin": system})
        if outcome.violations:
            self._enqueue_revert(conn, accepted, record, outcome.violations, actor, version=1)
        return outcome

    def _merge(self, conn: Connection, record: RemoteRecord, view: dict[str, Any], link: dict[str, Any],
               actor: str, source: str) -> Outcome:
        system = record.ref.system
        adapter = self.adapters[system]
        loaded = self.store.get_change(conn, link["change_id"])
        if loaded is None:
            raise InputError(None, f"Link {system}/{record.ref.id} points at missing change {link['change_id']}.")
        stored, version = loaded
        baseline: dict[str, Any] = link["baseline"] or {}
        edited_remote = changed_remote_fields(view, baseline)
        accepted_paths: list[str] = []
        refused_paths: list[str] = []
        data = stored.model_dump(mode="python", by_alias=True)
        for f in adapter.mapping.fields:
            if f.remote not in edited_remote or f.canonical == "id":
                continue
            if f.owner in ("both", system):
                set_path(data, f.canonical, _dump(get_path(record.change, f.canonical)))
                accepted_paths.append(f.canonical)
            else:
                refused_paths.append(f.canonical)
        candidate = Change.model_validate(data) if accepted_paths else stored
        outcome = Outcome("updated" if accepted_paths else "unchanged", stored.id, accepted_fields=accepted_paths)
        now = self.clock()
        remote_state = record.change.state
        moved_remotely = baseline.get(STATE_KEY) != remote_state.value and remote_state != stored.state
        new = candidate
        if moved_remotely:
            new, violations = self._walk(conn, candidate, remote_state, now, actor)
            if violations:
                new = candidate
                outcome = Outcome("reverted", stored.id, violations, accepted_paths)
            else:
                outcome = Outcome("moved", stored.id, accepted_fields=accepted_paths)
        new_version = version
        if new != stored:
            new_version = self.store.save_change(conn, new, version)
            enqueue_announcements(self.store, conn, stored, new, now)
            self.store.audit(conn, stored.id, actor or system, outcome.action, {
                "system": system, "fields": accepted_paths, "from": stored.state, "to": new.state,
                "source": source})
            moved = new.state != stored.state
            for other in self.store.links_for(conn, stored.id):
                target = self.adapters.get(other)
                if other == system or target is None:
                    continue
                carried = [p for p in accepted_paths if target.mapping.field(p) is not None]
                if carried or moved:  # nothing that system holds changed: no call at all
                    self._enqueue_sync(conn, new, other, carried, version=new_version, move=moved)
        self.store.link(conn, stored.id, record.ref, record.version, view)
        if outcome.violations and self._enqueue_revert(conn, new, record, outcome.violations, actor,
                                                       version=new_version):
            self.store.audit(conn, stored.id, actor or system, "move_refused", {
                "system": system, "from": stored.state, "to": remote_state,
                "violations": [v.as_dict() for v in outcome.violations]})
        if refused_paths:
            self._enqueue_sync(conn, new, system, refused_paths, version=new_version, suffix="restore")
            self.store.audit(conn, stored.id, actor or system, "fields_restored",
                             {"system": system, "fields": refused_paths})
        if self.plugins is not None and new.state != stored.state:
            for exc in self.plugins.change_transitioned(new, stored.state, now):
                log.warning("lifecycle observer failed for %s: %s", new.id, exc)
        return outcome

    def _walk(self, conn: Connection, change: Change, target: State, now: datetime,
              actor: str) -> tuple[Change, list[Violation]]:
        """Apply a remote move, as several canonical steps when the tool skipped states on its own.

        ServiceNow, for one, moves an approved change from Authorize straight to Scheduled; that is
        CAB Review → Approved → Scheduled here, each step judged by the rules in turn.
        """
        route = [target]
        if not is_allowed(change.type, change.state, target):
            route = path(change.type, change.state, target) or [target]
        others = self._others(conn, change.id)
        current = change
        for step in route:
            violations = self.guard.check(current, step, now, others)
            if violations:
                return change, violations
            current = current.moved(step, now, by=actor or None)
        return current, []

    # -- side effects --------------------------------------------------------------------------------
    def _enqueue_sync(self, conn: Connection, change: Change, target: str, fields: list[str], *, version: int,
                      move: bool = True, suffix: str = "sync") -> None:
        self.store.enqueue(conn, f"{change.id}:v{version}:{target}:{suffix}", change.id, "sync", target,
                           {"fields": sorted(set(fields)), "move": move})

    def _enqueue_revert(self, conn: Connection, change: Change, record: RemoteRecord, violations: list[Violation],
                        actor: str, *, version: int) -> bool:
        """Queue the comment, notice and move back; False if this very revert was queued already.

        The key names the remote version refused, so a second refused move of an unchanged change
        is a new revert while a second sighting of the same move is not.
        """
        ref = record.ref
        # The comment and the notice go first: if the tool's workflow cannot move the record back,
        # the people involved have still been told why.
        key = f"{change.id}:v{version}:{ref.system}@{record.version}:revert"
        text = revert_comment(change, violations, actor)
        if not self.store.enqueue(conn, key + ":comment", change.id, "comment", ref.system, {"text": text}):
            return False
        self.store.enqueue(conn, key + ":notify", change.id, "notify", "stakeholders", {
            "event": "move_reverted", "to": actor, "system": ref.system, "text": text})
        self.store.enqueue(conn, key + ":move", change.id, "sync", ref.system,
                           {"fields": [], "move": True, "revert": True})
        return True


def enqueue_announcements(store: Store, conn: Connection, before: Change | None, after: Change,
                          at: datetime) -> None:
    """Queue, in the caller's transaction, the notices and markers that this move calls for."""
    for item in announce(before, after, at):
        if isinstance(item, Mark):
            if store.enqueue(conn, item.key, after.id, "mark", "sinks",
                             {"phase": item.phase.value, "at": item.at.isoformat(), "outcome": item.outcome}):
                store.record_deployment(conn, after.id, item.phase.value, after.implementation.systems,
                                        after.schedule.environment, item.outcome, item.at)
        else:
            store.enqueue(conn, item.key, after.id, "notify", "stakeholders", item.payload())


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="python", by_alias=True)
    return value


def revert_comment(change: Change, violations: list[Violation], actor: str) -> str:
    who = f"{actor}, this" if actor else "This"
    lines = [f"{who} move was reverted by chgsync: {change.id} stays {change.state.label} because:"]
    lines += [f"- {v.message} ({v.code})" for v in violations]
    return "\n".join(lines)
