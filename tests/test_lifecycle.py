"""The lifecycle graph per change type, and complete changes walking their happy paths through Guard.move."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from chgsync import lifecycle
from chgsync.lifecycle import ChangeType, State
from chgsync.rules import BUILTIN_RULES
from chgsync.validation import Guard, TransitionRefused

N, S, E = ChangeType.NORMAL, ChangeType.STANDARD, ChangeType.EMERGENCY
D, CR, AP, SC, IM, ID, CL, RJ, CA = (State.DRAFT, State.CAB_REVIEW, State.APPROVED, State.SCHEDULED,
                                      State.IMPLEMENTING, State.IMPLEMENTED, State.CLOSED, State.REJECTED,
                                      State.CANCELLED)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


# The lifecycle as the module docstring and the issue describe it, written out by hand. Any type may be
# cancelled from Draft, CAB Review, Approved and Scheduled.
SPEC: dict[ChangeType, dict[State, set[State]]] = {
    N: {D: {CR, CA}, CR: {AP, D, RJ, CA}, AP: {SC, CA}, SC: {IM, CA}, IM: {ID}, ID: {CL},
        CL: set(), RJ: set(), CA: set()},
    S: {D: {SC, CA}, CR: {CA}, AP: {CA}, SC: {IM, CA}, IM: {ID}, ID: {CL},
        CL: set(), RJ: set(), CA: set()},
    E: {D: {CR, IM, CA}, CR: {AP, D, RJ, CA}, AP: {SC, IM, CA}, SC: {IM, CA}, IM: {ID}, ID: {CL},
        CL: set(), RJ: set(), CA: set()},
}
TERMINAL = {CL, RJ, CA}


def expected_outcome(change_type: ChangeType, source: State, target: State) -> str:
    if source == target:
        return "transition.same_state"
    if source in TERMINAL:
        return "transition.from_terminal"
    return "allowed" if target in SPEC[change_type][source] else "transition.not_allowed"


ALL_PAIRS = [
    pytest.param(ct, src, dst, expected_outcome(ct, src, dst),
                 id=f"{ct.value}-{src.value}->{dst.value}-{expected_outcome(ct, src, dst).removeprefix('transition.')}")
    for ct, src, dst in itertools.product(ChangeType, State, State)
]


def test_the_graph_is_the_specified_one() -> None:
    assert {ct: {s: set(t) for s, t in edges.items()} for ct, edges in lifecycle.EDGES.items()} == SPEC
    assert lifecycle.TERMINAL == TERMINAL


@pytest.mark.parametrize("change_type", list(ChangeType), ids=str)
@pytest.mark.parametrize("state", sorted(lifecycle.CANCELLABLE), ids=str)
def test_every_cancellable_state_may_be_cancelled(change_type: ChangeType, state: State) -> None:
    assert lifecycle.is_allowed(change_type, state, CA)


@pytest.mark.parametrize(("change_type", "source", "target", "outcome"), ALL_PAIRS)
def test_every_pair_of_states(make_change: Any, policy: Any, now: datetime, change_type: ChangeType,
                              source: State, target: State, outcome: str) -> None:
    only_lifecycle = Guard(policy, rules=[r for r in BUILTIN_RULES if r.name == "lifecycle"])
    change = make_change(change_type, state=source)
    found = only_lifecycle.check(change, target, now)
    assert lifecycle.is_allowed(change_type, source, target) == (outcome == "allowed")
    if outcome == "allowed":
        assert found == []
    else:
        assert [(v.code, v.field, v.rule) for v in found] == [(outcome, "state", "lifecycle")]
        message = found[0].message
        assert target.label in message if outcome == "transition.not_allowed" else change.id in message
        assert source.label in message


def test_not_allowed_names_the_states_that_are(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="draft")
    guard = Guard(check.policy, rules=[r for r in BUILTIN_RULES if r.name == "lifecycle"])
    [v] = guard.check(change, State.IMPLEMENTING, T("2026-11-02T09:00:00Z"))
    assert v.message == ("A normal change cannot go from Draft to Implementing; from Draft it may go to "
                         "CAB Review, Cancelled.")
    [v] = guard.check(make_change("emergency", state="implemented"), State.DRAFT, T("2026-11-02T09:00:00Z"))
    assert v.message.startswith("An emergency change cannot go from Implemented to Draft")


@pytest.mark.parametrize(("change_type", "start", "goal", "expected"), [
    pytest.param(N, D, CL, [CR, AP, SC, IM, ID, CL], id="normal-draft-to-closed"),
    pytest.param(N, D, D, [], id="normal-already-there"),
    pytest.param(N, CR, RJ, [RJ], id="normal-cab-rejects"),
    pytest.param(N, CR, D, [D], id="normal-cab-defers"),
    pytest.param(N, CL, D, None, id="normal-closed-is-final"),
    pytest.param(N, RJ, CL, None, id="normal-rejected-never-closes"),
    pytest.param(S, D, CL, [SC, IM, ID, CL], id="standard-draft-to-closed"),
    pytest.param(S, D, AP, None, id="standard-never-approved"),
    pytest.param(S, D, RJ, None, id="standard-never-rejected"),
    pytest.param(E, D, CL, [IM, ID, CL], id="emergency-draft-to-closed-skips-ecab"),
    pytest.param(E, CR, CL, [AP, IM, ID, CL], id="emergency-ecab-to-closed"),
    pytest.param(E, D, SC, [CR, AP, SC], id="emergency-to-scheduled-via-ecab"),
    pytest.param(E, SC, CL, [IM, ID, CL], id="emergency-scheduled-to-closed"),
])
def test_path(change_type: ChangeType, start: State, goal: State, expected: list[State] | None) -> None:
    assert lifecycle.path(change_type, start, goal) == expected


@pytest.mark.parametrize(("change_type", "expected"), [
    pytest.param(N, [D, CR, AP, SC, IM, ID, CL], id="normal"),
    pytest.param(S, [D, SC, IM, ID, CL], id="standard"),
    pytest.param(E, [D, IM, ID, CL], id="emergency"),
])
def test_happy_path(change_type: ChangeType, expected: list[State]) -> None:
    assert lifecycle.happy_path(change_type) == expected


def test_state_labels() -> None:
    assert [s.label for s in State] == ["Draft", "CAB Review", "Approved", "Scheduled", "Implementing",
                                        "Implemented", "Closed", "Rejected", "Cancelled"]


# -- complete changes walking their happy paths --------------------------------------------------------
# (target, time of the move, fields filled in just before it as a person would).
ACTUALS = {"outcome": "successful"}


def passes(implemented: str) -> list[dict[str, str]]:
    """Passing results at each default validation point (0 h, 24 h, 7 d after ``implemented``), made when due."""
    return [{"point": f"PT{hours}H", "result": "pass", "by": "vic@example.com",
             "at": (T(implemented) + timedelta(hours=hours)).isoformat()} for hours in (0, 24, 168)]
WALKS: dict[str, tuple[ChangeType, dict[str, Any], list[tuple[State, str, dict[str, Any]]]]] = {
    "normal": (N, {}, [
        (CR, "2026-11-02T09:00:00Z", {}),
        (AP, "2026-11-03T11:00:00Z", {}),
        (SC, "2026-11-04T09:00:00Z", {}),
        (IM, "2026-11-10T02:05:00Z", {}),
        (ID, "2026-11-10T02:50:00Z", {**ACTUALS, "schedule.actual_start": "2026-11-10T02:05:00Z",
                                       "schedule.actual_end": "2026-11-10T02:50:00Z"}),
        (CL, "2026-11-17T09:00:00Z", {"close_notes": "Upgraded; lag under 1 s.",
                                       "validations": passes("2026-11-10T02:50:00Z")}),
    ]),
    "standard": (S, {}, [
        (SC, "2026-11-02T09:00:00Z", {}),
        (IM, "2026-11-05T02:01:00Z", {}),
        (ID, "2026-11-05T02:25:00Z", {**ACTUALS, "schedule.actual_start": "2026-11-05T02:01:00Z",
                                       "schedule.actual_end": "2026-11-05T02:25:00Z"}),
        (CL, "2026-11-05T09:00:00Z", {"close_notes": "Rotated.", "validations": passes("2026-11-05T02:25:00Z")[:1],
                                       "close_override": {"by": "cam@example.com", "at": "2026-11-05T09:00:00Z",
                                                          "reason": "A runbook change; the 0 h check is enough."}}),
    ]),
    "emergency": (E, {}, [
        (IM, "2026-11-02T09:00:00Z", {}),
        (ID, "2026-11-02T09:20:00Z", {**ACTUALS, "schedule.actual_start": "2026-11-02T09:00:00Z",
                                       "schedule.actual_end": "2026-11-02T09:20:00Z"}),
        (CL, "2026-11-09T16:00:00Z", {"close_notes": "Rolled back.", "validations": passes("2026-11-02T09:20:00Z"),
                                       "emergency.retrospective_link": "https://jira.example.com/RETRO-1",
                                       "emergency.postmortem_link": "https://wiki.example.com/pm/1"}),
    ]),
    "emergency-via-ecab-and-scheduled": (E, {
        "cab.approvals": [{"role": "ecab", "approver": "erin@example.com", "decision": "approve",
                           "at": "2026-11-02T08:50:00Z"}],
        "schedule.planned_start": "2026-11-02T10:00:00Z", "schedule.planned_end": "2026-11-02T10:30:00Z",
    }, [
        (CR, "2026-11-02T09:00:00Z", {}),
        (AP, "2026-11-02T09:10:00Z", {}),
        (SC, "2026-11-02T09:15:00Z", {}),
        (IM, "2026-11-02T10:00:00Z", {}),
        (ID, "2026-11-02T10:25:00Z", {**ACTUALS, "schedule.actual_start": "2026-11-02T10:00:00Z",
                                       "schedule.actual_end": "2026-11-02T10:25:00Z"}),
        (CL, "2026-11-09T16:00:00Z", {"close_notes": "Done.", "validations": passes("2026-11-02T10:25:00Z"),
                                       "emergency.retrospective_link": "https://jira.example.com/RETRO-2",
                                       "emergency.postmortem_link": "https://wiki.example.com/pm/2"}),
    ]),
}


@pytest.mark.parametrize("walk", list(WALKS))
def test_a_complete_change_walks_its_whole_path(make_change: Any, guard: Guard, updated: Any, walk: str) -> None:
    change_type, start_fields, steps = WALKS[walk]
    change = make_change(change_type, set=start_fields)
    assert change.state == D
    for target, at, fill in steps:
        if fill:
            change = updated(change, **{k.replace(".", "__"): v for k, v in fill.items()})
        source = change.state
        assert guard.check(change, target, T(at)) == [], f"{source} -> {target}"
        change = guard.move(change, target, T(at), by="sam@example.com")
        assert change.state == target
        assert change.history[-1].from_state == source
        assert change.history[-1].at == T(at)
        assert change.history[-1].by == "sam@example.com"
    assert change.state == CL
    assert [h.to_state for h in change.history] == [target for target, _, _ in steps]
    if not start_fields:
        assert [D, *[h.to_state for h in change.history]] == lifecycle.happy_path(change_type)


def test_a_refused_move_lists_every_violation_and_changes_nothing(make_change: Any, guard: Guard) -> None:
    change = make_change("normal", state="scheduled", set={"checklist.backup_verified": False,
                                                           "checklist.oncall_available": False})
    at = T("2026-11-10T01:00:00Z")  # before the planned start as well
    with pytest.raises(TransitionRefused) as refused:
        guard.move(change, IM, at)
    err = refused.value
    assert (err.change_id, err.source, err.target) == ("CHG-100", SC, IM)
    assert sorted((v.code, v.field) for v in err.violations) == [
        ("checklist.incomplete", "checklist.backup_verified"),
        ("checklist.incomplete", "checklist.oncall_available"),
        ("window.not_open", "schedule.planned_start"),
    ]
    text = str(err)
    assert text.startswith("CHG-100 cannot move from Scheduled to Implementing (3 violations):")
    for v in err.violations:
        assert f"{v.message} [{v.code}]" in text
    assert change.state == SC and change.history == []


def test_a_single_violation_is_singular(make_change: Any, guard: Guard, now: datetime) -> None:
    with pytest.raises(TransitionRefused, match=r"\(1 violation\):"):
        guard.move(make_change("normal", state="closed"), CA, now)


def test_guard_needs_an_aware_time(make_change: Any, guard: Guard, now: datetime) -> None:
    assert guard.check(make_change("normal"), CR, now) == []
    with pytest.raises(ValueError, match="has no zone"):
        guard.check(make_change("normal"), CR, now.replace(tzinfo=None))


def test_default_guard_runs_the_builtin_rules() -> None:
    assert [r.name for r in Guard().rules] == [r.name for r in BUILTIN_RULES]
    assert {r.plugin for r in Guard().rules} == {"chgsync.rules"}
