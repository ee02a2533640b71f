"""Complete, valid changes of each type, for tests (chgsync's own and plugin authors')."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..lifecycle import ChangeType
from ..model import Change


def sample_change(change_type: ChangeType | str = ChangeType.NORMAL, *, id: str = "CHG-1",
                  start: datetime | None = None, **overrides: Any) -> Change:
    """A change with every part filled in. ``start`` sets a one-hour planned window."""
    change_type = ChangeType(change_type)
    start = start or datetime.fromisoformat("2026-12-08T02:00:00+00:00")
    data: dict[str, Any] = {
        "id": id,
        "title": f"Upgrade orders-db ({change_type.value})",
        "type": change_type,
        "description": "Move orders-db to PostgreSQL 16.",
        "requester": "dana@example.com",
        "implementer": "sam@example.com",
        "justification": {"reason": "PostgreSQL 15 leaves support.", "impact_if_not_done": "No security fixes."},
        "implementation": {
            "steps": [{"description": "Pause consumers"}, {"description": "Run pg_upgrade", "command": "./up.sh"}],
            "systems": ["orders-db", "orders-worker"],
            "dependencies": ["payments-api"],
        },
        "risks": [{"risk": "Overruns the window", "likelihood": "low", "impact": "medium",
                   "mitigation": "Rehearsed on staging."}],
        "rollback": {
            "trigger": {"description": "Error rate above 5%",
                        "condition": {"query": "job:errors:ratio5m", "op": ">", "threshold": 0.05, "for": "PT5M"}},
            "steps": [{"description": "Fail back to the old primary"}],
            "expected_duration": "PT15M",
        },
        "testing": {"pre_production": "Rehearsed on staging.", "validation": ["Checkout smoke test"]},
        "communication": {"stakeholders": [{"name": "Checkout team", "contact": "#checkout"}],
                          "timing": ["before", "after"], "channels": ["slack", "email"]},
        "schedule": {"environment": "production", "planned_start": start, "planned_end": start + timedelta(hours=1),
                     "estimated_duration": "PT45M"},
        "checklist": {k: True for k in ("backup_verified", "rollback_tested", "stakeholders_notified",
                                        "monitoring_configured", "oncall_available")},
    }
    if change_type == ChangeType.STANDARD:
        data["catalog_entry"] = "db_minor_upgrade"
    if change_type == ChangeType.EMERGENCY:
        data["emergency"] = {"authorizer": "priya@example.com", "threshold": "production_down"}
    data.update(overrides)
    return Change.model_validate(data)
