"""The guard returns every violation of every rule, never just the first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chgsync.lifecycle import State


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_change_with_many_problems_gets_all_of_them(make_change: Any, check: Any) -> None:
    checker = check.with_policy(blackouts=[{"name": "Freeze", "start": "2026-11-11T00:00:00Z",
                                            "end": "2026-11-12T00:00:00Z"}])
    change = make_change("normal", state="scheduled", set={
        "justification.reason": None,
        "schedule.planned_start": "2026-11-11T02:00:00Z",     # a Wednesday: no window, inside the freeze
        "schedule.planned_end": "2026-11-11T03:00:00Z",
        "schedule.estimated_duration": "PT2H",
        "cab.approvals[0].approver": "dana@example.com",      # the requester
        "checklist.backup_verified": False,
        "checklist.oncall_available": False,
    })
    other = make_change("normal", set={"id": "CHG-101", "state": "implementing",
                                       "schedule.planned_start": "2026-11-11T02:30:00Z",
                                       "schedule.planned_end": "2026-11-11T03:30:00Z"})
    found = checker.guard.check(change, State.IMPLEMENTING, T("2026-11-11T01:00:00Z"), [other])
    assert sorted((v.rule, v.code, v.field) for v in found) == sorted([
        ("completeness", "missing.justification.reason", "justification.reason"),
        ("approvals", "approval.self_approval", "cab.approvals[0]"),
        ("window", "window.outside", "schedule.planned_start"),
        ("window", "window.not_open", "schedule.planned_start"),
        ("window", "schedule.estimate_exceeds_window", "schedule.estimated_duration"),
        ("blackout", "blackout.overlap", "schedule.planned_start"),
        ("conflicts", "conflict.overlap", "implementation.systems"),
        ("checklist", "checklist.incomplete", "checklist.backup_verified"),
        ("checklist", "checklist.incomplete", "checklist.oncall_available"),
    ])


def test_a_move_off_the_lifecycle_is_still_judged_by_every_other_rule(make_change: Any, check: Any) -> None:
    change = make_change("normal", set={"checklist.rollback_tested": False, "rollback.steps": []})
    assert check(change, "implementing", T("2026-11-02T09:00:00Z")) == sorted([
        ("transition.not_allowed", "state"),
        ("missing.rollback.steps", "rollback.steps"),
        ("window.not_open", "schedule.planned_start"),
        ("checklist.incomplete", "checklist.rollback_tested"),
    ])


def test_violations_come_in_rule_order(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="cab_review", set={"risks": [], "cab.approvals": []})
    found = check.guard.check(change, State.APPROVED, T("2026-11-03T11:00:00Z"))
    assert [v.rule for v in found] == ["completeness"] + ["approvals"] * 4
    assert [v.as_dict()["code"] for v in found] == ["missing.risks"] + ["approval.missing"] * 4
    assert set(found[0].as_dict()) == {"code", "message", "field", "rule"}
