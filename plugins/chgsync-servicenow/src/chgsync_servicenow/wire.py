"""ServiceNow's wire values: everything a string, times as zone-less UTC, references as sys_ids.

The Table API with ``sysparm_display_value=false`` answers every value as a string and reads written
values the same way. Date/times are ``YYYY-MM-DD HH:MM:SS`` in UTC with no zone marker, to the
second; writing another format (ISO 8601 with ``T`` or an offset) does not fail, the platform stores
the field empty, so this module is the one place times are formatted. Display values (user time
zone, user date format, choice labels) are never used for data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"
_GLIDE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")


class WireError(ValueError):
    """A remote value that is not in the form the Table API uses."""


def to_glide(moment: datetime) -> str:
    """An aware time as the Table API's raw date/time: UTC, to the second, no zone marker."""
    if moment.tzinfo is None:
        raise WireError(f"{moment.isoformat()} has no time zone; chgsync only writes times with a zone")
    return moment.astimezone(UTC).strftime(GLIDE_FORMAT)


def from_glide(text: str) -> datetime | None:
    """A raw date/time (UTC, zone-less) as an aware UTC datetime; ``""`` is no value."""
    text = text.strip()
    if text == "":
        return None
    if not _GLIDE.match(text):
        raise WireError(f"{text!r} is not a ServiceNow date/time (YYYY-MM-DD HH:MM:SS, UTC)")
    try:
        parsed = datetime.strptime(text, GLIDE_FORMAT if " " in text else "%Y-%m-%d")
    except ValueError as exc:
        raise WireError(f"{text!r} is not a valid date/time: {exc}") from None
    return parsed.replace(tzinfo=UTC)


def plain(value: Any) -> str:
    """A field as the Table API returns it, reduced to its raw string.

    Accepts every shape a client may meet: a plain string, a reference ``{"link", "value"}``, a
    ``display_value=all`` pair ``{"display_value", "value"}``, JSON numbers and booleans (from
    hand-written payloads or the Change Management API), and ``null``.
    """
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return plain(value.get("value", ""))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_wire(value: Any) -> str:
    """A plain canonical value (after its codec) as the string to send."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_glide(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(getattr(value, "value", value))
