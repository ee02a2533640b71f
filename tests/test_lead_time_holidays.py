"""Lead time counted in local business days: public holidays, weekends, and zones whose date differs from UTC.

Holidays worked out by hand: England 2026-27 has Christmas Fri 25 Dec, Boxing Day (substitute) Mon 28 Dec,
New Year's Day Fri 1 Jan 2027, Good Friday 26 Mar 2027 and Easter Monday 29 Mar 2027 (clocks go forward
on Sun 28 Mar 2027). The US has Thanksgiving on Thu 26 Nov 2026. Scotland has St Andrew's Day on
Mon 30 Nov 2026, which England does not.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from chgsync.lifecycle import State
from chgsync.policy import Policy
from chgsync.schedule import earliest_start

ENGLAND = {"timezone": "Europe/London", "holidays": {"country": "GB", "subdivision": "ENG"}}
SCOTLAND = {"timezone": "Europe/London", "holidays": {"country": "GB", "subdivision": "SCT"}}
US_EAST = {"timezone": "America/New_York", "holidays": {"country": "US"}}
LONDON_NO_HOLIDAYS = {"timezone": "Europe/London"}
NEW_YORK = {"timezone": "America/New_York"}
AUCKLAND = {"timezone": "Pacific/Auckland"}


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_holiday_calendars_hold_the_expected_days() -> None:
    england = Policy.model_validate(ENGLAND).holiday_calendar(range(2026, 2028))
    for day in ("2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29"):
        assert date.fromisoformat(day) in england
    assert date.fromisoformat("2026-11-30") not in england
    assert date.fromisoformat("2026-11-30") in Policy.model_validate(SCOTLAND).holiday_calendar(range(2026, 2027))
    assert date.fromisoformat("2026-11-26") in Policy.model_validate(US_EAST).holiday_calendar(range(2026, 2027))
    assert Policy().holiday_calendar(range(2026, 2028)) == set()


CASES = [
    # Mon 21 Dec: Tue 22, Wed 23, Thu 24, (Fri 25, weekend, Mon 28 are off), Tue 29, Wed 30.
    pytest.param(ENGLAND, "2026-12-21T10:00:00Z", "2026-12-30T00:00:00+00:00", id="england-christmas"),
    pytest.param(LONDON_NO_HOLIDAYS, "2026-12-21T10:00:00Z", "2026-12-28T00:00:00+00:00",
                 id="london-christmas-without-holidays"),
    # Wed 30 Dec: Thu 31, (Fri 1 Jan), Mon 4, Tue 5, Wed 6, Thu 7: across the new year.
    pytest.param(ENGLAND, "2026-12-30T10:00:00Z", "2027-01-07T00:00:00+00:00", id="england-new-year"),
    # Wed 24 Mar: Thu 25, (Good Friday, weekend, Easter Monday), Tue 30, Wed 31, Thu 1, Fri 2 Apr - in BST.
    pytest.param(ENGLAND, "2027-03-24T10:00:00Z", "2027-04-02T00:00:00+01:00", id="england-easter-into-bst"),
    pytest.param(LONDON_NO_HOLIDAYS, "2027-03-24T10:00:00Z", "2027-03-31T00:00:00+01:00",
                 id="london-easter-without-holidays"),
    # Mon 23 Nov: Tue 24, Wed 25, (Thanksgiving), Fri 27, Mon 30, Tue 1 Dec.
    pytest.param(US_EAST, "2026-11-23T15:00:00Z", "2026-12-01T00:00:00-05:00", id="us-thanksgiving"),
    pytest.param(NEW_YORK, "2026-11-23T15:00:00Z", "2026-11-30T00:00:00-05:00", id="new-york-without-holidays"),
    # Mon 23 Nov: Tue 24 ... Fri 27, then St Andrew's Day in Scotland only.
    pytest.param(SCOTLAND, "2026-11-23T10:00:00Z", "2026-12-01T00:00:00+00:00", id="scotland-st-andrews-day"),
    pytest.param(ENGLAND, "2026-11-23T10:00:00Z", "2026-11-30T00:00:00+00:00", id="england-no-st-andrews-day"),
    # Weekend submissions: the notice starts on Monday.
    pytest.param(ENGLAND, "2026-11-07T10:00:00Z", "2026-11-13T00:00:00+00:00", id="saturday-submission"),
    pytest.param(ENGLAND, "2026-11-08T23:30:00Z", "2026-11-13T00:00:00+00:00", id="sunday-night-submission"),
    # Local date differs from the UTC date.
    pytest.param(NEW_YORK, "2026-11-03T03:00:00Z", "2026-11-09T00:00:00-05:00",
                 id="new-york-monday-evening-is-tuesday-in-utc"),
    pytest.param(AUCKLAND, "2026-11-01T20:00:00Z", "2026-11-09T00:00:00+13:00",
                 id="auckland-monday-morning-is-sunday-in-utc"),
    pytest.param(AUCKLAND, "2026-11-06T11:30:00Z", "2026-11-13T00:00:00+13:00",
                 id="auckland-saturday-is-friday-in-utc"),
]


@pytest.mark.parametrize(("policy_fields", "submitted", "expected"), CASES)
def test_earliest_start(policy_fields: dict[str, Any], submitted: str, expected: str) -> None:
    policy = Policy.model_validate(policy_fields)
    at = T(submitted)
    holidays = policy.holiday_calendar(range(at.year, at.year + 2))
    assert earliest_start(at, 5, policy.zone, holidays) == T(expected)


@pytest.mark.parametrize(("policy_fields", "submitted", "expected"), CASES)
def test_lead_time_rule_boundary(make_change: Any, check: Any, policy_fields: dict[str, Any], submitted: str,
                                 expected: str) -> None:
    checker = check.with_policy(**policy_fields, windows={})
    earliest = T(expected)

    def planned_from(start: datetime) -> Any:
        return make_change("normal", set={"schedule.planned_start": start.isoformat(),
                                          "schedule.planned_end": earliest.replace(year=earliest.year + 1).isoformat()})

    assert checker(planned_from(earliest), "cab_review", T(submitted)) == []
    assert checker(planned_from(earliest - timedelta(minutes=1)), "cab_review", T(submitted)) == [
        ("lead_time.too_short", "schedule.planned_start")]


def test_lead_time_message_in_local_time(make_change: Any, check: Any) -> None:
    checker = check.with_policy(**ENGLAND)
    change = make_change("normal", set={"schedule.planned_start": "2026-12-29T02:00:00Z",
                                        "schedule.planned_end": "2026-12-29T03:00:00Z"})
    [v] = checker.guard.check(change, State.CAB_REVIEW, T("2026-12-21T10:00:00Z"))
    assert v.message == ("A normal change needs 5 business days' notice: submitted Mon 2026-12-21 10:00 GMT, it may "
                         "start from Wed 2026-12-30 00:00 GMT, but it is planned for Tue 2026-12-29 02:00 GMT.")


def test_holidays_of_the_submission_year_count_after_new_year(make_change: Any, check: Any) -> None:
    # Submitted Thu 24 Dec 2026: (25, 28 off) Tue 29, Wed 30, Thu 31, (1 Jan off), Mon 4, Tue 5 -> Tue 5 Jan.
    # Approved on 2 Jan 2027, so the 2026 holidays must still be known to the rule.
    checker = check.with_policy(**ENGLAND, windows={})
    change = make_change("normal", state="cab_review", set={
        "history": [{"from": "draft", "to": "cab_review", "at": "2026-12-24T10:00:00Z"}],
        "schedule.planned_start": "2027-01-04T02:00:00Z", "schedule.planned_end": "2027-01-04T03:00:00Z",
        "cab.approvals[0].at": "2027-01-02T09:00:00Z", "cab.approvals[1].at": "2027-01-02T09:00:00Z",
    })
    assert checker(change, "approved", T("2027-01-02T10:00:00Z")) == [("lead_time.too_short",
                                                                      "schedule.planned_start")]
    later = make_change("normal", state="cab_review", set={
        "history": [{"from": "draft", "to": "cab_review", "at": "2026-12-24T10:00:00Z"}],
        "schedule.planned_start": "2027-01-05T00:00:00Z", "schedule.planned_end": "2027-01-05T03:00:00Z",
    })
    assert checker(later, "approved", T("2027-01-02T10:00:00Z")) == []
