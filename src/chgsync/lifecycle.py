"""The canonical lifecycle: which state may follow which, per change type.

Only the shape of the graph lives here; whether a particular change may take an allowed edge (has
it the approvals, the lead time, the window...) is decided by the rules in :mod:`chgsync.rules`.

::

    normal     Draft → CAB Review → Approved → Scheduled → Implementing → Implemented → Closed
                          ├→ Draft (deferred, with the CAB's reason)
                          └→ Rejected
    standard   Draft → Scheduled → Implementing → Implemented → Closed   (catalog runbook, no CAB)
    emergency  Draft → Implementing (designated authority) or Draft → CAB Review (e-CAB) → Approved
               → Implementing, optionally via Scheduled
    any type   Draft, CAB Review, Approved, Scheduled → Cancelled
"""

from __future__ import annotations

from enum import StrEnum


class ChangeType(StrEnum):
    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"


class State(StrEnum):
    DRAFT = "draft"
    CAB_REVIEW = "cab_review"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    IMPLEMENTING = "implementing"
    IMPLEMENTED = "implemented"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    State.DRAFT: "Draft",
    State.CAB_REVIEW: "CAB Review",
    State.APPROVED: "Approved",
    State.SCHEDULED: "Scheduled",
    State.IMPLEMENTING: "Implementing",
    State.IMPLEMENTED: "Implemented",
    State.CLOSED: "Closed",
    State.REJECTED: "Rejected",
    State.CANCELLED: "Cancelled",
}

TERMINAL: frozenset[State] = frozenset({State.CLOSED, State.REJECTED, State.CANCELLED})
CANCELLABLE: frozenset[State] = frozenset({State.DRAFT, State.CAB_REVIEW, State.APPROVED, State.SCHEDULED})

_S = State
_COMMON_TAIL: dict[State, frozenset[State]] = {
    _S.IMPLEMENTING: frozenset({_S.IMPLEMENTED}),
    _S.IMPLEMENTED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.CANCELLED: frozenset(),
}

EDGES: dict[ChangeType, dict[State, frozenset[State]]] = {
    ChangeType.NORMAL: {
        _S.DRAFT: frozenset({_S.CAB_REVIEW, _S.CANCELLED}),
        _S.CAB_REVIEW: frozenset({_S.APPROVED, _S.DRAFT, _S.REJECTED, _S.CANCELLED}),
        _S.APPROVED: frozenset({_S.SCHEDULED, _S.CANCELLED}),
        _S.SCHEDULED: frozenset({_S.IMPLEMENTING, _S.CANCELLED}),
        **_COMMON_TAIL,
    },
    ChangeType.STANDARD: {
        _S.DRAFT: frozenset({_S.SCHEDULED, _S.CANCELLED}),
        # never entered by a standard change, but one that arrives there (say, retyped from normal in
        # a ticketing tool) may still be cancelled, as any change in a cancellable state may
        _S.CAB_REVIEW: frozenset({_S.CANCELLED}),
        _S.APPROVED: frozenset({_S.CANCELLED}),
        _S.SCHEDULED: frozenset({_S.IMPLEMENTING, _S.CANCELLED}),
        **_COMMON_TAIL,
    },
    ChangeType.EMERGENCY: {
        _S.DRAFT: frozenset({_S.CAB_REVIEW, _S.IMPLEMENTING, _S.CANCELLED}),
        _S.CAB_REVIEW: frozenset({_S.APPROVED, _S.DRAFT, _S.REJECTED, _S.CANCELLED}),
        _S.APPROVED: frozenset({_S.SCHEDULED, _S.IMPLEMENTING, _S.CANCELLED}),
        _S.SCHEDULED: frozenset({_S.IMPLEMENTING, _S.CANCELLED}),
        **_COMMON_TAIL,
    },
}


def allowed_targets(change_type: ChangeType, current: State) -> frozenset[State]:
    return EDGES[change_type][current]


def is_allowed(change_type: ChangeType, current: State, target: State) -> bool:
    return target in EDGES[change_type][current]


def path(change_type: ChangeType, start: State, goal: State) -> list[State] | None:
    """The shortest sequence of states after ``start`` that ends in ``goal`` (breadth first), or None."""
    if start == goal:
        return []
    frontier: list[list[State]] = [[start]]
    seen = {start}
    while frontier:
        nxt: list[list[State]] = []
        for route in frontier:
            for target in sorted(EDGES[change_type][route[-1]]):
                if target in seen:
                    continue
                if target == goal:
                    return route[1:] + [target]
                seen.add(target)
                nxt.append(route + [target])
        frontier = nxt
    return None


def happy_path(change_type: ChangeType) -> list[State]:
    """The states a change of this type passes through when all goes well, Draft first."""
    return [State.DRAFT] + (path(change_type, State.DRAFT, State.CLOSED) or [])
