"""The blackout and conflicts rules. The normal change is planned Tuesday 2026-11-10 02:00-03:00 UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from chgsync.lifecycle import State

AT_SCHEDULE = "2026-11-03T12:00:00Z"
OVERLAP = ("blackout.overlap", "schedule.planned_start")
NOT_ALLOWED = ("blackout.override_not_allowed", "cab.overrides")
CONFLICT = ("conflict.overlap", "implementation.systems")


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def blackout(start: str, end: str, name: str = "Patch freeze", **extra: Any) -> dict[str, Any]:
    return {"name": name, "start": start, "end": end, **extra}


def override(blackout_name: str = "Patch freeze", role: str = "change_manager") -> dict[str, Any]:
    return {"blackout": blackout_name, "by": f"{role}@example.com", "role": role, "reason": "Security fix",
            "at": "2026-11-03T10:00:00Z"}


# -- blackouts -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("blackouts", "expected"), [
    pytest.param([blackout("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z")], [OVERLAP], id="covers-the-change"),
    pytest.param([blackout("2026-11-10T02:30:00Z", "2026-11-10T02:40:00Z")], [OVERLAP], id="inside-the-change"),
    pytest.param([blackout("2026-11-09T00:00:00Z", "2026-11-10T02:00:00Z")], [], id="ends-as-the-change-starts"),
    pytest.param([blackout("2026-11-10T03:00:00Z", "2026-11-12T00:00:00Z")], [], id="starts-as-the-change-ends"),
    pytest.param([blackout("2026-11-10T04:00:00+01:00", "2026-11-10T06:00:00+01:00")], [],
                 id="touching-written-in-another-offset"),
    pytest.param([blackout("2026-11-09T00:00:00Z", "2026-11-10T02:01:00Z")], [OVERLAP], id="one-minute-overlap-start"),
    pytest.param([blackout("2026-11-10T02:59:00Z", "2026-11-12T00:00:00Z")], [OVERLAP], id="one-minute-overlap-end"),
    pytest.param([blackout("2026-11-09T00:00:00Z", "2026-11-10T02:30:00Z", name="A"),
                  blackout("2026-11-10T02:30:00Z", "2026-11-11T00:00:00Z", name="B")], [OVERLAP, OVERLAP],
                 id="each-blackout-reported"),
    pytest.param([blackout("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z", applies_to=["standard"])], [],
                 id="not-for-normal-changes"),
])
def test_blackout_overlap(make_change: Any, check: Any, blackouts: list[dict[str, Any]],
                          expected: list[tuple[str, str]]) -> None:
    checker = check.with_policy(blackouts=blackouts)
    assert checker(make_change("normal", state="approved"), "scheduled", T(AT_SCHEDULE)) == expected


def test_blackout_message(make_change: Any, check: Any) -> None:
    checker = check.with_policy(blackouts=[blackout("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z",
                                                    reason="quarter-end close")])
    [v] = checker.guard.check(make_change("normal", state="approved"), State.SCHEDULED, T(AT_SCHEDULE))
    assert v.message == ("CHG-100 overlaps blackout 'Patch freeze' (Mon 2026-11-09 00:00 UTC to Wed 2026-11-11 "
                         "00:00 UTC): quarter-end close.")


FREEZE = [blackout("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z", override_roles=["change_manager", "cto"])]


@pytest.mark.parametrize(("overrides", "expected"), [
    pytest.param([override(role="change_manager")], [], id="allowed-role"),
    pytest.param([override(role="cto")], [], id="another-allowed-role"),
    pytest.param([override(role="technical_lead")], [NOT_ALLOWED, OVERLAP], id="role-not-allowed"),
    pytest.param([override(role="technical_lead"), override(role="security")], [NOT_ALLOWED, NOT_ALLOWED, OVERLAP],
                 id="each-disallowed-override-reported"),
    pytest.param([override(role="technical_lead"), override(role="cto")], [], id="one-allowed-is-enough"),
    pytest.param([override(blackout_name="Year-end freeze", role="cto")], [OVERLAP], id="overrides-another-blackout"),
])
def test_blackout_overrides(make_change: Any, check: Any, overrides: list[dict[str, Any]],
                            expected: list[tuple[str, str]]) -> None:
    checker = check.with_policy(blackouts=FREEZE)
    change = make_change("normal", state="approved", set={"cab.overrides": overrides})
    assert checker(change, "scheduled", T(AT_SCHEDULE)) == sorted(expected)


def test_disallowed_override_message(make_change: Any, check: Any) -> None:
    checker = check.with_policy(blackouts=FREEZE)
    change = make_change("normal", state="approved", set={"cab.overrides": [override(role="technical_lead")]})
    found = checker.guard.check(change, State.SCHEDULED, T(AT_SCHEDULE))
    assert found[0].message == ("technical_lead@example.com overrode blackout 'Patch freeze' as technical lead, but "
                                "only change manager, cto may.")


def test_default_override_role_is_the_change_manager(make_change: Any, check: Any) -> None:
    checker = check.with_policy(blackouts=[blackout("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z")])
    allowed = make_change("normal", state="approved", set={"cab.overrides": [override(role="change_manager")]})
    refused = make_change("normal", state="approved", set={"cab.overrides": [override(role="cto")]})
    assert checker(allowed, "scheduled", T(AT_SCHEDULE)) == []
    assert checker(refused, "scheduled", T(AT_SCHEDULE)) == sorted([NOT_ALLOWED, OVERLAP])


@pytest.mark.parametrize(("applies_to", "estimate", "blackout_start", "expected"), [
    pytest.param(None, "PT20M", "2026-11-02T09:10:00Z", [], id="emergency-exempt-by-default"),
    pytest.param(["emergency"], "PT20M", "2026-11-02T09:10:00Z", [OVERLAP], id="emergency-listed"),
    pytest.param(["emergency"], "PT20M", "2026-11-02T09:20:00Z", [], id="starts-when-estimate-ends"),
    pytest.param(["emergency"], "PT30M", "2026-11-02T09:20:00Z", [OVERLAP], id="longer-estimate-overlaps"),
    pytest.param(["emergency"], None, "2026-11-02T09:01:00Z", [], id="no-estimate-counts-one-minute"),
    pytest.param(["emergency"], None, "2026-11-02T09:00:30Z", [OVERLAP], id="no-estimate-overlaps-first-minute"),
])
def test_emergency_without_planned_times_is_judged_from_now(make_change: Any, check: Any,
                                                            applies_to: list[str] | None, estimate: str | None,
                                                            blackout_start: str,
                                                            expected: list[tuple[str, str]]) -> None:
    extra = {} if applies_to is None else {"applies_to": applies_to}
    checker = check.with_policy(blackouts=[blackout(blackout_start, "2026-11-02T18:00:00Z", **extra)])
    change = make_change("emergency", set={"schedule.estimated_duration": estimate})
    assert checker(change, "implementing", T("2026-11-02T09:00:00Z")) == expected


@pytest.mark.parametrize(("change_type", "source", "target", "at", "expected"), [
    pytest.param("normal", "cab_review", "approved", "2026-11-03T11:00:00Z", [], id="not-judged-at-approval"),
    pytest.param("normal", "scheduled", "implementing", "2026-11-10T02:05:00Z", [OVERLAP], id="judged-at-start"),
    pytest.param("standard", "draft", "scheduled", "2026-11-02T09:00:00Z", [OVERLAP], id="standard"),
])
def test_when_blackouts_are_judged(make_change: Any, check: Any, change_type: str, source: str, target: str,
                                   at: str, expected: list[tuple[str, str]]) -> None:
    checker = check.with_policy(blackouts=[blackout("2026-11-04T00:00:00Z", "2026-11-11T00:00:00Z")])
    assert checker(make_change(change_type, state=source), target, T(at)) == expected


# -- conflicts -------------------------------------------------------------------------------------------
def other(start: str = "2026-11-10T02:30:00Z", end: str = "2026-11-10T03:30:00Z", *, id: str = "CHG-101",
          state: str = "scheduled", systems: tuple[str, ...] = ("orders-db",)) -> dict[str, Any]:
    return {"id": id, "state": state, "schedule.planned_start": start, "schedule.planned_end": end,
            "implementation.systems": list(systems)}


@pytest.mark.parametrize(("others", "expected"), [
    pytest.param([other()], [CONFLICT], id="same-system-overlapping"),
    pytest.param([other(systems=("ORDERS-DB",))], [CONFLICT], id="system-names-case-insensitive"),
    pytest.param([other(systems=("payments-db",))], [], id="different-systems"),
    pytest.param([other(id="CHG-100")], [], id="itself"),
    pytest.param([other("2026-11-10T03:00:00Z", "2026-11-10T04:00:00Z")], [], id="starts-as-mine-ends"),
    pytest.param([other("2026-11-10T01:00:00Z", "2026-11-10T02:00:00Z")], [], id="ends-as-mine-starts"),
    pytest.param([other("2026-11-10T02:59:00Z", "2026-11-10T04:00:00Z")], [CONFLICT], id="one-minute-overlap"),
    pytest.param([other(state="draft")], [], id="draft-not-counted"),
    pytest.param([other(state="cab_review")], [], id="cab-review-not-counted"),
    pytest.param([other(state="approved")], [CONFLICT], id="approved-counted"),
    pytest.param([other(state="implementing")], [CONFLICT], id="implementing-counted"),
    pytest.param([other(state="implemented")], [], id="implemented-not-counted"),
    pytest.param([other(state="cancelled")], [], id="cancelled-not-counted"),
    pytest.param([other(), other(id="CHG-102", systems=("orders-worker",))], [CONFLICT, CONFLICT],
                 id="each-conflict-reported"),
])
def test_conflicts(make_change: Any, check: Any, others: list[dict[str, Any]],
                   expected: list[tuple[str, str]]) -> None:
    changes = [make_change("normal", set=fields) for fields in others]
    assert check(make_change("normal", state="approved"), "scheduled", T(AT_SCHEDULE), changes) == expected


def test_conflict_message(make_change: Any, check: Any) -> None:
    theirs = make_change("normal", set=other(systems=("Orders-DB", "orders-worker", "dns")))
    [v] = check.guard.check(make_change("normal", state="approved"), State.SCHEDULED, T(AT_SCHEDULE), [theirs])
    assert v.message == ("CHG-100 and CHG-101 (Scheduled) both touch orders-db, orders-worker and overlap: CHG-101 "
                         "runs Tue 2026-11-10 02:30 UTC to Tue 2026-11-10 03:30 UTC.")


@pytest.mark.parametrize(("their_start", "expected"), [
    pytest.param("2026-11-10T03:10:00Z", [CONFLICT], id="ten-minute-gap"),
    pytest.param("2026-11-10T03:14:00Z", [CONFLICT], id="fourteen-minute-gap"),
    pytest.param("2026-11-10T03:15:00Z", [], id="gap-equal-to-margin"),
    pytest.param("2026-11-10T05:00:00Z", [], id="far-apart"),
])
def test_conflict_margin(make_change: Any, check: Any, their_start: str, expected: list[tuple[str, str]]) -> None:
    checker = check.with_policy(conflicts={"margin": "PT15M"})
    theirs = make_change("normal", set=other(their_start, "2026-11-10T06:00:00Z"))
    assert checker(make_change("normal", state="approved"), "scheduled", T(AT_SCHEDULE), [theirs]) == expected


def test_conflict_margin_applies_before_my_change_too(make_change: Any, check: Any) -> None:
    checker = check.with_policy(conflicts={"margin": "PT15M"})
    before = make_change("normal", set=other("2026-11-10T01:00:00Z", "2026-11-10T01:50:00Z"))
    assert checker(make_change("normal", state="approved"), "scheduled", T(AT_SCHEDULE), [before]) == [CONFLICT]


def test_conflict_states_come_from_the_policy(make_change: Any, check: Any) -> None:
    checker = check.with_policy(conflicts={"states": ["draft"]})
    drafts = [make_change("normal", set=other(state="draft"))]
    scheduled = [make_change("normal", set=other(state="scheduled"))]
    mine = make_change("normal", state="approved")
    assert checker(mine, "scheduled", T(AT_SCHEDULE), drafts) == [CONFLICT]
    assert checker(mine, "scheduled", T(AT_SCHEDULE), scheduled) == []


@pytest.mark.parametrize(("source", "target", "at", "expected"), [
    pytest.param("draft", "cab_review", "2026-11-02T09:00:00Z", [], id="not-at-submission"),
    pytest.param("cab_review", "approved", "2026-11-03T11:00:00Z", [CONFLICT], id="at-approval"),
    pytest.param("scheduled", "implementing", "2026-11-10T02:05:00Z", [CONFLICT], id="at-implementation"),
])
def test_when_conflicts_are_judged(make_change: Any, check: Any, source: str, target: str, at: str,
                                   expected: list[tuple[str, str]]) -> None:
    theirs = [make_change("normal", set=other())]
    assert check(make_change("normal", state=source), target, T(at), theirs) == expected


def test_other_changes_without_planned_times_never_conflict(make_change: Any, check: Any) -> None:
    theirs = make_change("normal", set={**other(), "schedule.planned_start": None, "schedule.planned_end": None})
    assert check(make_change("normal", state="approved"), "scheduled", T(AT_SCHEDULE), [theirs]) == []


def test_an_emergency_starting_now_conflicts_with_a_scheduled_change(make_change: Any, check: Any) -> None:
    theirs = make_change("normal", set=other("2026-11-02T09:15:00Z", "2026-11-02T10:00:00Z",
                                             systems=("payments-api",)))
    emergency = make_change("emergency")  # estimated 20 minutes from 09:00
    assert check(emergency, "implementing", T("2026-11-02T09:00:00Z"), [theirs]) == [CONFLICT]
    assert check(emergency, "implementing", T("2026-11-02T08:50:00Z"), [theirs]) == []
