"""The change_request state model per type, as the out-of-box scripts define it.

The allowed moves are those of the platform's ``ChangeRequestStateModel_normal/_emergency/_standard``
script includes, with one documented exception: the scripts list Review -> Canceled but the product
disables cancelling in Review, so the emulator refuses it. Every other move, including a move to the
state the change is already in, is refused with the business-rule abort (HTTP 403) that the
``Change Model: Check State Transition`` rule produces through the Table API.

Guards on top of the graph (each switchable in :class:`Settings`):

- normal and emergency changes enter Scheduled only with ``approval=approved`` (what the Authorize
  step's approvals produce); standard changes are pre-approved and get ``approval=approved`` there;
- Closed needs ``close_code`` and ``close_notes`` (the product's mandatory-field policy), which may
  be sent in the same write as the state.

Side effects of entering a state follow the scripts and the approval workflow: Implement sets
``work_start`` and Review ``work_end`` when empty; Closed/Canceled set ``active=false``,
``closed_at``/``closed_by``; Canceled clears ``on_hold``; Assess and Authorize request approvals;
going back to New (from Assess/Authorize) cancels pending approvals and resets ``approval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import business_rule_abort, data_policy_exception
from .schema import CHANGE_REQUEST
from .store import Record

NEW, ASSESS, AUTHORIZE, SCHEDULED, IMPLEMENT, REVIEW, CLOSED, CANCELED = (
    "-5",
    "-4",
    "-3",
    "-2",
    "-1",
    "0",
    "3",
    "4",
)

#: from-state -> states it may move to, per change type.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "normal": {
        NEW: frozenset({ASSESS, CANCELED}),
        ASSESS: frozenset({NEW, AUTHORIZE, SCHEDULED, CANCELED}),
        AUTHORIZE: frozenset({NEW, SCHEDULED, CANCELED}),
        SCHEDULED: frozenset({IMPLEMENT, CANCELED}),
        IMPLEMENT: frozenset({REVIEW, CANCELED}),
        REVIEW: frozenset({CLOSED}),
    },
    "emergency": {
        NEW: frozenset({AUTHORIZE, SCHEDULED, CANCELED}),
        AUTHORIZE: frozenset({NEW, SCHEDULED, CANCELED}),
        SCHEDULED: frozenset({IMPLEMENT, CANCELED}),
        IMPLEMENT: frozenset({REVIEW, CANCELED}),
        REVIEW: frozenset({CLOSED}),
    },
    "standard": {
        NEW: frozenset({SCHEDULED, CANCELED}),
        SCHEDULED: frozenset({IMPLEMENT, CANCELED}),
        IMPLEMENT: frozenset({REVIEW, CANCELED}),
        REVIEW: frozenset({CLOSED}),
    },
}

CLOSE_FIELDS = ("close_code", "close_notes")

Stage = Literal["assess", "authorize"]


@dataclass
class Settings:
    """Instance behaviour a test may switch, the way an administrator could on a real instance."""

    time_zone: str = "America/Los_Angeles"
    strict_queries: bool = False
    require_approval: bool = True
    require_close_fields: bool = True


def allowed_moves(change_type: str, state: str) -> frozenset[str]:
    return TRANSITIONS.get(change_type, {}).get(state, frozenset())


def check_move(before: Record, after: Record, settings: Settings) -> None:
    """Refuse a state write the model forbids; ``after`` holds the record as this write would leave it."""
    source, target, change_type = before.get("state", ""), after.get("state", ""), after.get("type", "")
    if target not in allowed_moves(change_type, source):
        raise business_rule_abort(CHANGE_REQUEST.name)
    if (
        target == SCHEDULED
        and change_type in ("normal", "emergency")
        and settings.require_approval
        and after.get("approval") != "approved"
    ):
        raise business_rule_abort(CHANGE_REQUEST.name)
    if target == CLOSED and settings.require_close_fields:
        missing = [CHANGE_REQUEST.fields[f].title for f in CLOSE_FIELDS if not after.get(f, "").strip()]
        if missing:
            raise data_policy_exception(missing)


def enter(before: Record, after: Record, now: str, user_sys_id: str) -> tuple[Stage | None, bool]:
    """Apply the side effects of entering ``after['state']`` to ``after``.

    Returns the approval stage to request (if any) and whether pending approvals must be cancelled.
    """
    source, target, change_type = before.get("state", ""), after["state"], after.get("type", "")
    stage: Stage | None = None
    cancel_pending = False
    if target == IMPLEMENT and not after.get("work_start"):
        after["work_start"] = now
    elif target == REVIEW and not after.get("work_end"):
        after["work_end"] = now
    elif target in (CLOSED, CANCELED):
        after["active"] = "false"
        after["closed_at"] = now
        after["closed_by"] = user_sys_id
        cancel_pending = True
        if target == CANCELED:
            after["on_hold"] = "false"
    elif target == ASSESS:
        after["approval"] = "requested"
        stage, cancel_pending = "assess", True
    elif target == AUTHORIZE:
        after["approval"] = "requested"
        stage, cancel_pending = "authorize", True
    elif target == NEW and source in (ASSESS, AUTHORIZE):
        if after.get("approval") != "rejected":
            after["approval"] = "not requested"
        cancel_pending = True
    elif target == SCHEDULED:
        if change_type == "standard":
            after["approval"] = "approved"
        if after.get("approval") == "approved" and not after.get("approval_set"):
            after["approval_set"] = now
        cancel_pending = True
    return stage, cancel_pending
