"""The validation rule: a change closes as successful only after its validation points pass, or with an override.

The normal change below was Implemented at Tue 2026-11-10 02:50 UTC: its points (built-in policy:
0 h, 24 h, 7 d) fall due then, Wed 02:50 and Tue 2026-11-17 02:50.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from chgsync.lifecycle import State
from chgsync.model import Change

IMPLEMENTED = datetime.fromisoformat("2026-11-10T02:50:00+00:00")
CLOSE_AT = IMPLEMENTED + timedelta(days=8)
PENDING = ("validation.pending", "validations")
FAILED = ("validation.failed", "validations")
EARLY = ("validation.early", "validations")
OVERRIDE = {"by": "cam@example.com", "reason": "Checked by the load test instead.", "at": "2026-11-11T09:00:00Z"}


def result(point: str, verdict: str = "pass", after: timedelta | None = None, note: str | None = None) -> dict[str, Any]:
    """A result for ``point`` (``0h``, ``24h``, ``7d``) made ``after`` Implemented (default: when it fell due)."""
    offset = {"0h": timedelta(0), "24h": timedelta(hours=24), "7d": timedelta(days=7)}[point]
    return {"point": offset.total_seconds(), "result": verdict, "by": "vic@example.com",
            "at": (IMPLEMENTED + (offset if after is None else after)).isoformat(), "note": note}


ALL_PASS = [result("0h"), result("24h"), result("7d")]


def implemented(make_change: Any, **fields: Any) -> Change:
    """The normal change, Implemented with its actuals and close notes: ready to close but for validation."""
    change: Change = make_change("normal", state="implementing", set={
        "outcome": "successful", "close_notes": "Upgraded.", "schedule.actual_start": "2026-11-10T02:05:00Z",
        "schedule.actual_end": "2026-11-10T02:50:00Z", **fields})
    return change.moved(State.IMPLEMENTED, IMPLEMENTED)


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({}, [PENDING, PENDING, PENDING], id="nothing-recorded"),
    pytest.param({"validations": ALL_PASS}, [], id="all-passed"),
    pytest.param({"validations": ALL_PASS[:2]}, [PENDING], id="seven-days-missing"),
    pytest.param({"validations": [result("0h"), result("24h", "fail"), result("7d")]}, [FAILED], id="one-failed"),
    pytest.param({"validations": [result("0h"), result("24h", "fail"), result("24h", after=timedelta(hours=30)),
                                  result("7d")]}, [], id="failed-then-passed-on-recheck"),
    pytest.param({"validations": [result("0h"), result("24h", after=timedelta(hours=30)),
                                  result("24h", "fail", after=timedelta(hours=26)), result("7d")]}, [],
                 id="latest-by-time-not-by-order"),
    pytest.param({"validations": [result("0h"), result("24h"), result("7d", after=timedelta(days=2))]}, [EARLY],
                 id="seven-day-check-made-on-day-two"),
    pytest.param({"close_override": OVERRIDE}, [], id="override-without-results"),
    pytest.param({"validations": [result("0h", "fail")], "close_override": OVERRIDE}, [], id="override-over-failure"),
    pytest.param({"outcome": "successful_with_issues"}, [PENDING, PENDING, PENDING], id="with-issues-needs-results"),
    pytest.param({"outcome": "successful_with_issues", "validations": [result("0h"), result("24h", "fail"),
                                                                      result("7d")]}, [],
                 id="with-issues-accepts-a-failure"),
    pytest.param({"outcome": "unsuccessful"}, [], id="unsuccessful-needs-no-validation"),
    pytest.param({"outcome": "rolled_back"}, [], id="rolled-back-needs-no-validation"),
])
def test_closing_needs_passed_validation_or_an_override(make_change: Any, check: Any, fields: dict[str, Any],
                                                        expected: list[tuple[str, str]]) -> None:
    assert check(implemented(make_change, **fields), State.CLOSED, CLOSE_AT) == sorted(expected)


def test_the_policy_decides_the_points(make_change: Any, check: Any) -> None:
    change = implemented(make_change, validations=[result("0h")])
    assert check.with_policy(validation_points=["PT0S"])(change, State.CLOSED, CLOSE_AT) == []
    assert check.with_policy(validation_points=[])(implemented(make_change), State.CLOSED, CLOSE_AT) == []
    assert check.with_policy(validation_points=["PT0S", "PT4H"])(change, State.CLOSED, CLOSE_AT) == [PENDING]


def test_only_closing_is_judged(make_change: Any, check: Any) -> None:
    change: Change = make_change("normal", state="implementing", set={
        "outcome": "successful", "schedule.actual_start": "2026-11-10T02:05:00Z",
        "schedule.actual_end": "2026-11-10T02:50:00Z"})
    assert check(change, State.IMPLEMENTED, IMPLEMENTED) == []


def test_the_messages_say_what_is_missing_and_how_to_record_it(make_change: Any, check: Any) -> None:
    change = implemented(make_change, validations=[result("0h"), result("24h", "fail", note="p99 latency doubled")])
    found = {v.code: v for v in check.guard.check(change, State.CLOSED, CLOSE_AT)}
    assert set(found) == {"validation.failed", "validation.pending"}
    assert found["validation.pending"].message == (
        "CHG-100 cannot close as successful: its 7d validation, due Tue 2026-11-17 02:50 UTC, has no result yet; "
        "record it with `chgsync validate-point CHG-100 --point 7d --result pass|fail`, or give a close override.")
    assert found["validation.failed"].message.startswith(
        "CHG-100's 24h validation failed (vic@example.com: p99 latency doubled), so it cannot close as successful")
    assert {v.rule for v in found.values()} == {"validation"}


def test_a_change_without_history_needs_results_but_not_their_timing(make_change: Any, check: Any) -> None:
    """A change file written straight into Implemented has no move to count from: any result counts."""
    change: Change = make_change("normal", state="implemented", set={
        "outcome": "successful", "close_notes": "Done.", "schedule.actual_start": "2026-11-10T02:05:00Z",
        "schedule.actual_end": "2026-11-10T02:50:00Z",
        "validations": [result("0h"), result("24h"), result("7d", after=timedelta(days=1))]})
    assert check(change, State.CLOSED, CLOSE_AT) == []
