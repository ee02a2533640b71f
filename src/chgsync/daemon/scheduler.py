"""The obligation scheduler, and recording validation results and close overrides.

Obligations (:mod:`chgsync.obligations`) live in the store's ``obligations`` table, so they
survive restarts and are shared by replicas. One scheduler step does two things:

* **Reconcile.** For every change that may owe something (Implementing or Implemented, or with an
  obligation still owed), the rows the change and the policy call for are inserted if missing
  (their keys are unique), open rows follow a moved deadline, and rows the change has settled
  (a link set, a result recorded, the change closed) are marked ``met`` or ``cancelled``. An
  Implemented emergency change also gets its retrospective and post-mortem deadlines written on
  it. A change is reconciled again only when its version changes.
* **Fire.** Each open row that is due is claimed with an ``UPDATE ... WHERE status = 'open'``
  whose row count must be one (on PostgreSQL the row is first locked ``FOR UPDATE SKIP LOCKED``),
  and in the same transaction its notification is put in the outbox under a key derived from the
  obligation's key. A crash before the commit leaves the row open; after it, the notification is
  in the outbox exactly once and the relay delivers it. A status update that fires chains the
  next one (the first slot after now, so a daemon that was down sends one catch-up, not a burst).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ChgsyncError
from ..lifecycle import TERMINAL, ChangeType, State
from ..model import Change, CloseOverride, Emergency, ValidationResult, Verdict, point_label
from ..notify import Event
from ..obligations import (
    DONE,
    MET,
    NOTIFIED,
    OPEN,
    OPEN_STATES,
    OWED,
    STATUS_UPDATE,
    Planned,
    deadlines,
    next_status_slot,
    notice,
    plan,
    settle,
)
from ..policy import Policy
from ..schedule import format_local
from ..store import ConcurrentUpdate, Store
from ..store import schema as t

log = logging.getLogger("chgsync.obligations")

ACTOR = "chgsync"


class RecordRefused(ChgsyncError):
    """A validation result or close override that cannot be recorded; the message says why."""


def notify_key(obligation_key: str) -> str:
    """The outbox idempotency key of an obligation's notification: one per obligation, ever."""
    return f"obligation:{obligation_key}"


WINDOW_NOTICE = timedelta(minutes=15)  # how long before a planned start "window opening" is said


class Scheduler:
    """Keeps the obligations table in step with the changes and fires what falls due."""

    def __init__(self, store: Store, policy: Policy, *, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self._seen: dict[str, int] = {}  # change id → version last reconciled by this process

    def run_once(self, limit: int = 50) -> int:
        """One scheduler step: reconcile, then fire what is due. Returns how many rows it acted on."""
        return self.reconcile() + self.fire_due(limit) + self.announce_windows()

    def announce_windows(self) -> int:
        """Say "window opening" once, ``WINDOW_NOTICE`` before a Scheduled change's planned start."""
        now = self.clock()
        queued = 0
        with self.store.begin() as conn:
            for change in self.store.list_changes(conn, [State.SCHEDULED.value]):
                start = change.schedule.planned_start
                if start is None or not (start - WINDOW_NOTICE <= now < start):
                    continue
                minutes = max(1, round((start - now).total_seconds() / 60))
                text = (f"Change {change.id} ({change.title}) starts in {minutes} min, at "
                        f"{format_local(start, self.policy.zone)}. Systems: "
                        f"{', '.join(change.implementation.systems) or 'none listed'}.")
                if self.store.enqueue(conn, f"{change.id}:event:window_opening:{start.isoformat()}", change.id,
                                      "notify", "stakeholders", {"event": Event.WINDOW_OPENING.value, "text": text,
                                                                 "to": change.implementer or ""}):
                    queued += 1
        return queued

    # -- reconcile -------------------------------------------------------------------------------------
    def reconcile(self) -> int:
        c, o = t.changes, t.obligations
        owed = select(o.c.change_id).where(o.c.status.in_(OWED))
        q = select(c.c.id, c.c.version).where(or_(c.c.state.in_([s.value for s in OPEN_STATES]), c.c.id.in_(owed)))
        with self.store.begin() as conn:
            rows = [(r.id, r.version) for r in conn.execute(q)]
        self._seen = {k: v for k, v in self._seen.items() if k in {r[0] for r in rows}}
        acted = 0
        for change_id, version in rows:
            if self._seen.get(change_id) == version:
                continue
            try:
                with self.store.begin() as conn:
                    n, version = self._reconcile_change(conn, change_id)
            except ConcurrentUpdate:
                continue  # someone saved the change meanwhile: the next step sees the new version
            self._seen[change_id] = version
            acted += n
        return acted

    def _reconcile_change(self, conn: Connection, change_id: str) -> tuple[int, int]:
        loaded = self.store.get_change(conn, change_id)
        if loaded is None:
            return self._settle_rows(conn, change_id, None), 0
        change, version = loaded
        acted = 0
        change, version, due_set = self._write_deadlines(conn, change, version)
        added = [p for p in plan(change, self.policy) if self._ensure(conn, p)]
        if added or due_set:
            self.store.audit(conn, change.id, ACTOR, "obligations_recorded", {
                "obligations": [{"kind": p.kind, "due": p.due_at.isoformat()} for p in added],
                "deadlines": {k: v.isoformat() for k, v in due_set.items()}})
            acted += len(added) + len(due_set)
        acted += self._settle_rows(conn, change.id, change)
        return acted, version

    def _write_deadlines(self, conn: Connection, change: Change,
                         version: int) -> tuple[Change, int, dict[str, datetime]]:
        """Write the retrospective and post-mortem deadlines on an Implemented emergency change that lacks them."""
        if change.type != ChangeType.EMERGENCY or change.state in TERMINAL:
            return change, version, {}
        e = change.emergency or Emergency.model_validate({})
        missing = {duty: due for duty, due in deadlines(change, self.policy).items()
                   if getattr(e, f"{duty}_due") is None}
        if not missing:
            return change, version, {}
        updated = e.model_copy(update={f"{duty}_due": due for duty, due in missing.items()})
        change = change.model_copy(update={"emergency": updated})
        return change, self.store.save_change(conn, change, version), missing

    def _ensure(self, conn: Connection, p: Planned) -> bool:
        """Insert a planned obligation; when it exists and is still open, follow a moved due time."""
        o = t.obligations
        now = self.clock()
        due = p.due_at.astimezone(UTC)  # stored in UTC: SQLite compares the text
        row = conn.execute(select(o.c.id, o.c.status, o.c.due_at).where(o.c.key == p.key)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(o).values(key=p.key, change_id=p.change_id, kind=p.kind, due_at=due,
                                                  status=OPEN, detail=p.detail, updated_at=now))
            except IntegrityError:
                return False  # another replica inserted it at the same moment
            return True
        if row.status == OPEN and _aware(row.due_at) != due:
            conn.execute(update(o).where(o.c.id == row.id, o.c.status == OPEN)
                         .values(due_at=due, detail=p.detail, updated_at=now))
        return False

    def _settle_rows(self, conn: Connection, change_id: str, change: Change | None) -> int:
        o = t.obligations
        rows = conn.execute(select(o.c.id, o.c.kind, o.c.detail, o.c.status)
                            .where(o.c.change_id == change_id, o.c.status.in_(OWED))).all()
        settled = 0
        for row in rows:
            status = settle(change, row.kind, dict(row.detail or {}))
            if status is None:
                continue
            settled += conn.execute(update(o).where(o.c.id == row.id, o.c.status == row.status)
                                    .values(status=status, updated_at=self.clock())).rowcount
        return settled

    # -- fire ------------------------------------------------------------------------------------------
    def fire_due(self, limit: int = 50) -> int:
        o = t.obligations
        now = self.clock().astimezone(UTC)
        with self.store.begin() as conn:
            ids = list(conn.execute(select(o.c.id).where(o.c.status == OPEN, o.c.due_at <= now)
                                    .order_by(o.c.due_at, o.c.id).limit(limit)).scalars())
        return sum(self._fire(row_id, now) for row_id in ids)

    def _fire(self, row_id: int, now: datetime) -> int:
        o = t.obligations
        q = select(o).where(o.c.id == row_id, o.c.status == OPEN, o.c.due_at <= now)
        if self.store.is_postgres:
            q = q.with_for_update(skip_locked=True)
        with self.store.begin() as conn:
            row = conn.execute(q).first()
            if row is None:
                return 0  # fired, settled or locked by another replica meanwhile
            loaded = self.store.get_change(conn, row.change_id)
            change = loaded[0] if loaded is not None else None
            detail = dict(row.detail or {})
            settled = settle(change, row.kind, detail)
            status = settled or (DONE if row.kind == STATUS_UPDATE else NOTIFIED)
            claimed = conn.execute(update(o).where(o.c.id == row_id, o.c.status == OPEN)
                                   .values(status=status, updated_at=now)).rowcount
            if claimed != 1 or settled is not None or change is None:
                return claimed
            due_at = _aware(row.due_at) or now
            payload = {**notice(change, row.kind, detail, due_at, self.policy), "obligation": row.key}
            self.store.enqueue(conn, notify_key(row.key), change.id, "notify", "stakeholders", payload)
            self.store.audit(conn, change.id, ACTOR, "obligation_notified",
                             {"obligation": row.key, "kind": row.kind, "due": due_at.isoformat(),
                              "to": payload.get("to", "")})
            if row.kind == STATUS_UPDATE and (following := next_status_slot(change, self.policy, now)) is not None:
                self._ensure(conn, following)
            log.info("%s: %s notified", change.id, row.kind,
                     extra={"change_id": change.id, "action": "obligation_notified"})
            return 1


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# -- recording results and overrides (the CLI, and the demo) ----------------------------------------------
def parse_point(text: str) -> timedelta:
    """``0h``, ``24h``, ``7d``, ``90m``, ``1w`` or an ISO 8601 duration (``P7D``) as a timedelta."""
    import re

    from pydantic import TypeAdapter, ValidationError

    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text.lower())
    if m:
        size = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return timedelta(seconds=int(m.group(1)) * size)
    try:
        return TypeAdapter(timedelta).validate_python(text.strip())
    except ValidationError:
        raise RecordRefused(f"'{text}' is not a validation point; write it like 0h, 24h or 7d.") from None


def _load(conn: Connection, store: Store, change_id: str) -> tuple[Change, int]:
    loaded = store.get_change(conn, change_id)
    if loaded is None:
        raise RecordRefused(f"There is no change {change_id} in the store.")
    return loaded


def record_validation(store: Store, policy: Policy, change_id: str, point: timedelta, result: Verdict, *,
                      by: str, at: datetime, note: str | None = None) -> Change:
    """Record one validation result on the change, settle its obligation, and tell the tools.

    Refused, with the reason, for a point the policy does not have, a change not yet Implemented
    or already ended, and a result made before its point was due (a 7-day check made on day one
    checks nothing). The result is commented on every linked record, and a failure is notified.
    """
    label = point_label(point)
    if point not in policy.validation_points:
        known = ", ".join(point_label(p) for p in policy.validation_points) or "none"
        raise RecordRefused(f"{label} is not one of the policy's validation points ({known}).")
    with store.begin() as conn:
        change, version = _load(conn, store, change_id)
        implemented = change.entered(State.IMPLEMENTED)
        if change.state in TERMINAL:
            raise RecordRefused(f"{change_id} is {change.state.label}; its validation can no longer be recorded.")
        if change.state != State.IMPLEMENTED or implemented is None:
            raise RecordRefused(f"{change_id} is {change.state.label}; validation starts once it is Implemented.")
        due = implemented + point
        if at < due:
            raise RecordRefused(f"The {label} validation of {change_id} is due {format_local(due, policy.zone)}; "
                                "it cannot be recorded before then.")
        entry = ValidationResult(point=point, result=result, by=by, at=at, note=note)
        n = len(change.validations) + 1
        change = change.model_copy(update={"validations": [*change.validations, entry]})
        store.save_change(conn, change, version)
        store.audit(conn, change_id, by, "validation_recorded",
                    {"point": label, "result": result.value, "at": at.isoformat(), "note": note or ""})
        o = t.obligations
        conn.execute(update(o).where(o.c.key == f"{change_id}:validation:{label}", o.c.status.in_(OWED))
                     .values(status=MET, updated_at=store.clock()))
        text = f"{label} validation: {result.value}, checked by {by}" + (f": {note}" if note else ".")
        for system in store.links_for(conn, change_id):
            store.enqueue(conn, f"{change_id}:validation:{n}:{system}:comment", change_id, "comment", system,
                          {"text": text})
        if result == Verdict.FAIL:
            store.enqueue(conn, f"{change_id}:validation:{n}:notify", change_id, "notify", "stakeholders", {
                "event": "validation_failed", "to": change.implementer or change.requester or "",
                "text": f"The {label} validation of {change_id} ({change.title}) failed, checked by {by}"
                        + (f": {note}" if note else ".")})
    return change


def record_close_override(store: Store, change_id: str, *, by: str, reason: str, at: datetime) -> Change:
    """Let a change close as successful without every validation point passed: who decided, and why."""
    with store.begin() as conn:
        change, version = _load(conn, store, change_id)
        if change.state in TERMINAL:
            raise RecordRefused(f"{change_id} is {change.state.label} already; an override changes nothing.")
        change = change.model_copy(update={"close_override": CloseOverride(by=by, reason=reason, at=at)})
        store.save_change(conn, change, version)
        store.audit(conn, change_id, by, "close_override", {"reason": reason, "at": at.isoformat()})
        for system in store.links_for(conn, change_id):
            store.enqueue(conn, f"{change_id}:close_override:v{version + 1}:{system}:comment", change_id, "comment",
                          system, {"text": f"Close override by {by}: {reason}"})
    return change


def list_obligations(store: Store, change_id: str | None = None) -> list[dict[str, Any]]:
    """A change's obligation rows, or every row still owed; soonest due first (for the CLI and tests)."""
    o = t.obligations
    q = select(o).order_by(o.c.due_at, o.c.id)
    q = q.where(o.c.change_id == change_id) if change_id is not None else q.where(o.c.status.in_(OWED))
    with store.begin() as conn:
        rows = conn.execute(q).all()
    return [{**dict(r._mapping), "due_at": _aware(r.due_at), "updated_at": _aware(r.updated_at)} for r in rows]
