"""The outbox relay: performs side effects the engine decided, at least once, in per-change order.

Each item reads the change as it is now (so a retry after an outage writes the latest state, not a
stale one), writes, reads back, and records the version its write produced in the echo ledger so
that the webhook it triggers is recognised as ours. Remote failures retry with capped exponential
backoff; after ``max_attempts`` or a permanent error the item is dead-lettered and holds back later
items of the same change until someone runs ``chgsync outbox retry``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..adapter import Adapter, RemoteRef
from ..announcements import emergency_status, facts
from ..lifecycle import State
from ..errors import ChgsyncError, RateLimited, RemoteError
from ..markers import DeployMarker, MarkerPhase, MarkerSink
from ..notify import Event, Notification, Notifier
from ..routing import Router, Routing, recipients
from ..store import OutboxItem, Store
from .views import remote_view

log = logging.getLogger(__name__)


class PermanentFailure(ChgsyncError):
    """An item that no retry can fix (a bad payload, an unknown target)."""


@dataclass(frozen=True)
class RelayPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(0, attempts - 1))
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


class Relay:
    def __init__(self, store: Store, adapters: Mapping[str, Adapter], notifiers: Mapping[str, Notifier], *,
                 worker: str, policy: RelayPolicy = RelayPolicy(), rng: random.Random | None = None,
                 on_done: Callable[[OutboxItem], None] | None = None,
                 lease: timedelta = timedelta(minutes=2),
                 on_failed: Callable[[OutboxItem, bool], None] | None = None,
                 sinks: Mapping[str, MarkerSink] | None = None, router: Router | None = None) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.notifiers = dict(notifiers)
        self.sinks = dict(sinks or {})
        self.router = router or Router(Routing(), {name: name for name in self.notifiers})
        self.worker = worker
        self.policy = policy
        self.rng = rng or random.Random()
        self.on_done = on_done
        self.lease = lease
        self.on_failed = on_failed  # (item, dead): retries and dead letters, by kind, for the metrics

    def run_once(self, limit: int = 20) -> int:
        items = self.store.claim_outbox(self.worker, limit, lease=self.lease)
        for item in items:
            self.perform(item)
        return len(items)

    def perform(self, item: OutboxItem) -> None:
        try:
            handler = getattr(self, f"_do_{item.kind}", None)
            if handler is None:
                raise PermanentFailure(f"Outbox item {item.key} has unknown kind {item.kind!r}.")
            handler(item)
        except RemoteError as exc:
            if exc.retryable and item.attempts < self.policy.max_attempts:
                delay = self.policy.delay(item.attempts, self.rng)
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    delay = max(delay, timedelta(seconds=min(exc.retry_after, self.policy.cap.total_seconds())))
                log.info("outbox %s failed (attempt %d), retrying in %s: %s", item.key, item.attempts, delay, exc)
                self._fail(item, str(exc), delay)
            else:
                log.error("outbox %s dead-lettered after %d attempts: %s", item.key, item.attempts, exc)
                self._fail(item, str(exc), None)
            return
        except PermanentFailure as exc:
            self._fail(item, str(exc), None)
            return
        except Exception as exc:  # a bug must not lose the item: dead-letter it with the reason
            log.exception("outbox %s failed unexpectedly", item.key)
            self._fail(item, f"{type(exc).__name__}: {exc}", None)
            return
        self.store.complete_outbox(item.id, self.worker)
        if self.on_done is not None:
            self.on_done(item)

    def _fail(self, item: OutboxItem, error: str, delay: timedelta | None) -> None:
        """Record the failure (a retry after ``delay``, or with None a dead letter), then tell ``on_failed``."""
        if not self.store.fail_outbox(item.id, error, delay, self.worker):
            log.warning("outbox %s: our claim ran out and another worker took the item over; leaving it to them",
                        item.key)
            return
        if self.on_failed is not None:
            try:
                self.on_failed(item, delay is None)
            except Exception:  # counting must never cost an item its recorded failure
                log.exception("on_failed callback failed for outbox %s", item.key)

    # -- kinds ---------------------------------------------------------------------------------------
    def _adapter(self, item: OutboxItem) -> Adapter:
        adapter = self.adapters.get(item.target)
        if adapter is None:
            raise PermanentFailure(f"No adapter named {item.target!r} is configured for outbox item {item.key}.")
        return adapter

    def _change(self, item: OutboxItem) -> Any:
        with self.store.begin() as conn:
            loaded = self.store.get_change(conn, item.change_id)
        if loaded is None:
            raise PermanentFailure(f"Outbox item {item.key} refers to unknown change {item.change_id}.")
        return loaded[0]

    def _ref(self, item: OutboxItem) -> RemoteRef | None:
        with self.store.begin() as conn:
            link = self.store.links_for(conn, item.change_id).get(item.target)
        if link is None:
            return None
        return RemoteRef(item.target, link["remote_id"], link["remote_key"], link["url"])

    def _remember(self, adapter: Adapter, change_id: str, record: Any) -> None:
        view = remote_view(adapter, record.change)
        with self.store.begin() as conn:
            self.store.record_echo(conn, adapter.name, record.ref.id, record.version, view)
            self.store.link(conn, change_id, record.ref, record.version, view)

    def _do_create(self, item: OutboxItem) -> None:
        adapter = self._adapter(item)
        change = self._change(item)
        ref = self._ref(item)
        if ref is not None:
            # Made already, and linked: by an attempt cut short after that (a crash, a failed move), or
            # by the engine, which knows its own create when the record's webhook or a poll gets there
            # first. The create still owes what follows: the state, and the links both ways.
            record = adapter.get(ref)
        else:
            found = adapter.find(change.id)
            record = found if found is not None else adapter.create(change.model_copy(update={"state": change.state}))
            self._remember(adapter, change.id, record)
        if record.change.state != change.state:
            record = adapter.move(record.ref, change)
            self._remember(adapter, change.id, record)
        with self.store.begin() as conn:
            links = self.store.links_for(conn, change.id)
            for system, link in links.items():
                if system == item.target:
                    continue
                other = RemoteRef(system, link["remote_id"], link["remote_key"], link["url"])
                self.store.enqueue(conn, f"{change.id}:link:{item.target}->{system}", change.id, "link", item.target,
                                   {"other": other.__dict__})
                self.store.enqueue(conn, f"{change.id}:link:{system}->{item.target}", change.id, "link", system,
                                   {"other": record.ref.__dict__})

    def _do_sync(self, item: OutboxItem) -> None:
        adapter = self._adapter(item)
        ref = self._ref(item)
        if ref is None:
            raise RemoteError(item.target, "sync", None, f"{item.change_id} is not linked in {item.target} yet.")
        change = self._change(item)
        fields = [f for f in item.payload.get("fields", []) if adapter.mapping.field(f) is not None]
        record = None
        if fields:
            record = adapter.update(ref, change, fields)
            self._remember(adapter, change.id, record)
        if item.payload.get("move", True):
            current = record or adapter.get(ref)
            if current.change.state != change.state:
                try:
                    record = adapter.move(ref, change)
                except RemoteError as exc:
                    if not item.payload.get("revert") or exc.retryable:
                        raise
                    self._revert_impossible(adapter, ref, change, current.change.state, exc, retried=item.attempts > 1)
                    return
                self._remember(adapter, change.id, record)

    def _revert_impossible(self, adapter: Adapter, ref: RemoteRef, change: Any, remote_state: Any,
                           exc: RemoteError, *, retried: bool) -> None:
        """The tool's own workflow forbids moving back: say so on the record instead of retrying forever."""
        self._comment_once(adapter, ref, (
            f"chgsync could not move {change.id} back to {change.state.label} here: {exc.remote_message} "
            f"The change stays {change.state.label} in chgsync; please move this record back by hand, or make "
            f"the move again once the rules allow it."), retried=retried)
        self._remember(adapter, change.id, adapter.get(ref))
        with self.store.begin() as conn:
            self.store.audit(conn, change.id, "chgsync", "revert_impossible", {
                "system": adapter.name, "remote_state": str(remote_state), "error": str(exc)})

    def _do_comment(self, item: OutboxItem) -> None:
        adapter = self._adapter(item)
        ref = self._ref(item)
        if ref is None:
            raise RemoteError(item.target, "comment", None, f"{item.change_id} is not linked in {item.target} yet.")
        self._comment_once(adapter, ref, str(item.payload["text"]), retried=item.attempts > 1)
        # A comment bumps the record's version: remember it so the webhook is not taken for an edit.
        self._remember(adapter, item.change_id, adapter.get(ref))

    @staticmethod
    def _comment_once(adapter: Adapter, ref: RemoteRef, text: str, *, retried: bool) -> None:
        """Post ``text``, unless an earlier claim of this item (whose worker died, or whose answer was
        lost) already did: a comment cannot be taken back, so a retry looks before it writes."""
        if retried and adapter.find_comment(ref, text) is not None:
            return
        adapter.comment(ref, text)

    def _do_link(self, item: OutboxItem) -> None:
        adapter = self._adapter(item)
        ref = self._ref(item)
        if ref is None:
            raise RemoteError(item.target, "link", None, f"{item.change_id} is not linked in {item.target} yet.")
        adapter.link(ref, RemoteRef(**item.payload["other"]))
        self._remember(adapter, item.change_id, adapter.get(ref))

    def _links(self, change_id: str) -> dict[str, str]:
        with self.store.begin() as conn:
            links = self.store.links_for(conn, change_id)
        return {system: link["url"] or link["remote_key"] for system, link in sorted(links.items())}

    def _do_notify(self, item: OutboxItem) -> None:
        """Route a notice: one ``send`` item per channel, each in its own lane, queued together."""
        change = self._change(item)
        event = Event.of(str(item.payload.get("event", "")))
        status = item.payload.get("status")
        if status is None and event == Event.EMERGENCY_STATUS:
            status = emergency_status(change)
        routes = self.router.route(change, event)
        text = str(item.payload.get("text", ""))
        base = {
            "change_id": change.id, "event": str(item.payload.get("event", event.value)),
            "subject": f"{change.id}: {text.split('. ')[0][:150]}" if text else f"{change.id}: {event.value}",
            "text": text, "links": self._links(change.id), "facts": facts(change),
            "emergency": change.type.value == "emergency", "status": status,
            "components": list(change.implementation.systems),
            "severity": str(item.payload.get("severity") or "info"),
        }
        with self.store.begin() as conn:
            for channel, extra in routes.items():
                people = recipients(change, [str(item.payload.get("to") or ""), *extra])
                self.store.enqueue(conn, f"{item.key}>{channel}", change.id, "send", channel,
                                   base | {"recipients": list(people)}, lane=f"send:{channel}")

    def _do_send(self, item: OutboxItem) -> None:
        notifier = self.notifiers.get(item.target)
        if notifier is None:
            raise PermanentFailure(f"No notifier named {item.target!r} is configured for outbox item {item.key}.")
        p = item.payload
        with self.store.begin() as conn:
            thread = self.store.get_thread(conn, item.change_id, item.target)
        note = Notification(key=item.key, change_id=item.change_id, event=str(p["event"]), subject=str(p["subject"]),
                            text=str(p["text"]), recipients=tuple(p.get("recipients", ())),
                            links=dict(p.get("links", {})), facts=dict(p.get("facts", {})), thread=thread,
                            emergency=bool(p.get("emergency")), status=p.get("status"),
                            components=tuple(p.get("components", ())), severity=str(p.get("severity", "info")))
        log.debug("notifying %s through %s", item.change_id, item.target)
        sent = notifier.send(note)
        if sent and thread is None:
            with self.store.begin() as conn:
                self.store.set_thread(conn, item.change_id, item.target, str(sent))

    def _do_mark(self, item: OutboxItem) -> None:
        """Fan a deploy marker out: one ``marker`` item per sink, each in its own lane."""
        change = self._change(item)
        base = {
            "phase": item.payload["phase"], "at": item.payload["at"], "outcome": item.payload.get("outcome"),
            "services": list(change.implementation.systems), "environment": change.schedule.environment,
            "title": change.title, "change_type": change.type.value,
            "risk": change.overall_risk.value if change.overall_risk else "",
            "started_at": change.schedule.actual_start or change.entered(State.IMPLEMENTING),
            "links": self._links(change.id),
        }
        with self.store.begin() as conn:
            for sink in self.sinks:
                self.store.enqueue(conn, f"{item.key}>{sink}", change.id, "marker", sink, base,
                                   lane=f"marker:{sink}")

    def _do_marker(self, item: OutboxItem) -> None:
        sink = self.sinks.get(item.target)
        if sink is None:
            raise PermanentFailure(f"No marker sink named {item.target!r} is configured for outbox item {item.key}.")
        p = item.payload
        channel = f"marker:{item.target}"
        with self.store.begin() as conn:
            previous = self.store.get_thread(conn, item.change_id, channel)
        marker = DeployMarker(
            key=item.key, change_id=item.change_id, phase=MarkerPhase(p["phase"]), at=_when(p["at"]),
            services=tuple(p.get("services", ())), environment=str(p.get("environment", "")),
            outcome=p.get("outcome"), title=str(p.get("title", "")),
            started_at=_when(p["started_at"]) if p.get("started_at") else None,
            change_type=str(p.get("change_type", "")), risk=str(p.get("risk", "")), links=dict(p.get("links", {})),
            previous=previous)
        made = sink.mark(marker)
        if made and previous is None:
            with self.store.begin() as conn:
                self.store.set_thread(conn, item.change_id, channel, str(made))


def _when(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
