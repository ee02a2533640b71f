"""Outbound notifications: what an after-insert/update business rule with a REST message would send.

ServiceNow has no native webhook subscriptions; teams write an ``after`` business rule on
``change_request`` that posts ``current`` to an endpoint (``sn_ws.RESTMessageV2``), authenticated
with a shared-secret header or basic auth. The emulator behaves as if such a rule were installed:
every accepted insert or update of a change_request -- including the integration's own writes,
hence echoes -- produces one POST with a JSON body::

    {
      "table": "change_request",
      "operation": "insert" | "update",
      "sys_id": "...", "number": "CHG0030001",
      "sys_mod_count": "3",                  # a string, as getValue() gives it
      "sys_updated_on": "2026-11-26 10:00:00",  # UTC, no zone
      "sys_updated_by": "admin",             # user_name of whoever caused the write
      "changed_fields": ["state", "work_notes"],
      "previous": {"state": "-5"},           # raw values before the write, changed fields only
      "journal": [{"element": "work_notes", "value": "..."}],  # entries this write added
      "record": {...}                         # every field's raw value; references as bare sys_ids
    }

The event name (for ``/_emulator/webhooks`` ``events`` filters) is ``change_request.insert`` or
``change_request.update``. A subscription's secret is sent verbatim in ``X-SN-Webhook-Secret``:
REST messages carry a static header, not an HMAC of the body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .store import Record

SECRET_HEADER = "X-SN-Webhook-Secret"

#: Tables whose writes fire the notification rule.
NOTIFIED_TABLES = frozenset({"change_request"})


def shared_secret(body: bytes, secret: str) -> dict[str, str]:
    """The header a REST message with a static shared secret adds; ``body`` is not signed."""
    return {SECRET_HEADER: secret}


def payload(
    table: str,
    operation: str,
    record: Record,
    previous: Mapping[str, str],
    changed: Sequence[str],
    journal: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    return {
        "table": table,
        "operation": operation,
        "sys_id": record.get("sys_id", ""),
        "number": record.get("number", ""),
        "sys_mod_count": record.get("sys_mod_count", ""),
        "sys_updated_on": record.get("sys_updated_on", ""),
        "sys_updated_by": record.get("sys_updated_by", ""),
        "changed_fields": list(changed),
        "previous": {f: previous.get(f, "") for f in changed if f in previous},
        "journal": [dict(j) for j in journal],
        "record": dict(record),
    }
