"""Windows and blackouts on the nights the clocks change, pinning the semantics in schedule's docstring.

2026 clock changes (all expected instants below are worked out by hand from these):

* Europe/London     spring forward Sun 29 Mar at 01:00 UTC (01:00 GMT -> 02:00 BST)
                    fall back      Sun 25 Oct at 01:00 UTC (02:00 BST -> 01:00 GMT; 01:00-02:00 happens twice)
* America/New_York  spring forward Sun  8 Mar at 07:00 UTC (02:00 EST -> 03:00 EDT)
                    fall back      Sun  1 Nov at 06:00 UTC (02:00 EDT -> 01:00 EST; 01:00-02:00 happens twice)

Semantics: a start or end that does not exist (skipped by the clock) is the moment the clock jumps; an
ambiguous start is its first occurrence and an ambiguous end its second, so no window shrinks.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chgsync.lifecycle import State
from chgsync.policy import Window
from chgsync.schedule import Interval, window_containing, window_occurrences, window_open_at

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def W(day: str, start: str, end: str) -> Window:
    return Window(days=[day], start=time.fromisoformat(start), end=time.fromisoformat(end))


OCCURRENCES = [
    # --- London, spring forward: 01:00-02:00 local does not exist
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-03-29", ("2026-03-29T01:00Z", "2026-03-29T02:00Z"),
                 id="london-spring-start-skipped-opens-at-jump"),
    pytest.param(LONDON, W("sun", "02:00", "04:00"), "2026-03-29", ("2026-03-29T01:00Z", "2026-03-29T03:00Z"),
                 id="london-spring-start-at-jump"),
    pytest.param(LONDON, W("sun", "01:30", "03:00"), "2026-03-29", ("2026-03-29T01:00Z", "2026-03-29T02:00Z"),
                 id="london-spring-start-mid-gap-opens-at-jump"),
    pytest.param(LONDON, W("sun", "00:00", "01:30"), "2026-03-29", ("2026-03-29T00:00Z", "2026-03-29T01:00Z"),
                 id="london-spring-end-mid-gap-closes-at-jump"),
    pytest.param(LONDON, W("sat", "23:00", "01:30"), "2026-03-28", ("2026-03-28T23:00Z", "2026-03-29T01:00Z"),
                 id="london-spring-across-midnight-into-the-gap"),
    pytest.param(LONDON, W("sun", "01:10", "01:50"), "2026-03-29", None,
                 id="london-spring-window-wholly-skipped"),
    # --- London, fall back: 01:00-02:00 local happens twice
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-10-25", ("2026-10-25T00:00Z", "2026-10-25T03:00Z"),
                 id="london-fall-ambiguous-start-first-occurrence"),
    pytest.param(LONDON, W("sun", "00:00", "01:30"), "2026-10-25", ("2026-10-24T23:00Z", "2026-10-25T01:30Z"),
                 id="london-fall-ambiguous-end-second-occurrence"),
    pytest.param(LONDON, W("sun", "01:15", "01:45"), "2026-10-25", ("2026-10-25T00:15Z", "2026-10-25T01:45Z"),
                 id="london-fall-both-ambiguous-grows-to-90-minutes"),
    pytest.param(LONDON, W("sat", "23:00", "01:30"), "2026-10-24", ("2026-10-24T22:00Z", "2026-10-25T01:30Z"),
                 id="london-fall-across-midnight"),
    pytest.param(LONDON, W("sun", "02:00", "04:00"), "2026-10-25", ("2026-10-25T02:00Z", "2026-10-25T04:00Z"),
                 id="london-fall-after-the-repeat"),
    # --- New York, spring forward: 02:00-03:00 local does not exist
    pytest.param(NEW_YORK, W("sun", "02:00", "04:00"), "2026-03-08", ("2026-03-08T07:00Z", "2026-03-08T08:00Z"),
                 id="ny-spring-start-skipped-opens-at-jump"),
    pytest.param(NEW_YORK, W("sun", "02:30", "04:00"), "2026-03-08", ("2026-03-08T07:00Z", "2026-03-08T08:00Z"),
                 id="ny-spring-start-mid-gap-opens-at-jump"),
    pytest.param(NEW_YORK, W("sun", "00:00", "02:30"), "2026-03-08", ("2026-03-08T05:00Z", "2026-03-08T07:00Z"),
                 id="ny-spring-end-mid-gap-closes-at-jump"),
    pytest.param(NEW_YORK, W("sun", "01:00", "03:00"), "2026-03-08", ("2026-03-08T06:00Z", "2026-03-08T07:00Z"),
                 id="ny-spring-end-at-jump"),
    pytest.param(NEW_YORK, W("sat", "22:00", "02:30"), "2026-03-07", ("2026-03-08T03:00Z", "2026-03-08T07:00Z"),
                 id="ny-spring-across-midnight-into-the-gap"),
    # --- New York, fall back: 01:00-02:00 local happens twice
    pytest.param(NEW_YORK, W("sun", "01:00", "03:00"), "2026-11-01", ("2026-11-01T05:00Z", "2026-11-01T08:00Z"),
                 id="ny-fall-ambiguous-start-first-occurrence"),
    pytest.param(NEW_YORK, W("sun", "02:00", "04:00"), "2026-11-01", ("2026-11-01T07:00Z", "2026-11-01T09:00Z"),
                 id="ny-fall-start-after-the-repeat"),
    pytest.param(NEW_YORK, W("sun", "00:00", "01:30"), "2026-11-01", ("2026-11-01T04:00Z", "2026-11-01T06:30Z"),
                 id="ny-fall-ambiguous-end-second-occurrence"),
    pytest.param(NEW_YORK, W("sun", "01:30", "01:45"), "2026-11-01", ("2026-11-01T05:30Z", "2026-11-01T06:45Z"),
                 id="ny-fall-both-ambiguous"),
    pytest.param(NEW_YORK, W("sat", "23:00", "01:30"), "2026-10-31", ("2026-11-01T03:00Z", "2026-11-01T06:30Z"),
                 id="ny-fall-across-midnight"),
]


@pytest.mark.parametrize(("zone", "window", "day", "expected"), OCCURRENCES)
def test_window_occurrence_on_clock_change_nights(zone: str, window: Window, day: str,
                                                  expected: tuple[str, str] | None) -> None:
    found = list(window_occurrences([window], ZoneInfo(zone), date.fromisoformat(day)))
    assert found == ([Interval(T(expected[0]), T(expected[1]))] if expected else [])


@pytest.mark.parametrize(("zone", "window", "day", "expected"), [p for p in OCCURRENCES if p.values[3]])
def test_open_at_and_containing_agree_with_the_occurrence(zone: str, window: Window, day: str,
                                                          expected: tuple[str, str]) -> None:
    tz = ZoneInfo(zone)
    occ = Interval(T(expected[0]), T(expected[1]))
    s = timedelta(seconds=1)
    assert window_open_at([window], tz, occ.start) == occ
    assert window_open_at([window], tz, occ.end - s) == occ
    assert window_open_at([window], tz, occ.end) is None
    assert window_open_at([window], tz, occ.start - s) is None
    assert window_containing([window], tz, occ) == occ
    assert window_containing([window], tz, Interval(occ.start - s, occ.end)) is None
    assert window_containing([window], tz, Interval(occ.start, occ.end + s)) is None


# -- the window rule on those nights -------------------------------------------------------------------------
def _checker(check: Any, zone: str, *windows: Window) -> Any:
    return check.with_policy(
        timezone=zone, lead_time_business_days={},
        windows={"production": [w.model_dump(mode="json") for w in windows]},
    )


OUTSIDE = [("window.outside", "schedule.planned_start")]


@pytest.mark.parametrize(("zone", "window", "start", "end", "expected"), [
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-10-25T00:00Z", "2026-10-25T03:00Z", [],
                 id="london-fall-three-real-hours-fit"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-10-25T00:00Z", "2026-10-25T03:01Z", OUTSIDE,
                 id="london-fall-one-minute-past-the-end"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-10-24T23:59Z", "2026-10-25T01:00Z", OUTSIDE,
                 id="london-fall-one-minute-before-the-start"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-10-25T01:00+00:00", "2026-10-25T01:30+00:00", [],
                 id="london-fall-second-01:00-is-inside"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-03-29T02:00+01:00", "2026-03-29T03:00+01:00", [],
                 id="london-spring-from-the-jump"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-03-29T00:59Z", "2026-03-29T02:00Z", OUTSIDE,
                 id="london-spring-a-minute-before-the-jump"),
    pytest.param(LONDON, W("sun", "01:00", "03:00"), "2026-03-29T01:00Z", "2026-03-29T02:01Z", OUTSIDE,
                 id="london-spring-a-minute-past-03:00-BST"),
    pytest.param(NEW_YORK, W("sun", "02:00", "04:00"), "2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00", [],
                 id="ny-spring-whole-shortened-window"),
    pytest.param(NEW_YORK, W("sun", "02:00", "04:00"), "2026-03-08T01:59-05:00", "2026-03-08T04:00-04:00", OUTSIDE,
                 id="ny-spring-a-minute-before-the-jump"),
    pytest.param(NEW_YORK, W("sun", "01:00", "03:00"), "2026-11-01T01:00-04:00", "2026-11-01T03:00-05:00", [],
                 id="ny-fall-whole-lengthened-window"),
    pytest.param(NEW_YORK, W("sun", "01:00", "03:00"), "2026-11-01T00:59-04:00", "2026-11-01T02:00-05:00", OUTSIDE,
                 id="ny-fall-a-minute-early"),
    pytest.param(NEW_YORK, W("sat", "23:00", "01:30"), "2026-11-01T01:00-05:00", "2026-11-01T01:30-05:00", [],
                 id="ny-fall-across-midnight-second-01:00"),
])
def test_window_rule_on_clock_change_nights(make_change: Any, check: Any, zone: str, window: Window, start: str,
                                            end: str, expected: list[tuple[str, str]]) -> None:
    change = make_change("normal", state="approved", set={"schedule.planned_start": start,
                                                          "schedule.planned_end": end,
                                                          "schedule.estimated_duration": None})
    assert _checker(check, zone, window)(change, "scheduled", T("2026-03-01T12:00:00Z")) == expected


def test_next_window_hint_is_in_local_time_after_the_jump(make_change: Any, check: Any) -> None:
    checker = _checker(check, NEW_YORK, W("sun", "02:00", "04:00"))
    change = make_change("normal", state="approved", set={"schedule.planned_start": "2026-03-09T02:00-04:00",
                                                          "schedule.planned_end": "2026-03-09T03:00-04:00"})
    [v] = checker.guard.check(change, State.SCHEDULED, T("2026-03-01T12:00:00Z"))
    assert v.message == ("CHG-100 is planned for Mon 2026-03-09 02:00 EDT to Mon 2026-03-09 03:00 EDT, which is not "
                         "inside a production change window. The next window opens Sun 2026-03-08 03:00 EDT.")


# -- blackouts in local time around the repeated hour -----------------------------------------------------
REPEATED_HOUR_FREEZE = {"name": "Repeated hour", "start": "2026-10-25T01:30:00+01:00",  # 00:30 UTC, BST
                        "end": "2026-10-25T01:30:00+00:00"}                              # 01:30 UTC, GMT


@pytest.mark.parametrize(("start", "end", "expected"), [
    pytest.param("2026-10-25T01:30+00:00", "2026-10-25T02:30+00:00", [], id="starts-as-it-ends"),
    pytest.param("2026-10-25T00:00+01:00", "2026-10-25T01:30+01:00", [], id="ends-as-it-starts"),
    pytest.param("2026-10-25T00:00+01:00", "2026-10-25T01:31+01:00", [("blackout.overlap", "schedule.planned_start")],
                 id="one-minute-into-it"),
    pytest.param("2026-10-25T01:29+00:00", "2026-10-25T02:30+00:00", [("blackout.overlap", "schedule.planned_start")],
                 id="one-minute-before-its-end"),
])
def test_blackout_touching_across_the_repeated_hour(make_change: Any, check: Any, start: str, end: str,
                                                    expected: list[tuple[str, str]]) -> None:
    checker = check.with_policy(timezone=LONDON, lead_time_business_days={}, windows={},
                                blackouts=[REPEATED_HOUR_FREEZE])
    change = make_change("normal", state="approved", set={"schedule.planned_start": start,
                                                          "schedule.planned_end": end,
                                                          "schedule.estimated_duration": None})
    assert checker(change, "scheduled", T("2026-10-20T12:00:00Z")) == expected
