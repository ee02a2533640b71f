"""Calendar arithmetic: business days, intervals, window occurrences, next window, blackouts, local formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chgsync.policy import Blackout, Window
from chgsync.schedule import (
    Interval,
    add_business_days,
    blackouts_overlapping,
    earliest_start,
    format_local,
    is_business_day,
    next_window,
    window_containing,
    window_occurrences,
    window_open_at,
)

UTCZ = ZoneInfo("UTC")


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def D(text: str) -> date:
    return date.fromisoformat(text)


def I(start: str, end: str) -> Interval:
    return Interval(T(start), T(end))


# -- business days -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("day", "holidays", "expected"), [
    ("2026-11-02", set(), True),          # Monday
    ("2026-11-06", set(), True),          # Friday
    ("2026-11-07", set(), False),         # Saturday
    ("2026-11-08", set(), False),         # Sunday
    ("2026-11-26", {"2026-11-26"}, False),  # a holiday on a Thursday
], ids=lambda v: str(v))
def test_is_business_day(day: str, holidays: set[str], expected: bool) -> None:
    assert is_business_day(D(day), {D(h) for h in holidays}) is expected


@pytest.mark.parametrize(("day", "n", "holidays", "expected"), [
    pytest.param("2026-11-02", 0, [], "2026-11-02", id="zero-days"),
    pytest.param("2026-11-02", 1, [], "2026-11-03", id="mon-plus-1"),
    pytest.param("2026-11-02", 5, [], "2026-11-09", id="mon-plus-5-is-next-mon"),
    pytest.param("2026-11-06", 1, [], "2026-11-09", id="fri-plus-1-skips-weekend"),
    pytest.param("2026-11-07", 1, [], "2026-11-09", id="sat-plus-1"),
    pytest.param("2026-11-08", 5, [], "2026-11-13", id="sun-plus-5"),
    pytest.param("2026-11-02", 10, [], "2026-11-16", id="two-weeks"),
    pytest.param("2026-11-23", 3, ["2026-11-26"], "2026-11-27", id="skips-a-holiday"),
    pytest.param("2026-11-25", 1, ["2026-11-26", "2026-11-27"], "2026-11-30", id="skips-holidays-and-weekend"),
    pytest.param("2026-11-26", 1, ["2026-11-26"], "2026-11-27", id="from-a-holiday"),
])
def test_add_business_days(day: str, n: int, holidays: list[str], expected: str) -> None:
    assert add_business_days(D(day), n, {D(h) for h in holidays}) == D(expected)


@pytest.mark.parametrize(("submitted", "days", "expected"), [
    pytest.param("2026-11-02T09:00:00Z", 5, "2026-11-09T00:00:00Z", id="monday-morning"),
    pytest.param("2026-11-02T23:59:59Z", 5, "2026-11-09T00:00:00Z", id="monday-late"),
    pytest.param("2026-11-02T00:00:00Z", 1, "2026-11-03T00:00:00Z", id="one-day"),
    pytest.param("2026-11-06T17:00:00Z", 1, "2026-11-09T00:00:00Z", id="friday-one-day"),
    pytest.param("2026-11-02T09:00:00Z", 0, "2026-11-02T00:00:00Z", id="no-notice-is-today"),
])
def test_earliest_start_in_utc(submitted: str, days: int, expected: str) -> None:
    assert earliest_start(T(submitted), days, UTCZ, set()) == T(expected)


# -- intervals -----------------------------------------------------------------------------------------
def test_interval_edges() -> None:
    a = I("2026-11-10T02:00:00Z", "2026-11-10T03:00:00Z")
    assert a.contains(a)
    assert a.contains_instant(a.start) and not a.contains_instant(a.end)
    assert a.contains_instant(a.end - timedelta(microseconds=1))
    touching = I("2026-11-10T03:00:00Z", "2026-11-10T04:00:00Z")
    assert not a.overlaps(touching) and not touching.overlaps(a)
    assert a.overlaps(I("2026-11-10T02:59:59Z", "2026-11-10T04:00:00Z"))
    assert a.widened(timedelta(minutes=1)).overlaps(touching)
    assert a.widened(timedelta(minutes=5)) == I("2026-11-10T01:55:00Z", "2026-11-10T03:05:00Z")
    assert not a.contains(I("2026-11-10T02:00:00Z", "2026-11-10T03:00:01Z"))


# -- windows ---------------------------------------------------------------------------------------------
TUE_THU = [Window(days=["tue", "thu"], start=time(2), end=time(4))]
NIGHTLY_SAT = [Window(days=["sat"], start=time(22), end=time(2))]  # crosses midnight into Sunday


@pytest.mark.parametrize(("windows", "day", "expected"), [
    pytest.param(TUE_THU, "2026-11-10", [("2026-11-10T02:00:00Z", "2026-11-10T04:00:00Z")], id="tuesday"),
    pytest.param(TUE_THU, "2026-11-11", [], id="wednesday"),
    pytest.param(NIGHTLY_SAT, "2026-11-07", [("2026-11-07T22:00:00Z", "2026-11-08T02:00:00Z")],
                 id="crosses-midnight"),
    pytest.param(NIGHTLY_SAT, "2026-11-08", [], id="not-on-the-sunday-it-ends"),
    pytest.param([Window(days=["mon"], start=time(9), end=time(9))], "2026-11-09",
                 [("2026-11-09T09:00:00Z", "2026-11-10T09:00:00Z")], id="equal-start-and-end-is-24h"),
    pytest.param([Window(days=["MONDAY", "Tue"], start=time(1), end=time(2))], "2026-11-10",
                 [("2026-11-10T01:00:00Z", "2026-11-10T02:00:00Z")], id="day-names-normalised"),
])
def test_window_occurrences(windows: list[Window], day: str, expected: list[tuple[str, str]]) -> None:
    assert list(window_occurrences(windows, UTCZ, D(day))) == [I(*e) for e in expected]


@pytest.mark.parametrize(("windows", "start", "end", "inside"), [
    pytest.param(TUE_THU, "2026-11-10T02:00:00Z", "2026-11-10T04:00:00Z", True, id="whole-window"),
    pytest.param(TUE_THU, "2026-11-10T01:59:00Z", "2026-11-10T03:00:00Z", False, id="minute-before"),
    pytest.param(TUE_THU, "2026-11-10T03:00:00Z", "2026-11-10T04:01:00Z", False, id="minute-after"),
    pytest.param(NIGHTLY_SAT, "2026-11-07T22:00:00Z", "2026-11-08T02:00:00Z", True, id="across-midnight-whole"),
    pytest.param(NIGHTLY_SAT, "2026-11-08T00:30:00Z", "2026-11-08T01:30:00Z", True, id="after-midnight-part"),
    pytest.param(NIGHTLY_SAT, "2026-11-07T23:00:00Z", "2026-11-08T02:01:00Z", False, id="across-midnight-too-long"),
    pytest.param(NIGHTLY_SAT, "2026-11-08T22:00:00Z", "2026-11-08T23:00:00Z", False, id="sunday-evening"),
])
def test_window_containing(windows: list[Window], start: str, end: str, inside: bool) -> None:
    assert (window_containing(windows, UTCZ, I(start, end)) is not None) is inside


@pytest.mark.parametrize(("windows", "at", "expected"), [
    pytest.param(TUE_THU, "2026-11-10T02:00:00Z", ("2026-11-10T02:00:00Z", "2026-11-10T04:00:00Z"), id="opens"),
    pytest.param(TUE_THU, "2026-11-10T03:59:59Z", ("2026-11-10T02:00:00Z", "2026-11-10T04:00:00Z"), id="last-second"),
    pytest.param(TUE_THU, "2026-11-10T04:00:00Z", None, id="closed-at-end"),
    pytest.param(TUE_THU, "2026-11-10T01:59:59Z", None, id="not-yet"),
    pytest.param(NIGHTLY_SAT, "2026-11-08T01:00:00Z", ("2026-11-07T22:00:00Z", "2026-11-08T02:00:00Z"),
                 id="after-midnight"),
])
def test_window_open_at(windows: list[Window], at: str, expected: tuple[str, str] | None) -> None:
    assert window_open_at(windows, UTCZ, T(at)) == (I(*expected) if expected else None)


@pytest.mark.parametrize(("after", "expected"), [
    pytest.param("2026-11-03T12:00:00Z", "2026-11-05T02:00:00Z", id="tuesday-noon-to-thursday"),
    pytest.param("2026-11-05T02:00:00Z", "2026-11-05T02:00:00Z", id="exactly-at-opening"),
    pytest.param("2026-11-05T02:00:01Z", "2026-11-10T02:00:00Z", id="just-after-opening"),
    pytest.param("2026-11-06T09:00:00Z", "2026-11-10T02:00:00Z", id="over-the-weekend"),
])
def test_next_window(after: str, expected: str) -> None:
    nxt = next_window(TUE_THU, UTCZ, T(after))
    assert nxt is not None and nxt.start == T(expected)


def test_next_window_gives_up_beyond_the_horizon() -> None:
    assert next_window([], UTCZ, T("2026-11-03T12:00:00Z")) is None
    assert next_window(TUE_THU, UTCZ, T("2026-11-03T12:00:00Z"), horizon_days=1) is None


# -- blackouts -------------------------------------------------------------------------------------------
def test_blackouts_overlapping_are_half_open() -> None:
    freeze = Blackout(name="Freeze", start=T("2026-11-09T00:00:00Z"), end=T("2026-11-10T02:00:00Z"))
    later = Blackout(name="Later", start=T("2026-11-10T03:00:00Z"), end=T("2026-11-11T00:00:00Z"))
    change = I("2026-11-10T02:00:00Z", "2026-11-10T03:00:00Z")
    assert blackouts_overlapping([freeze, later], change) == []
    assert blackouts_overlapping([freeze, later], change.widened(timedelta(seconds=1))) == [freeze, later]


def test_blackout_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        Blackout(name="x", start=T("2026-11-10T00:00:00Z"), end=T("2026-11-10T00:00:00Z"))


@pytest.mark.parametrize(("at", "zone", "expected"), [
    ("2026-12-01T02:00:00Z", "UTC", "Tue 2026-12-01 02:00 UTC"),
    ("2026-12-01T02:00:00Z", "Europe/London", "Tue 2026-12-01 02:00 GMT"),
    ("2026-07-01T02:00:00Z", "Europe/London", "Wed 2026-07-01 03:00 BST"),
    ("2026-11-03T03:00:00Z", "America/New_York", "Mon 2026-11-02 22:00 EST"),
], ids=lambda v: str(v))
def test_format_local(at: str, zone: str, expected: str) -> None:
    assert format_local(T(at), ZoneInfo(zone)) == expected


def test_intervals_compare_instants_not_offsets() -> None:
    a = Interval(datetime(2026, 11, 10, 2, tzinfo=UTC), datetime(2026, 11, 10, 3, tzinfo=UTC))
    b = I("2026-11-10T03:00:00+01:00", "2026-11-10T04:00:00+01:00")
    assert a == b
