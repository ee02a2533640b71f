"""The lead_time and window rules under the built-in policy (UTC, Tue/Thu 02:00-04:00, five days' notice).

Holidays and other zones are in test_lead_time_holidays.py; clock changes in test_schedule_dst.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from chgsync.lifecycle import State

TOO_SHORT = [("lead_time.too_short", "schedule.planned_start")]
OUTSIDE = ("window.outside", "schedule.planned_start")


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def planned(start: str, end: str) -> dict[str, str]:
    return {"schedule.planned_start": start, "schedule.planned_end": end}


def entered_review(at: str) -> dict[str, Any]:
    return {"history": [{"from": "draft", "to": "cab_review", "at": at}]}


# -- lead time -------------------------------------------------------------------------------------------
def test_the_tables_use_the_fixed_clock(now: datetime) -> None:
    assert now == T("2026-11-02T09:00:00Z") and now.strftime("%A") == "Monday"


# Submitted Monday 2026-11-02: Tue, Wed, Thu, Fri, Mon are the five business days, so it may start from
# Monday 2026-11-09 00:00 UTC.
@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param(planned("2026-11-09T00:00:00Z", "2026-11-09T01:00:00Z"), [], id="exactly-at-earliest-start"),
    pytest.param(planned("2026-11-08T23:59:00Z", "2026-11-09T01:00:00Z"), TOO_SHORT, id="one-minute-early"),
    pytest.param(planned("2026-11-06T02:00:00Z", "2026-11-06T03:00:00Z"), TOO_SHORT, id="same-week"),
    pytest.param({"schedule.planned_start": None}, [("missing.schedule.planned_start", "schedule.planned_start")],
                 id="no-planned-start-is-completeness-business"),
])
def test_notice_at_submission(make_change: Any, check: Any, now: datetime, fields: dict[str, Any],
                              expected: list[tuple[str, str]]) -> None:
    assert check(make_change("normal", set=fields), "cab_review", now) == expected


def test_lead_time_message(make_change: Any, check: Any) -> None:
    change = make_change("normal", set=planned("2026-11-08T23:59:00Z", "2026-11-09T01:00:00Z"))
    [v] = check.guard.check(change, State.CAB_REVIEW, T("2026-11-02T09:00:00Z"))
    assert v.message == ("A normal change needs 5 business days' notice: submitted Mon 2026-11-02 09:00 UTC, it may "
                         "start from Mon 2026-11-09 00:00 UTC, but it is planned for Sun 2026-11-08 23:59 UTC.")


@pytest.mark.parametrize(("source", "target", "at", "fields", "expected"), [
    pytest.param("cab_review", "approved", "2026-11-06T11:00:00Z", entered_review("2026-11-02T09:00:00Z"), [],
                 id="approval-counts-from-submission"),
    pytest.param("cab_review", "approved", "2026-11-03T11:00:00Z", entered_review("2026-11-04T09:00:00Z"),
                 TOO_SHORT, id="late-submission-is-too-short"),
    pytest.param("cab_review", "approved", "2026-11-03T11:00:00Z", {}, [], id="no-history-counts-from-now-ok"),
    pytest.param("cab_review", "approved", "2026-11-04T11:00:00Z", {}, TOO_SHORT, id="no-history-counts-from-now"),
    pytest.param("approved", "scheduled", "2026-11-06T11:00:00Z",
                 {"history": [{"from": "draft", "to": "cab_review", "at": "2026-11-02T09:00:00Z"},
                              {"from": "cab_review", "to": "draft", "at": "2026-11-02T15:00:00Z"},
                              {"from": "draft", "to": "cab_review", "at": "2026-11-04T09:00:00Z"},
                              {"from": "cab_review", "to": "approved", "at": "2026-11-05T09:00:00Z"}]},
                 TOO_SHORT, id="resubmission-restarts-the-notice"),
    pytest.param("scheduled", "implementing", "2026-11-10T02:05:00Z", entered_review("2026-11-09T09:00:00Z"), [],
                 id="not-judged-at-implementation"),
])
def test_notice_after_submission(make_change: Any, check: Any, source: str, target: str, at: str,
                                 fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert check(make_change("normal", state=source, set=fields), target, T(at)) == expected


@pytest.mark.parametrize(("change_type", "lead_times", "expected"), [
    pytest.param("standard", None, [], id="standard-needs-no-notice-by-default"),
    pytest.param("standard", {"standard": 4}, TOO_SHORT, id="standard-with-policy-notice"),
    pytest.param("standard", {"standard": 2}, [], id="standard-with-short-policy-notice"),
    pytest.param("normal", {"standard": 2}, [], id="normal-notice-removed-by-policy"),
])
def test_notice_per_type_from_the_policy(make_change: Any, check: Any, change_type: str,
                                         lead_times: dict[str, int] | None,
                                         expected: list[tuple[str, str]]) -> None:
    # Submitted Monday 2 Nov, both planned for Thursday 5 Nov.
    checker = check if lead_times is None else check.with_policy(lead_time_business_days=lead_times)
    target = "scheduled" if change_type == "standard" else "cab_review"
    change = make_change(change_type, set=planned("2026-11-05T02:00:00Z", "2026-11-05T02:30:00Z"))
    assert checker(change, target, T("2026-11-02T09:00:00Z")) == expected


def test_emergency_changes_need_no_notice(make_change: Any, check: Any) -> None:
    change = make_change("emergency", set={**planned("2026-11-02T10:00:00Z", "2026-11-02T10:30:00Z"),
                                           "cab.approvals": [{"role": "ecab", "approver": "e@example.com",
                                                              "decision": "approve", "at": "2026-11-02T09:00:00Z"}]})
    assert check(change, "cab_review", T("2026-11-02T09:00:00Z")) == []


# -- windows -----------------------------------------------------------------------------------------------
# The normal change is Approved and scheduled on Tuesday 2026-11-03 12:00 (notice counts from then, to
# Tue 10 Nov 00:00). Windows: Tue and Thu 02:00-04:00 UTC.
AT_SCHEDULE = "2026-11-03T12:00:00Z"


@pytest.mark.parametrize(("start", "end", "expected"), [
    pytest.param("2026-11-10T02:00:00Z", "2026-11-10T03:00:00Z", [], id="starts-at-window-start"),
    pytest.param("2026-11-10T02:00:00Z", "2026-11-10T04:00:00Z", [], id="fills-the-window"),
    pytest.param("2026-11-10T03:00:00Z", "2026-11-10T04:00:00Z", [], id="ends-at-window-end"),
    pytest.param("2026-11-10T01:59:00Z", "2026-11-10T03:00:00Z", [OUTSIDE], id="starts-a-minute-early"),
    pytest.param("2026-11-10T02:00:00Z", "2026-11-10T04:01:00Z", [OUTSIDE], id="ends-a-minute-late"),
    pytest.param("2026-11-11T02:00:00Z", "2026-11-11T03:00:00Z", [OUTSIDE], id="wednesday"),
    pytest.param("2026-11-10T02:00:00Z", "2026-11-12T03:00:00Z", [OUTSIDE], id="spans-two-windows"),
    pytest.param("2026-11-12T02:30:00Z", "2026-11-12T03:30:00Z", [], id="thursday"),
])
def test_planned_time_inside_a_window(make_change: Any, check: Any, start: str, end: str,
                                      expected: list[tuple[str, str]]) -> None:
    change = make_change("normal", state="approved", set={**planned(start, end), "schedule.estimated_duration": None})
    assert check(change, "scheduled", T(AT_SCHEDULE)) == expected


def test_outside_message_suggests_the_window_nearest_the_plan(make_change: Any, check: Any) -> None:
    # the suggestion is the first window opening at most a day before the planned start (or from now)
    change = make_change("normal", state="approved", set=planned("2026-11-11T02:00:00Z", "2026-11-11T03:00:00Z"))
    [v] = check.guard.check(change, State.SCHEDULED, T(AT_SCHEDULE))
    assert v.message == ("CHG-100 is planned for Wed 2026-11-11 02:00 UTC to Wed 2026-11-11 03:00 UTC, which is not "
                         "inside a production change window. The next window opens Tue 2026-11-10 02:00 UTC.")


@pytest.mark.parametrize(("change_type", "environment", "window_types", "expected"), [
    pytest.param("normal", "staging", None, [], id="environment-without-windows"),
    pytest.param("normal", "production", None, [OUTSIDE], id="normal-in-production"),
    pytest.param("standard", "production", None, [OUTSIDE], id="standard-in-production"),
    pytest.param("standard", "production", ["normal"], [], id="standard-exempted-by-policy"),
    pytest.param("emergency", "production", None, [], id="emergency-exempt-by-default"),
    pytest.param("emergency", "production", ["emergency"], [OUTSIDE], id="emergency-listed-by-policy"),
])
def test_who_needs_a_window(make_change: Any, check: Any, change_type: str, environment: str,
                            window_types: list[str] | None, expected: list[tuple[str, str]]) -> None:
    # no notice needed, so that only the window is judged
    checker = check.with_policy(lead_time_business_days={}, window_types=window_types or ["standard", "normal"])
    fields: dict[str, Any] = {**planned("2026-11-04T09:00:00Z", "2026-11-04T09:30:00Z"),  # a Wednesday morning
                              "schedule.environment": environment, "schedule.estimated_duration": None}
    if change_type == "emergency":
        fields["cab.approvals"] = [{"role": "ecab", "approver": "e@example.com", "decision": "approve",
                                    "at": "2026-11-03T09:00:00Z"}]
    change = make_change(change_type, state="draft" if change_type == "standard" else "approved", set=fields)
    assert checker(change, "scheduled", T("2026-11-03T12:00:00Z")) == expected


@pytest.mark.parametrize(("at", "expected"), [
    pytest.param("2026-11-10T01:59:00Z", [("window.not_open", "schedule.planned_start")], id="a-minute-early"),
    pytest.param("2026-11-10T02:00:00Z", [], id="at-planned-start"),
    pytest.param("2026-11-10T02:59:00Z", [], id="a-minute-before-planned-end"),
    pytest.param("2026-11-10T03:00:00Z", [("window.passed", "schedule.planned_end")], id="at-planned-end"),
    pytest.param("2026-11-12T02:30:00Z", [("window.passed", "schedule.planned_end")], id="next-window"),
])
def test_implementation_starts_within_the_planned_time(make_change: Any, check: Any, at: str,
                                                       expected: list[tuple[str, str]]) -> None:
    assert check(make_change("normal", state="scheduled"), "implementing", T(at)) == expected


@pytest.mark.parametrize(("estimate", "expected"), [
    pytest.param("PT45M", [], id="shorter"),
    pytest.param("PT1H", [], id="equal"),
    pytest.param("PT1H1M", [("schedule.estimate_exceeds_window", "schedule.estimated_duration")], id="longer"),
])
def test_estimate_fits_the_planned_time(make_change: Any, check: Any, estimate: str,
                                        expected: list[tuple[str, str]]) -> None:
    change = make_change("normal", state="approved", set={"schedule.estimated_duration": estimate})
    assert check(change, "scheduled", T(AT_SCHEDULE)) == expected


def test_every_window_problem_at_once(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="scheduled", set={**planned("2026-11-11T02:00:00Z", "2026-11-11T03:00:00Z"),
                                                           "schedule.estimated_duration": "PT2H"})
    assert check(change, "implementing", T("2026-11-11T01:00:00Z")) == sorted([
        OUTSIDE, ("window.not_open", "schedule.planned_start"),
        ("schedule.estimate_exceeds_window", "schedule.estimated_duration")])


def test_windows_are_not_judged_before_scheduling(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="cab_review", set=planned("2026-11-11T02:00:00Z", "2026-11-11T03:00:00Z"))
    assert check(change, "approved", T("2026-11-03T11:00:00Z")) == []
