"""What people and monitoring are told when a change moves: pure, from the change before and after.

The engine saves a change and, in the same transaction, queues what :func:`announce` returns, so
a notice or marker exists exactly when the move it reports does. Keys are derived from the change
and the event (not from a clock or a counter), so deciding twice queues once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .lifecycle import State
from .markers import MarkerPhase
from .model import Change, Outcome
from .notify import Event


@dataclass(frozen=True)
class Notice:
    """A notice to route to channels. ``key`` is its idempotency key in the outbox."""

    key: str
    event: Event
    text: str
    to: str = ""
    status: str | None = None  # status-page state, for emergencies
    severity: str = "info"

    def payload(self) -> dict[str, Any]:
        return {"event": self.event.value, "text": self.text, "to": self.to, "status": self.status,
                "severity": self.severity}


@dataclass(frozen=True)
class Mark:
    """A deploy marker to fan out to the configured sinks."""

    key: str
    phase: MarkerPhase
    at: datetime
    outcome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _who(change: Change) -> str:
    return change.implementer or change.requester or ""


def _window(change: Change) -> str:
    s = change.schedule
    if s.planned_start and s.planned_end:
        return f"{s.planned_start:%Y-%m-%d %H:%M}–{s.planned_end:%H:%M %Z}".strip()
    return "not scheduled"


def _systems(change: Change) -> str:
    return ", ".join(change.implementation.systems) or "none listed"


def emergency_status(change: Change) -> str:
    """Where an emergency change stands, in status-page words."""
    if change.state in (State.IMPLEMENTED, State.CLOSED):
        return "resolved"
    if change.state == State.IMPLEMENTING:
        return "identified"
    return "investigating"


def resolution_summary(change: Change) -> str:
    cause = change.justification.reason or "not recorded"
    resolution = change.close_notes or (change.outcome.value.replace("_", " ") if change.outcome else "implemented")
    return f"Root cause: {cause} Resolution: {resolution}."


def announce(before: Change | None, after: Change, at: datetime) -> list[Notice | Mark]:
    """The notices and markers a move from ``before`` to ``after`` calls for (``before`` None: new)."""
    out: list[Notice | Mark] = []
    cid = after.id
    prev = before.state if before is not None else None
    emergency = after.type.value == "emergency"
    if after.state != prev:
        label = after.state.label
        came = f" from {prev.label}" if prev is not None else ""
        out.append(Notice(f"{cid}:event:state:{after.state.value}:{len(after.history)}", Event.STATE_CHANGED,
                          f"Change {cid} ({after.title}) moved{came} to {label}.", to=_who(after),
                          status=emergency_status(after) if emergency else None))
        if after.state == State.CAB_REVIEW:
            roles = "e-CAB or designated authority" if emergency else "CAB"
            out.append(Notice(f"{cid}:event:approval_requested:{len(after.history)}", Event.APPROVAL_REQUESTED,
                              f"Change {cid} ({after.title}) awaits {roles} approval. Window: {_window(after)}; "
                              f"risk: {_risk(after)}; systems: {_systems(after)}."))
        if after.state == State.IMPLEMENTING:
            out.append(Notice(f"{cid}:event:implementation_started", Event.IMPLEMENTATION_STARTED,
                              f"Change {cid} starting: {after.title}. Systems: {_systems(after)}. "
                              f"Rollback: {_rollback(after)}.", to=_who(after),
                              status="identified" if emergency else None))
            out.append(Mark(f"{cid}:mark:started", MarkerPhase.STARTED, after.schedule.actual_start or at))
        if after.state == State.IMPLEMENTED and prev != State.IMPLEMENTED:
            outcome = after.outcome
            if outcome in (None, Outcome.SUCCESSFUL):
                text = f"Change {cid} complete. All systems green."
            else:
                text = f"Change {cid} complete with outcome: {outcome.value.replace('_', ' ')}."
            out.append(Notice(f"{cid}:event:implementation_completed", Event.IMPLEMENTATION_COMPLETED, text,
                              to=_who(after), severity="info" if outcome in (None, Outcome.SUCCESSFUL) else "warning"))
            phase = MarkerPhase.ROLLED_BACK if outcome == Outcome.ROLLED_BACK else MarkerPhase.FINISHED
            out.append(Mark(f"{cid}:mark:{phase.value}", phase, after.schedule.actual_end or at,
                            outcome=outcome.value if outcome else "successful"))
        if emergency and after.state in (State.IMPLEMENTED, State.CLOSED) and prev not in (State.IMPLEMENTED,
                                                                                           State.CLOSED):
            out.append(Notice(f"{cid}:event:emergency_resolved", Event.EMERGENCY_RESOLVED,
                              f"Emergency change {cid} ({after.title}) is resolved. {resolution_summary(after)}",
                              to=_who(after), status="resolved"))
    before_outcome = before.outcome if before is not None else None
    if after.outcome == Outcome.ROLLED_BACK and before_outcome != Outcome.ROLLED_BACK:
        out.append(Notice(f"{cid}:event:rollback", Event.ROLLBACK,
                          f"Change {cid} ({after.title}) was rolled back. {after.close_notes or ''}".strip(),
                          to=_who(after), severity="warning"))
        if after.state != State.IMPLEMENTED or prev == State.IMPLEMENTED:  # else the completion marked it
            out.append(Mark(f"{cid}:mark:rolled_back", MarkerPhase.ROLLED_BACK, at, outcome="rolled_back"))
    seen = len(before.cab.approvals) if before is not None else 0
    for n, approval in enumerate(after.cab.approvals[seen:], start=seen):
        reason = f": {approval.reason}" if approval.reason else ""
        out.append(Notice(f"{cid}:event:cab_decision:{n}", Event.CAB_DECISION,
                          f"{approval.role.replace('_', ' ').capitalize()} {approval.approver} decided "
                          f"{approval.decision.value} on change {cid}{reason}.", to=after.requester or ""))
    return out


def _risk(change: Change) -> str:
    risk = change.overall_risk
    return risk.value if risk is not None else "not assessed"


def _rollback(change: Change) -> str:
    plan = change.rollback
    if plan.trigger is None:
        return "no trigger recorded"
    took = f", expected to take {plan.expected_duration}" if plan.expected_duration else ""
    return f"if {plan.trigger.description}{took}"


def facts(change: Change) -> dict[str, str]:
    """The label → value pairs every rich notification layout shows."""
    return {"State": change.state.label, "Type": change.type.value, "Risk": _risk(change),
            "Window": _window(change), "Environment": change.schedule.environment, "Systems": _systems(change)}
