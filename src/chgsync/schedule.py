"""Calendar arithmetic for change timing: business days, change windows, blackouts, overlaps.

Pure functions; every instant is timezone-aware. Windows are wall-clock times in the policy's zone,
so on a day when the clocks change a window is as long as the wall clock says: a window of
02:00–04:00 on a spring-forward night where 02:00 does not exist opens when the clock jumps to
03:00 (any start or end the clock skips is the moment it jumps); an ambiguous start resolves to
its first occurrence and an ambiguous end to its second, so a window never shrinks because of a
repeated hour.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .policy import Blackout, Window


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_instant(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def widened(self, margin: timedelta) -> Interval:
        return Interval(self.start - margin, self.end + margin)


def is_business_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: date, n: int, holidays: Collection[date]) -> date:
    """The date ``n`` business days after ``day`` (``day`` itself never counts)."""
    current = day
    remaining = n
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current, holidays):
            remaining -= 1
    return current


def earliest_start(submitted: datetime, business_days: int, zone: ZoneInfo, holidays: Collection[date]) -> datetime:
    """The first instant a change submitted at ``submitted`` may start with ``business_days`` of notice.

    Notice is counted in whole local business days after the day of submission, so a change submitted
    on Monday with five days' notice may start from the following Monday 00:00 local time (later if
    a holiday falls in between).
    """
    local_day = submitted.astimezone(zone).date()
    first_day = add_business_days(local_day, business_days, holidays)
    return _local(first_day, time(0), zone, fold=0)


def _local(day: date, at: time, zone: ZoneInfo, fold: int) -> datetime:
    """When the clock in ``zone`` reads ``at`` on ``day``: ``fold`` picks the occurrence of a repeated
    time; a time the clock skips is the instant it jumps."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # Skipped: read with the offset after the jump it is an instant before the jump, read with the one
    # before it an instant after; the jump (at a whole second) lies between.
    lo = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    hi = math.ceil(naive.replace(tzinfo=zone, fold=0).timestamp())
    before = datetime.fromtimestamp(lo, UTC).astimezone(zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def window_occurrences(windows: Iterable[Window], zone: ZoneInfo, day: date) -> Iterator[Interval]:
    """The windows that open on local date ``day``, as UTC intervals."""
    for w in windows:
        if day.weekday() not in {d.index for d in w.days}:
            continue
        end_day = day if w.end > w.start else day + timedelta(days=1)
        start = _local(day, w.start, zone, fold=0)
        end = _local(end_day, w.end, zone, fold=1)
        if end > start:
            yield Interval(start, end)


def _candidate_days(at: datetime, zone: ZoneInfo) -> list[date]:
    local = at.astimezone(zone).date()
    return [local - timedelta(days=1), local]


def window_containing(windows: list[Window], zone: ZoneInfo, planned: Interval) -> Interval | None:
    """The window occurrence that contains the whole planned interval, if any."""
    for day in _candidate_days(planned.start, zone):
        for occ in window_occurrences(windows, zone, day):
            if occ.contains(planned):
                return occ
    return None


def window_open_at(windows: list[Window], zone: ZoneInfo, at: datetime) -> Interval | None:
    for day in _candidate_days(at, zone):
        for occ in window_occurrences(windows, zone, day):
            if occ.contains_instant(at):
                return occ
    return None


def next_window(windows: list[Window], zone: ZoneInfo, after: datetime, *, horizon_days: int = 60) -> Interval | None:
    """The first window occurrence that opens at or after ``after`` (for suggestions in messages)."""
    start_day = after.astimezone(zone).date()
    best: Interval | None = None
    for offset in range(horizon_days + 1):
        for occ in window_occurrences(windows, zone, start_day + timedelta(days=offset)):
            if occ.start >= after and (best is None or occ.start < best.start):
                best = occ
        if best is not None:
            return best
    return None


def blackouts_overlapping(blackouts: Iterable[Blackout], planned: Interval) -> list[Blackout]:
    return [b for b in blackouts if Interval(b.start, b.end).overlaps(planned)]


def format_local(at: datetime, zone: ZoneInfo) -> str:
    """A time as people in the policy's zone read it: ``Tue 2026-12-01 02:00 GMT``."""
    local = at.astimezone(zone)
    return local.strftime("%a %Y-%m-%d %H:%M ") + (local.tzname() or "")
