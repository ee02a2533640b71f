"""Jira's ways of writing time: REST timestamps, date-only values and JQL date literals.

Jira renders instants as ``2026-11-26T10:00:00.000+0100`` (milliseconds, an offset without a colon,
in the zone of the user who reads them), which is not RFC 3339; clients that parse it with
``fromisoformat`` on older Pythons break, so the emulator must produce exactly this shape.
JQL literals have minute precision and are read in the searching user's zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATE_FORMAT_HELP = (
    "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'"
)

_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})$"
)
_JQL_DATE_RE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_PERIOD_PART_RE = re.compile(r"([+-]?)(\d+)([yMwdhm])")
_PERIOD_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}


def zone(name: str) -> tzinfo:
    """The zone a Jira profile names; ``ValueError`` for names the tz database does not know."""
    if name in ("UTC", "GMT", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"'{name}' is not a time zone name from the tz database (e.g. 'Europe/Berlin')."
        ) from exc


def truncate_ms(moment: datetime) -> datetime:
    """Jira keeps milliseconds; dropping the rest keeps stored and rendered values equal."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_ts(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_ts(text: str) -> datetime:
    """Read a timestamp a client sends for a datetime field (Jira's shape, ISO 8601 with an offset too)."""
    m = _TS_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if offset == "Z":
        tz: tzinfo = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(timedelta(minutes=sign * (int(digits[:2]) * 60 + int(digits[2:]))))
    micro = int((frac or "0").ljust(6, "0"))
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz
    )


def parse_date(text: str) -> date:
    """A date-only value (``yyyy-MM-dd``), as due dates and date pickers take."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return date.fromisoformat(text)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_period(text: str) -> timedelta | None:
    """A JQL relative date such as ``-5m``, ``-2h``, ``4w 2d``; None when ``text`` is not one."""
    compact = text.strip()
    if not compact:
        return None
    parts = compact.split()
    total = timedelta()
    for part in parts:
        m = _PERIOD_PART_RE.fullmatch(part)
        if not m:
            return None
        sign, amount, unit = m.groups()
        n = int(amount) * (-1 if sign == "-" else 1)
        if unit == "y":
            total += timedelta(days=365 * n)
        elif unit == "M":
            total += timedelta(days=30 * n)
        else:
            total += _PERIOD_UNITS[unit] * n
    return total


def parse_jql_date(text: str, tz: tzinfo, now: datetime) -> datetime:
    """Resolve a JQL date literal to an instant; ``ValueError`` if Jira would reject it.

    Absolute literals name a minute (or a day) on the searching user's wall clock; there is no way
    to write seconds, which is why pollers need an overlap window.
    """
    period = parse_period(text)
    if period is not None:
        return now + period
    m = _JQL_DATE_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute = m.groups()
    local = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    if hour is not None and not (0 <= int(hour) < 24):
        raise ValueError(text)
    return local.replace(tzinfo=tz)


def start_of_day(moment: datetime, tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
