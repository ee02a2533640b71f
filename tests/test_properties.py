"""Property tests: the lifecycle cannot be escaped; business days and windows keep their invariants."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from chgsync import lifecycle
from chgsync.lifecycle import EDGES, TERMINAL, ChangeType, State
from chgsync.policy import Weekday, Window
from chgsync.rules import BUILTIN_RULES
from chgsync.schedule import (
    Interval,
    add_business_days,
    is_business_day,
    window_containing,
    window_occurrences,
    window_open_at,
)
from chgsync.validation import Guard, TransitionRefused

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

change_types = st.sampled_from(list(ChangeType))
states = st.sampled_from(list(State))


# -- lifecycle ---------------------------------------------------------------------------------------------
@SETTINGS
@given(change_type=change_types,
       moves=st.lists(st.tuples(states, st.integers(min_value=0, max_value=3 * 24 * 60)), max_size=14),
       only_lifecycle=st.booleans())
def test_no_sequence_of_moves_escapes_the_lifecycle(make_change: Any, policy: Any, change_type: ChangeType,
                                                    moves: list[tuple[State, int]], only_lifecycle: bool) -> None:
    rules = [r for r in BUILTIN_RULES if r.name == "lifecycle"] if only_lifecycle else list(BUILTIN_RULES)
    guard = Guard(policy, rules=rules)
    change = make_change(change_type)
    at = START
    accepted: list[tuple[State, State, datetime]] = []
    for target, minutes in moves:
        at += timedelta(minutes=minutes)
        source = change.state
        try:
            moved = guard.move(change, target, at)
        except TransitionRefused as refused:
            assert refused.violations, "a refusal always says why"
            assert (refused.source, refused.target) == (source, target)
            if only_lifecycle:
                assert target not in EDGES[change_type][source]
            continue
        assert source not in TERMINAL, f"left terminal state {source}"
        assert target in EDGES[change_type][source], f"{source} -> {target} is not an edge"
        assert moved.state == target
        accepted.append((source, target, at))
        change = moved
    note(f"accepted: {[(s.value, t.value) for s, t, _ in accepted]}")
    assert [(h.from_state, h.to_state, h.at) for h in change.history] == accepted
    assert change.state == (accepted[-1][1] if accepted else State.DRAFT)


def _distances(change_type: ChangeType, start: State) -> dict[State, int]:
    """Breadth-first distances over EDGES, computed here independently of lifecycle.path."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        for t in EDGES[change_type][s]:
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    return dist


@settings(max_examples=200, deadline=None)
@given(change_type=change_types, start=states, goal=states)
def test_path_only_uses_edges_and_is_shortest(change_type: ChangeType, start: State, goal: State) -> None:
    route = lifecycle.path(change_type, start, goal)
    dist = _distances(change_type, start)
    if route is None:
        assert goal not in dist
        return
    assert len(route) == dist[goal]
    assert (route[-1] if route else start) == goal
    for a, b in itertools.pairwise([start, *route]):
        assert b in EDGES[change_type][a]


@pytest.mark.parametrize("change_type", list(ChangeType), ids=str)
def test_happy_path_only_uses_edges(change_type: ChangeType) -> None:
    route = lifecycle.happy_path(change_type)
    assert route[0] == State.DRAFT and route[-1] == State.CLOSED
    assert all(b in EDGES[change_type][a] for a, b in itertools.pairwise(route))
    assert not set(route) & {State.REJECTED, State.CANCELLED}


# -- business days -------------------------------------------------------------------------------------------
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def day_and_holidays(draw: st.DrawFn) -> tuple[date, set[date]]:
    day = draw(days)
    offsets = draw(st.sets(st.integers(min_value=-5, max_value=120), max_size=25))
    return day, {day + timedelta(days=o) for o in offsets}


@settings(max_examples=300, deadline=None)
@given(start=day_and_holidays(), n=st.integers(min_value=0, max_value=40))
def test_add_business_days_lands_on_a_business_day_n_days_later(start: tuple[date, set[date]], n: int) -> None:
    day, holidays = start
    result = add_business_days(day, n, holidays)
    if n == 0:
        assert result == day
        return
    assert result > day
    assert result.weekday() < 5 and result not in holidays and is_business_day(result, holidays)
    counted = sum(1 for i in range(1, (result - day).days + 1) if is_business_day(day + timedelta(days=i), holidays))
    assert counted == n


@settings(max_examples=300, deadline=None)
@given(start=day_and_holidays(), n=st.integers(min_value=0, max_value=30), later=st.integers(0, 20),
       more=st.integers(1, 10))
def test_add_business_days_is_monotonic(start: tuple[date, set[date]], n: int, later: int, more: int) -> None:
    day, holidays = start
    assert add_business_days(day, n + more, holidays) > add_business_days(day, n, holidays)
    assert add_business_days(day + timedelta(days=later), n, holidays) >= add_business_days(day, n, holidays)


# -- windows --------------------------------------------------------------------------------------------------
# The 2026 clock changes of the zones drawn from, so that gaps and repeated hours are hit often.
CLOCK_CHANGES = {
    "UTC": [],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],          # 01:00 -> 02:00, 02:00 -> 01:00
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],        # 02:00 -> 03:00, 02:00 -> 01:00
    "Pacific/Auckland": [date(2026, 4, 5), date(2026, 9, 27)],        # 03:00 -> 02:00, 02:00 -> 03:00
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],     # 02:00 -> 01:30, 02:00 -> 02:30
}
zone_and_day = st.one_of(
    st.sampled_from([(zone, day) for zone, changes in CLOCK_CHANGES.items() for day in changes]),
    st.tuples(st.sampled_from(list(CLOCK_CHANGES)), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
)
# Hours 0-3 (where the clocks change) are drawn often.
clock_times = st.builds(time, st.one_of(st.integers(0, 3), st.integers(0, 23)), st.sampled_from([0, 15, 30, 45]))
windows_st = st.lists(
    st.builds(lambda ds, s, e: Window(days=sorted(ds, key=lambda d: d.index), start=s, end=e),
              st.one_of(st.just(set(Weekday)), st.sets(st.sampled_from(list(Weekday)), min_size=1)),
              clock_times, clock_times),
    min_size=1, max_size=3)


def _offset(zone: ZoneInfo, naive: datetime, fold: int) -> timedelta | None:
    return naive.replace(tzinfo=zone, fold=fold).utcoffset()


@SETTINGS
@given(where=zone_and_day, windows=windows_st, minute_of_day=st.integers(-24 * 60, 48 * 60),
       minutes=st.integers(min_value=1, max_value=26 * 60))
def test_window_containment_agrees_with_window_open_at(where: tuple[str, date], windows: list[Window],
                                                       minute_of_day: int, minutes: int) -> None:
    zone_name, day = where
    zone = ZoneInfo(zone_name)
    at = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(minutes=minute_of_day)
    planned = Interval(at, at + timedelta(minutes=minutes))
    open_now = window_open_at(windows, zone, at)
    containing = window_containing(windows, zone, planned)
    # brute force over every occurrence that could hold the instant
    local = at.astimezone(zone).date()
    occurrences = [o for d in range(-2, 2) for o in window_occurrences(windows, zone, local + timedelta(days=d))]
    assert (open_now is not None) == any(o.contains_instant(at) for o in occurrences)
    if open_now is not None:
        assert open_now.contains_instant(at)
        whole = window_containing(windows, zone, Interval(at, open_now.end))
        assert whole is not None and whole.contains(Interval(at, open_now.end))
    if containing is not None:
        assert containing.contains(planned)
        assert open_now is not None
        assert window_open_at(windows, zone, planned.end - timedelta(microseconds=1)) is not None
    else:
        assert not any(o.contains(planned) for o in occurrences)


@SETTINGS
@given(where=zone_and_day, windows=windows_st)
def test_window_occurrences_follow_the_wall_clock(where: tuple[str, date], windows: list[Window]) -> None:
    zone_name, day = where
    zone = ZoneInfo(zone_name)
    for w in windows:
        for occ in window_occurrences([w], zone, day):
            assert occ.start < occ.end
            for edge, wall, fold in ((occ.start, w.start, 0), (occ.end, w.end, 1)):
                local = edge.astimezone(zone)
                naive = datetime.combine(local.date(), wall)
                if local.time() == wall:
                    ambiguous = _offset(zone, naive, 0) != _offset(zone, naive, 1)
                    # an ambiguous start is its first occurrence, an ambiguous end its second
                    assert local.fold == (fold if ambiguous else 0)
                else:
                    # the wall time was skipped: the edge is the instant the clock jumped past it
                    before = (edge - timedelta(seconds=1)).astimezone(zone)
                    assert before.utcoffset() != local.utcoffset()
                    assert before.replace(tzinfo=None) < naive <= local.replace(tzinfo=None)
