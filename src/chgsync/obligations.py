"""Timed obligations: what a change owes after implementation, and when chgsync says so.

An emergency change owes a retrospective ticket and a post-mortem by deadlines counted from the
moment it is Implemented (the work is done then; an emergency still being implemented is still
being fought), and a status update every ``status_update_every`` from Implementing until Closed.
Every change owes a validation result at each of the policy's ``validation_points`` after
Implemented. Each thing chgsync will say about them is one *obligation*: a row with a stable key,
a kind and a due time, which the daemon's scheduler fires once (see
:mod:`chgsync.daemon.scheduler`).

This module is the pure part: from a change and the policy, which obligations exist
(:func:`plan`), whether one is already settled by the change itself (:func:`settle`), and what
its notification says (:func:`notice`). Nothing here reads a clock or a database, so the whole
timetable is table-testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .lifecycle import TERMINAL, ChangeType, State
from .model import Change, point_label
from .policy import Policy
from .schedule import format_local

#: An emergency is open, and owes status updates, from Implementing until it is Closed.
OPEN_STATES = frozenset({State.IMPLEMENTING, State.IMPLEMENTED})

RETROSPECTIVE_REMINDER = "retrospective_reminder"
RETROSPECTIVE_ESCALATION = "retrospective_escalation"
POSTMORTEM_REMINDER = "postmortem_reminder"
POSTMORTEM_ESCALATION = "postmortem_escalation"
STATUS_UPDATE = "status_update"
VALIDATION = "validation"

#: Row statuses. ``open``: not fired yet. ``notified``: its notification went out and what it asks
#: for is still owed. ``done``: fired, nothing more owed (status updates). ``met``: what it asks for
#: was done. ``cancelled``: no longer applies (the change ended without it).
OPEN, NOTIFIED, DONE, MET, CANCELLED = "open", "notified", "done", "met", "cancelled"
#: Statuses still owed: settled by :func:`settle` when the change fulfils them.
OWED = (OPEN, NOTIFIED)

_DUTIES: dict[str, tuple[str, str, str]] = {
    # duty → (link field on change.emergency, deadline field on change.emergency, words)
    "retrospective": ("retrospective_link", "retrospective_due", "retrospective ticket"),
    "postmortem": ("postmortem_link", "postmortem_due", "post-mortem"),
}
_KINDS: dict[str, tuple[str, str]] = {  # kind → (duty, reminder | escalation)
    RETROSPECTIVE_REMINDER: ("retrospective", "reminder"),
    RETROSPECTIVE_ESCALATION: ("retrospective", "escalation"),
    POSTMORTEM_REMINDER: ("postmortem", "reminder"),
    POSTMORTEM_ESCALATION: ("postmortem", "escalation"),
}


@dataclass(frozen=True)
class Planned:
    """One obligation as the change and the policy define it: ``key`` is unique and stable."""

    key: str
    change_id: str
    kind: str
    due_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


def deadlines(change: Change, policy: Policy) -> dict[str, datetime]:
    """The retrospective and post-mortem deadlines of an Implemented emergency change.

    A deadline written on the change wins (a change manager may grant more time); otherwise it is
    counted from when the change entered Implemented. Empty for anything else.
    """
    implemented = _implemented(change)
    if change.type != ChangeType.EMERGENCY or implemented is None:
        return {}
    e = change.emergency
    counted = {"retrospective": implemented + policy.emergency.retrospective_due,
               "postmortem": implemented + policy.emergency.postmortem_due}
    return {duty: (getattr(e, spec[1], None) if e is not None else None) or counted[duty]
            for duty, spec in _DUTIES.items()}


def _implemented(change: Change) -> datetime | None:
    if change.state not in (State.IMPLEMENTED, State.CLOSED):
        return None
    return change.entered(State.IMPLEMENTED)


def _open_since(change: Change) -> datetime | None:
    return change.entered(State.IMPLEMENTING) or change.entered(State.IMPLEMENTED)


def status_slot(change: Change, policy: Policy, slot: int) -> Planned | None:
    """The ``slot``-th status update of an open emergency (slot 1 is due one interval after Implementing)."""
    since = _open_since(change)
    if change.type != ChangeType.EMERGENCY or since is None:
        return None
    every = policy.emergency.status_update_every
    return Planned(f"{change.id}:status_update:{slot}", change.id, STATUS_UPDATE, since + slot * every,
                   {"slot": slot})


def next_status_slot(change: Change, policy: Policy, after: datetime) -> Planned | None:
    """The first status update due strictly after ``after``: after downtime, one catch-up, not a burst."""
    since = _open_since(change)
    if change.type != ChangeType.EMERGENCY or since is None or change.state not in OPEN_STATES:
        return None
    every = policy.emergency.status_update_every
    slot = max(1, (after - since) // every + 1)
    return status_slot(change, policy, slot)


def plan(change: Change, policy: Policy) -> list[Planned]:
    """Every obligation the change carries now (later status updates are chained as each one fires)."""
    if change.state in TERMINAL:
        return []
    out: list[Planned] = []
    if change.state in OPEN_STATES and (first := status_slot(change, policy, 1)) is not None:
        out.append(first)
    for duty, due in deadlines(change, policy).items():
        words = _DUTIES[duty][2]
        out.append(Planned(f"{change.id}:{duty}:reminder", change.id, f"{duty}_reminder",
                           due - policy.emergency.remind_before, {"due": due.isoformat(), "what": words}))
        out.append(Planned(f"{change.id}:{duty}:escalation", change.id, f"{duty}_escalation",
                           due + policy.emergency.escalate_after, {"due": due.isoformat(), "what": words}))
    implemented = _implemented(change)
    if implemented is not None:
        for point in policy.validation_points:
            label = point_label(point)
            out.append(Planned(f"{change.id}:validation:{label}", change.id, VALIDATION, implemented + point,
                               {"point": point.total_seconds(), "label": label}))
    return out


def settle(change: Change | None, kind: str, detail: dict[str, Any]) -> str | None:
    """``met`` or ``cancelled`` when the change itself has settled the obligation, else None (still owed)."""
    if change is None:
        return CANCELLED
    ended = change.state in TERMINAL
    if kind == STATUS_UPDATE:
        return None if change.state in OPEN_STATES else CANCELLED
    if kind in _KINDS:
        link = getattr(change.emergency, _DUTIES[_KINDS[kind][0]][0], None) if change.emergency else None
        return MET if link else CANCELLED if ended else None
    if kind == VALIDATION:
        point = timedelta(seconds=float(detail.get("point", 0)))
        return MET if change.validation(point) is not None else CANCELLED if ended else None
    return None


def _owner(change: Change) -> str:
    return change.implementer or change.requester or ""


def notice(change: Change, kind: str, detail: dict[str, Any], due_at: datetime, policy: Policy) -> dict[str, Any]:
    """The outbox ``notify`` payload for an obligation that fell due and is still owed."""
    zone = policy.zone
    if kind in _KINDS:
        duty, step = _KINDS[kind]
        link_field, _, words = _DUTIES[duty]
        due = datetime.fromisoformat(str(detail["due"]))
        if step == "reminder":
            text = (f"Reminder: the {words} for emergency change {change.id} ({change.title}) is due "
                    f"{format_local(due, zone)}; link it on the change (emergency.{link_field}) when it exists.")
            return {"event": kind, "to": _owner(change), "text": text, "due": due.isoformat()}
        authority = change.emergency.authorizer if change.emergency else None
        text = (f"Overdue: the {words} for emergency change {change.id} ({change.title}) was due "
                f"{format_local(due, zone)} and is still not linked (emergency.{link_field}).")
        return {"event": kind, "to": authority or change.requester or "", "text": text, "due": due.isoformat()}
    if kind == STATUS_UPDATE:
        every = policy.emergency.status_update_every
        minutes = int(every.total_seconds() // 60)
        text = (f"Status update due for emergency change {change.id} ({change.title}), {change.state.label}: "
                f"tell the stakeholders where it stands. One is due every {minutes} minutes until it is Closed.")
        return {"event": kind, "to": _owner(change), "text": text, "due": due_at.isoformat(),
                "slot": detail.get("slot")}
    label = str(detail.get("label", ""))
    text = (f"The {label} validation of {change.id} ({change.title}) is due {format_local(due_at, zone)}: check "
            f"it and record the result with `chgsync validate-point {change.id} --point {label} --result "
            "pass|fail`.")
    return {"event": "validation_due", "to": _owner(change), "text": text, "due": due_at.isoformat(),
            "point": label}
