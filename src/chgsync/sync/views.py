"""What one system holds of a change, as comparable plain JSON: the basis of baselines and echoes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..adapter import Adapter
from ..model import Change

STATE_KEY = "__state__"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def normalise(values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(values, default=_plain, sort_keys=True))
    return result


def remote_view(adapter: Adapter, change: Change) -> dict[str, Any]:
    """The mapped fields of ``change`` as ``adapter``'s mapping encodes them, plus its state."""
    values = adapter.mapping.encode(change)
    values[STATE_KEY] = change.state.value
    return normalise(values)


def changed_remote_fields(view: dict[str, Any], baseline: dict[str, Any]) -> set[str]:
    return {k for k, v in view.items() if k != STATE_KEY and baseline.get(k) != v}
