"""The Store: every read and write the daemon makes to its database.

Methods that must commit together (a change, its audit entry and the outbox rows for its side
effects) take a connection from :meth:`Store.begin`, so the caller decides the transaction.
Claims on the inbox and outbox use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas share
the work without waiting on each other; SQLite serialises writers with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, event, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ..adapter import RemoteRef
from ..errors import ChgsyncError
from ..model import Change
from . import schema as t

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConcurrentUpdate(ChgsyncError):
    """Someone else saved the change first; re-read it and apply again."""


class SchemaMismatch(ChgsyncError):
    """The database schema is not the one this version of chgsync expects."""


class LeaseLost(ChgsyncError):
    """Another replica holds the lease now: a write fenced by an older generation must not happen."""


@dataclass(frozen=True)
class Fence:
    """A lease as one holder got it: writes made under it check that it is still the current generation.

    A replica can lose its lease without knowing it (paused, partitioned, slower than its lease);
    by then another replica may hold the next generation. Time alone cannot tell them apart, the
    generation can: a fenced write commits only while the lease row still names this holder at
    this generation.
    """

    name: str
    holder: str
    generation: int


@dataclass(frozen=True)
class InboxItem:
    id: int
    system: str
    delivery_id: str
    source: str
    headers: dict[str, str]
    body: bytes
    attempts: int
    received_at: datetime


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    change_id: str
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int
    status: str
    last_error: str | None
    created_at: datetime


# Obligation statuses still owed (chgsync.obligations.OWED): not fired yet, or fired and not yet met.
# Counted as due, or overdue once past due_at, by the /metrics gauges.
OWED_OBLIGATIONS = ("open", "notified")
LEASE_RELEASED = datetime(1970, 1, 1, tzinfo=UTC)  # a released lease ran out long ago, on every clock


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def digest(values: Any) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def default_url(directory: Path | None = None) -> str:
    return f"sqlite:///{(directory or Path.cwd()) / 'chgsync.sqlite'}"


class Store:
    def __init__(self, url: str, *, clock: Clock = utcnow, check_schema: bool = True) -> None:
        self.url = url
        self.clock = clock
        self.engine = self._engine(url)
        if check_schema:
            from .migrate import ensure_schema

            ensure_schema(self.engine)

    @staticmethod
    def _engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
                dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN IMMEDIATE
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
                dbapi_conn.execute("PRAGMA busy_timeout=30000")

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return create_engine(url, pool_pre_ping=True)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- changes ---------------------------------------------------------------------------------------
    def get_change(self, conn: Connection, change_id: str) -> tuple[Change, int] | None:
        row = conn.execute(select(t.changes.c.data, t.changes.c.version).where(t.changes.c.id == change_id)).first()
        if row is None:
            return None
        return Change.model_validate(row.data), row.version

    def save_change(self, conn: Connection, change: Change, expected_version: int | None) -> int:
        """Insert (``expected_version`` None) or update only if nobody saved since ``expected_version``."""
        now = self.clock()
        data = change.model_dump(mode="json", by_alias=True)
        if expected_version is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(t.changes).values(id=change.id, version=1, type=change.type.value,
                                                          state=change.state.value, data=data, created_at=now,
                                                          updated_at=now))
            except IntegrityError:
                raise ConcurrentUpdate(f"Change {change.id} already exists.") from None
            return 1
        result = conn.execute(
            update(t.changes)
            .where(t.changes.c.id == change.id, t.changes.c.version == expected_version)
            .values(version=expected_version + 1, state=change.state.value, type=change.type.value, data=data,
                    updated_at=now)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"Change {change.id} was saved by someone else since version {expected_version}.")
        return expected_version + 1

    def list_changes(self, conn: Connection, states: Sequence[str] | None = None) -> list[Change]:
        q = select(t.changes.c.data).order_by(t.changes.c.id)
        if states:
            q = q.where(t.changes.c.state.in_(list(states)))
        return [Change.model_validate(r.data) for r in conn.execute(q)]

    def next_change_id(self, conn: Connection, prefix: str = "CHG-") -> str:
        ids = conn.execute(select(t.changes.c.id).where(t.changes.c.id.like(f"{prefix}%"))).scalars()
        numbers = [int(i[len(prefix):]) for i in ids if i[len(prefix):].isdigit()]
        return f"{prefix}{max(numbers, default=1000) + 1}"

    # -- links -----------------------------------------------------------------------------------------
    def link(self, conn: Connection, change_id: str, ref: RemoteRef, remote_version: str,
             baseline: dict[str, Any]) -> None:
        """Record (or refresh) which change a remote record belongs to; a record never moves to another change.

        Two replicas can adopt the same new record at once, from two deliveries of it: the second
        to commit must not re-point the first one's link to its own new change (which would leave
        a change without its record, and create that record again elsewhere). It gets
        :class:`ConcurrentUpdate` instead, its transaction rolls back, and applying again finds
        the record linked.
        """
        now = self.clock()
        existing = self.get_link(conn, ref.system, ref.id)
        values = dict(change_id=change_id, remote_key=ref.key, url=ref.url, remote_version=remote_version,
                      baseline=baseline, updated_at=now)
        if existing is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(t.links).values(system=ref.system, remote_id=ref.id, **values))
            except IntegrityError:
                raise ConcurrentUpdate(f"{ref.system} {ref.key} was linked by someone else meanwhile.") from None
        elif existing["change_id"] != change_id:
            raise ConcurrentUpdate(f"{ref.system} {ref.key} belongs to {existing['change_id']}, not {change_id}: "
                                   "it was adopted by someone else meanwhile.")
        else:
            conn.execute(update(t.links).where(t.links.c.system == ref.system, t.links.c.remote_id == ref.id)
                         .values(**values))

    def get_link(self, conn: Connection, system: str, remote_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        """The link for a remote record; ``lock`` holds its row until commit (PostgreSQL).

        Two replicas can apply the same record at once (a webhook on one, a poll on the other).
        Locking the link makes the second wait and then see what the first recorded, instead of
        taking the same decision again. SQLite's BEGIN IMMEDIATE already serialises writers.
        """
        q = select(t.links).where(t.links.c.system == system, t.links.c.remote_id == remote_id)
        if lock and self.is_postgres:
            q = q.with_for_update()
        row = conn.execute(q).first()
        return dict(row._mapping) if row is not None else None

    def links_for(self, conn: Connection, change_id: str) -> dict[str, dict[str, Any]]:
        rows = conn.execute(select(t.links).where(t.links.c.change_id == change_id))
        return {r.system: dict(r._mapping) for r in rows}

    def write_in_flight(self, system: str, remote_id: str) -> bool:
        """Is one of our writes to this record under way? (A multi-hop move is one write.)

        Under way means started and not finished: claimed -- even when the claim's lease ran out, as
        when its holder died mid-write: the relay will take it over -- or tried, failed and waiting for
        its retry. Either may have left the record at a stop on the way (ServiceNow's Assess, on the
        way to Authorize); read then, that stop would pass for a person's move and be reverted.
        """
        o = t.outbox
        with self.begin() as conn:
            change_id = conn.execute(select(t.links.c.change_id).where(
                t.links.c.system == system, t.links.c.remote_id == remote_id)).scalar()
            if change_id is None:
                return False
            started = or_(o.c.status == "claimed", and_(o.c.status == "pending", o.c.attempts > 0))
            return conn.execute(select(o.c.id).where(
                o.c.change_id == change_id, o.c.target == system, started).limit(1)).first() is not None

    # -- cursors ---------------------------------------------------------------------------------------
    def get_cursor(self, conn: Connection, system: str) -> datetime | None:
        return _aware(conn.execute(select(t.cursors.c.position).where(t.cursors.c.system == system)).scalar())

    def set_cursor(self, conn: Connection, system: str, position: datetime, *, fence: Fence | None = None) -> None:
        """Move the poll cursor; with ``fence``, only while that lease generation is still current.

        Raises :class:`LeaseLost` (rolling back the caller's transaction) when another replica has
        taken over the poller since: its cursor stands, a stale poller must not move it back or on.
        """
        if fence is not None:
            self.check_lease(conn, fence)
        now = self.clock()
        done = conn.execute(update(t.cursors).where(t.cursors.c.system == system)
                            .values(position=position, updated_at=now)).rowcount
        if not done:
            conn.execute(insert(t.cursors).values(system=system, position=position, updated_at=now))

    # -- inbox -----------------------------------------------------------------------------------------
    def add_inbox(self, conn: Connection, system: str, delivery_id: str, source: str, headers: dict[str, str],
                  body: bytes) -> bool:
        """Store a received event; False if this delivery id was already stored (a redelivery)."""
        now = self.clock()
        try:
            with conn.begin_nested():
                conn.execute(insert(t.inbox).values(system=system, delivery_id=delivery_id, source=source,
                                                    received_at=now, headers=headers, body=body, status="pending",
                                                    attempts=0, next_attempt_at=now))
        except IntegrityError:
            return False
        return True

    def claim_inbox(self, worker: str, limit: int = 10, lease: timedelta = timedelta(minutes=2)) -> list[InboxItem]:
        now = self.clock()
        due = and_(t.inbox.c.next_attempt_at <= now,
                   or_(t.inbox.c.status == "pending",
                       and_(t.inbox.c.status == "claimed", t.inbox.c.lease_until < now)))
        q = select(t.inbox.c.id).where(due).order_by(t.inbox.c.id).limit(limit)
        if self.is_postgres:
            q = q.with_for_update(skip_locked=True)
        with self.begin() as conn:
            ids = list(conn.execute(q).scalars())
            if not ids:
                return []
            conn.execute(update(t.inbox).where(t.inbox.c.id.in_(ids))
                         .values(status="claimed", claimed_by=worker, lease_until=now + lease,
                                 attempts=t.inbox.c.attempts + 1))
            rows = conn.execute(select(t.inbox).where(t.inbox.c.id.in_(ids)).order_by(t.inbox.c.id)).all()
        return [InboxItem(r.id, r.system, r.delivery_id, r.source, dict(r.headers), bytes(r.body), r.attempts,
                          _aware(r.received_at) or now) for r in rows]

    def finish_inbox(self, conn: Connection, item_id: int, status: str = "done", error: str | None = None) -> None:
        conn.execute(update(t.inbox).where(t.inbox.c.id == item_id)
                     .values(status=status, error=error, done_at=self.clock(), claimed_by=None, lease_until=None))

    def retry_inbox(self, item_id: int, error: str, delay: timedelta) -> None:
        with self.begin() as conn:
            conn.execute(update(t.inbox).where(t.inbox.c.id == item_id)
                         .values(status="pending", error=error, next_attempt_at=self.clock() + delay,
                                 claimed_by=None, lease_until=None))

    def has_due_work(self) -> bool:
        """Is any inbox or outbox item due now or held by a claim? (Items waiting for a later retry are
        not, nor outbox items held back behind one.)"""
        now = self.clock()
        inbox = or_(and_(t.inbox.c.status == "pending", t.inbox.c.next_attempt_at <= now), t.inbox.c.status == "claimed")
        outbox = or_(self._outbox_due(now), t.outbox.c.status == "claimed")
        with self.begin() as conn:
            for table, due in ((t.inbox, inbox), (t.outbox, outbox)):
                if conn.execute(select(table.c.id).where(due).limit(1)).first() is not None:
                    return True
        return False

    def inbox_counts(self) -> dict[str, int]:
        with self.begin() as conn:
            rows = conn.execute(select(t.inbox.c.status, func.count()).group_by(t.inbox.c.status))
            return {r[0]: r[1] for r in rows}

    # -- outbox ----------------------------------------------------------------------------------------
    def enqueue(self, conn: Connection, key: str, change_id: str, kind: str, target: str,
                payload: dict[str, Any], *, lane: str | None = None) -> bool:
        """Add a side effect; False if one with this idempotency key exists already.

        Items of one change run in order within their ``lane``; lanes run independently. By
        default notices and markers get a lane of their own and ticket writes share one.
        """
        now = self.clock()
        lane = lane or (kind if kind in ("notify", "mark") else "tickets")
        try:
            with conn.begin_nested():
                conn.execute(insert(t.outbox).values(key=key, change_id=change_id, kind=kind, target=target,
                                                     lane=lane, payload=json.loads(json.dumps(payload, default=str)), status="pending", attempts=0,
                                                     next_attempt_at=now, created_at=now))
        except IntegrityError:
            return False
        return True

    def claim_outbox(self, worker: str, limit: int = 10, lease: timedelta = timedelta(minutes=2)) -> list[OutboxItem]:
        """Due items with no earlier unfinished item in their change's lane: in order per change and lane,
        across changes and lanes in parallel."""
        now = self.clock()
        o = t.outbox
        q = select(o.c.id).where(self._outbox_due(now)).order_by(o.c.id).limit(limit)
        if self.is_postgres:
            q = q.with_for_update(of=o, skip_locked=True)
        with self.begin() as conn:
            ids = list(conn.execute(q).scalars())
            if not ids:
                return []
            conn.execute(update(o).where(o.c.id.in_(ids))
                         .values(status="claimed", claimed_by=worker, lease_until=now + lease,
                                 attempts=o.c.attempts + 1))
            rows = conn.execute(select(o).where(o.c.id.in_(ids)).order_by(o.c.id)).all()
        return [self._outbox_item(r) for r in rows]

    @staticmethod
    def _outbox_due(now: datetime) -> Any:
        """Outbox rows a worker may claim now: due, unclaimed (or their claim ran out), not held back."""
        o, earlier = t.outbox, t.outbox.alias("earlier")
        blocked = exists().where(earlier.c.change_id == o.c.change_id, earlier.c.lane == o.c.lane,
                                 earlier.c.id < o.c.id, earlier.c.status != "done")
        return and_(o.c.next_attempt_at <= now,
                    or_(o.c.status == "pending", and_(o.c.status == "claimed", o.c.lease_until < now)), ~blocked)

    @staticmethod
    def _outbox_item(r: Any) -> OutboxItem:
        return OutboxItem(r.id, r.key, r.change_id, r.kind, r.target, dict(r.payload), r.attempts, r.status,
                          r.last_error, _aware(r.created_at) or utcnow())

    def complete_outbox(self, item_id: int, worker: str | None = None) -> bool:
        """Mark done; with ``worker``, only if that worker still holds the claim (fencing)."""
        with self.begin() as conn:
            q = update(t.outbox).where(t.outbox.c.id == item_id)
            if worker is not None:
                q = q.where(t.outbox.c.claimed_by == worker)
            done = conn.execute(q.values(status="done", done_at=self.clock(), claimed_by=None, lease_until=None,
                                         last_error=None)).rowcount
        return bool(done)

    def fail_outbox(self, item_id: int, error: str, delay: timedelta | None, worker: str | None = None) -> bool:
        """Schedule a retry after ``delay``, or with None move the item to the dead-letter state.

        With ``worker``, only while that worker still holds the claim (fencing, as for
        :meth:`complete_outbox`): a replica whose claim ran out and was taken over must not reset
        the item under its new holder, whose completion would then be refused and the work redone.
        """
        values: dict[str, Any] = {"last_error": error, "claimed_by": None, "lease_until": None}
        if delay is None:
            values["status"] = "dead"
        else:
            values.update(status="pending", next_attempt_at=self.clock() + delay)
        q = update(t.outbox).where(t.outbox.c.id == item_id)
        if worker is not None:
            q = q.where(t.outbox.c.claimed_by == worker)
        with self.begin() as conn:
            return bool(conn.execute(q.values(**values)).rowcount)

    def list_outbox(self, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
        q = select(t.outbox).order_by(t.outbox.c.id).limit(limit)
        if status:
            q = q.where(t.outbox.c.status == status)
        with self.begin() as conn:
            return [self._outbox_item(r) for r in conn.execute(q)]

    def retry_outbox(self, item_ids: Sequence[int] | None = None) -> int:
        """Put dead (or the given) items back to pending, due now; returns how many."""
        q = update(t.outbox).values(status="pending", next_attempt_at=self.clock(), attempts=0)
        q = q.where(t.outbox.c.id.in_(list(item_ids))) if item_ids else q.where(t.outbox.c.status == "dead")
        with self.begin() as conn:
            return conn.execute(q.where(t.outbox.c.status != "done")).rowcount

    def outbox_counts(self) -> dict[str, int]:
        with self.begin() as conn:
            rows = conn.execute(select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status))
            return {r[0]: r[1] for r in rows}

    def oldest_unfinished(self) -> dict[str, datetime | None]:
        """When the oldest inbox item not yet applied arrived, and the oldest side effect not yet done was queued.

        Dead letters are left out (they have a gauge of their own); a claimed item counts, since its
        holder may have died with it. This is the sync lag as it stands now, which the lag histogram
        (filled only once an event is applied) cannot show while the daemon is stuck.
        """
        with self.begin() as conn:
            inbox = conn.execute(select(func.min(t.inbox.c.received_at))
                                 .where(t.inbox.c.status.in_(("pending", "claimed")))).scalar()
            outbox = conn.execute(select(func.min(t.outbox.c.created_at))
                                  .where(t.outbox.c.status.in_(("pending", "claimed")))).scalar()
        return {"inbox": _aware(inbox), "outbox": _aware(outbox)}

    # -- obligations -----------------------------------------------------------------------------------
    def obligation_counts(self, now: datetime) -> dict[tuple[str, str], int]:
        """Obligations still owed by (kind, ``"due"`` or ``"overdue"``): overdue ones are past their ``due_at``.

        An owed row past due is either not fired yet (the scheduler is behind, or not running) or
        fired and still not met (an escalation whose post-mortem is late): both are worth an alert.
        """
        o = t.obligations
        counts: dict[tuple[str, str], int] = {}
        with self.begin() as conn:
            for when, past in (("due", o.c.due_at >= now), ("overdue", o.c.due_at < now)):
                rows = conn.execute(select(o.c.kind, func.count())
                                    .where(o.c.status.in_(OWED_OBLIGATIONS), past).group_by(o.c.kind))
                counts.update({(r[0], when): int(r[1]) for r in rows})
        return counts

    # -- leases ----------------------------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, duration: timedelta) -> int | None:
        """Hold the singleton role ``name`` until ``duration`` from now; its generation, or None if taken.

        Renews the lease when ``holder`` has it already (same generation, even if it ran out and
        nobody took it meanwhile: no one else can have written under it), takes it over with the
        next generation when another holder's lease has run out, and returns None while another
        holder's lease runs. The row is locked while deciding, so two replicas never both win.
        """
        now = self.clock()
        lease = t.leases
        q = select(lease).where(lease.c.name == name)
        if self.is_postgres:
            q = q.with_for_update()
        with self.begin() as conn:
            row = conn.execute(q).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(lease).values(name=name, holder=holder, until=now + duration,
                                                          generation=1))
                except IntegrityError:
                    return None  # another replica created it at the same moment, and holds it
                return 1
            until = _aware(row.until)
            if row.holder != holder and until is not None and until > now:
                return None
            generation = int(row.generation) if row.holder == holder else int(row.generation) + 1
            conn.execute(update(lease).where(lease.c.name == name)
                         .values(holder=holder, until=now + duration, generation=generation))
            return generation

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up (on a clean stop) so another replica takes the role at once, not after it runs out."""
        lease = t.leases
        with self.begin() as conn:
            done = conn.execute(update(lease).where(lease.c.name == name, lease.c.holder == holder)
                                .values(until=LEASE_RELEASED)).rowcount
        return bool(done)

    def check_lease(self, conn: Connection, fence: Fence) -> None:
        """Raise :class:`LeaseLost` unless ``fence`` is the lease's current holder and generation.

        Call it inside the transaction of the fenced write: on PostgreSQL the lease row stays
        share-locked until that transaction ends, so a takeover waits for the write to commit (and
        the write then happened under a generation that was current) instead of slipping in between.
        """
        lease = t.leases
        q = select(lease.c.holder, lease.c.generation).where(lease.c.name == fence.name)
        if self.is_postgres:
            q = q.with_for_update(read=True)
        row = conn.execute(q).first()
        if row is None or row.holder != fence.holder or row.generation != fence.generation:
            current = "nobody" if row is None else f"{row.holder} (generation {row.generation})"
            raise LeaseLost(f"The {fence.name} lease is held by {current} now, not by {fence.holder} "
                            f"(generation {fence.generation}); its write was not made.")

    def lease_holders(self) -> dict[str, tuple[str, int, datetime]]:
        """Every lease: name -> (holder, generation, until), for operators and tests."""
        with self.begin() as conn:
            return {r.name: (r.holder, int(r.generation), _aware(r.until) or r.until)
                    for r in conn.execute(select(t.leases))}

    # -- echoes ----------------------------------------------------------------------------------------
    def record_echo(self, conn: Connection, system: str, remote_id: str, remote_version: str, values: Any) -> None:
        try:
            with conn.begin_nested():
                conn.execute(insert(t.echoes).values(system=system, remote_id=remote_id, remote_version=remote_version,
                                                     digest=digest(values), created_at=self.clock()))
        except IntegrityError:
            pass  # the same write recorded twice is the same echo

    def is_echo(self, conn: Connection, system: str, remote_id: str, remote_version: str, values: Any) -> bool:
        """True when the remote record is exactly what chgsync wrote at that version."""
        row = conn.execute(select(t.echoes.c.digest).where(
            t.echoes.c.system == system, t.echoes.c.remote_id == remote_id,
            t.echoes.c.remote_version == remote_version)).first()
        return row is not None and row.digest == digest(values)

    # -- threads, deployments, correlations -----------------------------------------------------------
    def get_thread(self, conn: Connection, change_id: str, channel: str) -> str | None:
        row = conn.execute(select(t.threads.c.thread_id).where(t.threads.c.change_id == change_id,
                                                              t.threads.c.channel == channel)).first()
        return row.thread_id if row is not None else None

    def set_thread(self, conn: Connection, change_id: str, channel: str, thread_id: str) -> bool:
        """Remember the first message's id; False (and no change) if one is recorded already."""
        try:
            with conn.begin_nested():
                conn.execute(insert(t.threads).values(change_id=change_id, channel=channel, thread_id=thread_id,
                                                      created_at=self.clock()))
        except IntegrityError:
            return False
        return True

    def record_deployment(self, conn: Connection, change_id: str, phase: str, services: Sequence[str],
                          environment: str, outcome: str | None, at: datetime) -> None:
        for service in services or ["(none)"]:
            conn.execute(insert(t.deployments).values(change_id=change_id, phase=phase, service=service,
                                                      environment=environment, outcome=outcome, at=at))

    def latest_deployments(self) -> list[dict[str, Any]]:
        """The latest marker per (service, environment), for the /metrics gauges."""
        d = t.deployments
        latest = select(func.max(d.c.id)).group_by(d.c.service, d.c.environment).scalar_subquery()
        with self.begin() as conn:
            rows = conn.execute(select(d).where(d.c.id.in_(latest)).order_by(d.c.service, d.c.environment))
            return [dict(r._mapping) | {"at": _aware(r.at)} for r in rows]

    def add_correlation(self, conn: Connection, alert_key: str, change_id: str, score: float,
                        reasons: Sequence[str], alert: dict[str, Any]) -> bool:
        """Record that an alert points at a change; False if this pair was recorded already."""
        try:
            with conn.begin_nested():
                conn.execute(insert(t.correlations).values(
                    alert_key=alert_key, change_id=change_id, score=score, reasons=list(reasons),
                    alert=json.loads(json.dumps(alert, default=str)), at=self.clock()))
        except IntegrityError:
            return False
        return True

    def correlations(self, change_id: str | None = None) -> list[dict[str, Any]]:
        q = select(t.correlations).order_by(t.correlations.c.id)
        if change_id is not None:
            q = q.where(t.correlations.c.change_id == change_id)
        with self.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- audit -----------------------------------------------------------------------------------------
    def audit(self, conn: Connection, change_id: str | None, actor: str, action: str, detail: dict[str, Any]) -> None:
        conn.execute(insert(t.audit).values(at=self.clock(), change_id=change_id, actor=actor, action=action,
                                            detail=json.loads(json.dumps(detail, default=str))))

    def audit_trail(self, change_id: str | None = None) -> list[dict[str, Any]]:
        q = select(t.audit).order_by(t.audit.c.id)
        if change_id is not None:
            q = q.where(t.audit.c.change_id == change_id)
        with self.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
