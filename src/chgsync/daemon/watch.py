"""Watching rollback triggers after implementation.

A change whose rollback plan carries a machine-checkable condition is evaluated against the
metric backend every ``rollback.every`` while it is within ``rollback.watch`` of implementation,
and again whenever one of its validation points has fallen due and is not recorded yet. When the
condition holds, the implementer is told "rollback recommended" once, on both tickets and through
the channels; with ``rollback.auto`` the change is recorded as rolled back as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ..errors import ChgsyncError, RemoteError
from ..lifecycle import State
from ..model import Change, Outcome
from ..notify import Event
from ..policy import Policy
from ..store import Store
from ..sync.engine import enqueue_announcements
from ..triggers import MetricBackend, TriggerState, TriggerVerdict, judge, window
from .config import RollbackWatch

log = logging.getLogger(__name__)


class TriggerWatch:
    def __init__(self, store: Store, backend: MetricBackend, settings: RollbackWatch, policy: Policy, *,
                 clock: Callable[[], datetime], on_verdict: Callable[[TriggerVerdict], None] | None = None) -> None:
        self.store = store
        self.backend = backend
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self.on_verdict = on_verdict
        self._last: dict[str, datetime] = {}

    def watched(self, change: Change, now: datetime) -> bool:
        if change.rollback.trigger is None or change.rollback.trigger.condition is None:
            return False
        if change.outcome == Outcome.ROLLED_BACK:
            return False
        started = change.entered(State.IMPLEMENTING)
        implemented = change.entered(State.IMPLEMENTED)
        if change.state == State.IMPLEMENTING and started is not None:
            return True
        if change.state != State.IMPLEMENTED or implemented is None:
            return False
        if now - implemented <= self.settings.watch:
            return True
        points = self.policy.validation_points
        return any(implemented + p <= now and change.validation(p) is None for p in points)

    def run_once(self) -> int:
        """Evaluate every watched change that is due; returns how many were evaluated."""
        now = self.clock()
        with self.store.begin() as conn:
            changes = self.store.list_changes(conn, [State.IMPLEMENTING.value, State.IMPLEMENTED.value])
        done = 0
        for change in changes:
            if not self.watched(change, now):
                continue
            last = self._last.get(change.id)
            if last is not None and now - last < self.settings.every:
                continue
            self._last[change.id] = now
            try:
                verdict = self.evaluate(change, now)
            except (RemoteError, ChgsyncError) as exc:
                log.warning("rollback trigger of %s could not be evaluated: %s", change.id, exc,
                            extra={"change_id": change.id})
                continue
            done += 1
            if self.on_verdict is not None:
                self.on_verdict(verdict)
            if verdict.state == TriggerState.HOLDS:
                self.recommend(change, verdict, now)
        return done

    def evaluate(self, change: Change, now: datetime) -> TriggerVerdict:
        condition = change.rollback.trigger.condition  # type: ignore[union-attr]
        assert condition is not None
        start, end = window(condition, now, self.settings.step)
        return judge(condition, self.backend.series(condition.query, start, end, self.settings.step), now)

    def recommend(self, change: Change, verdict: TriggerVerdict, now: datetime) -> None:
        implemented = change.entered(State.IMPLEMENTED) or change.entered(State.IMPLEMENTING) or now
        key = f"{change.id}:rollback_recommended:{implemented.isoformat()}"
        trigger = change.rollback.trigger.description if change.rollback.trigger else ""
        auto = self.settings.auto
        text = (f"Rollback recommended for change {change.id} ({change.title}): its rollback trigger "
                f"\"{trigger}\" holds: {verdict.reason}"
                + (" chgsync has recorded the change as rolled back." if auto else
                   " Follow the rollback plan, or record why not."))
        with self.store.begin() as conn:
            if not self.store.enqueue(conn, f"{key}:notify", change.id, "notify", "stakeholders", {
                    "event": Event.ROLLBACK_RECOMMENDED.value, "text": text, "severity": "critical",
                    "to": change.implementer or change.requester or ""}):
                return  # recommended already for this implementation
            for system in self.store.links_for(conn, change.id):
                self.store.enqueue(conn, f"{key}:{system}:comment", change.id, "comment", system, {"text": text})
            self.store.audit(conn, change.id, "chgsync", "rollback_recommended", {
                "value": verdict.value, "reason": verdict.reason, "auto": auto})
            if auto:
                loaded = self.store.get_change(conn, change.id)
                if loaded is None:
                    return
                current, version = loaded
                rolled = current.model_copy(update={"outcome": Outcome.ROLLED_BACK})
                new_version = self.store.save_change(conn, rolled, version)
                enqueue_announcements(self.store, conn, current, rolled, now)
                for system in self.store.links_for(conn, change.id):
                    self.store.enqueue(conn, f"{change.id}:v{new_version}:{system}:sync", change.id, "sync", system,
                                       {"fields": ["outcome"], "move": False})
