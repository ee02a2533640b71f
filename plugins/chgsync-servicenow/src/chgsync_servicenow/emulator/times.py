"""Date handling as the platform does it: stored UTC without a zone, displayed in the user's zone.

``glide_date_time`` values are ``yyyy-MM-dd HH:mm:ss`` in UTC. Display values use the API user's
time zone (``sys_user.time_zone``, else the instance default) and the default date format, which is
the same pattern. ``gs.dateGenerate`` in queries is read in the user's zone too, while literal dates
are UTC: the inconsistency integrators trip over, kept on purpose.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"

_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$")


def zone(name: str) -> tzinfo:
    """The zone for a ``sys_user.time_zone`` value; an unknown name is an error, not a silent UTC."""
    if not name or name.upper() in ("UTC", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{name}' is not a time zone name such as 'America/Los_Angeles' or 'UTC'.") from exc


def to_glide(moment: datetime) -> str:
    """A moment as the stored value: UTC, second precision, no zone marker."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(GLIDE_FORMAT)


def parse_glide(text: str, tz: tzinfo = UTC) -> datetime | None:
    """``yyyy-MM-dd[ HH:mm:ss]`` read in ``tz``; ``None`` when it is not a date in that form."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(p) if p is not None else 0 for p in m.groups())
    try:
        local = datetime(y, mo, d, h, mi, sec)
    except ValueError:
        return None
    return _localize(local, tz)


def _localize(local: datetime, tz: tzinfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def normalize_datetime(value: str) -> str:
    """A written date/time value as stored; a value the platform cannot parse is stored empty."""
    if value == "":
        return ""
    parsed = parse_glide(value)
    return to_glide(parsed) if parsed else ""


def normalize_date(value: str) -> str:
    if value == "":
        return ""
    parsed = parse_glide(value)
    return parsed.strftime(DATE_FORMAT) if parsed else ""


def display_datetime(value: str, tz: tzinfo) -> str:
    parsed = parse_glide(value)
    if parsed is None:
        return value
    return parsed.astimezone(tz).strftime(GLIDE_FORMAT)


def day_start(day: date, tz: tzinfo) -> datetime:
    return _localize(datetime.combine(day, time(0, 0, 0)), tz)


def day_end(day: date, tz: tzinfo) -> datetime:
    return _localize(datetime.combine(day, time(23, 59, 59)), tz)


def local_today(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


__all__ = [
    "DATE_FORMAT",
    "GLIDE_FORMAT",
    "day_end",
    "day_start",
    "display_datetime",
    "local_today",
    "normalize_date",
    "normalize_datetime",
    "parse_glide",
    "to_glide",
    "zone",
]
