"""Complete, valid changes of each type, and the notices and deploy markers the daemon makes of them,
for tests (chgsync's own and plugin authors')."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..lifecycle import ChangeType
from ..markers import DeployMarker, MarkerPhase
from ..model import Change
from ..notify import Notification


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


SAMPLE_NOTICE = Notification(
    key="CHG-7:cab_decision:1",
    change_id="CHG-7",
    event="cab_decision",
    subject="CHG-7: Upgrade the orders database to PostgreSQL 16",
    text="The CAB approved CHG-7 for the window on 2026-03-01.",
    links={"jira": "https://acme.atlassian.net/browse/OPS-42", "servicenow": "CHG0031337"},
    facts={"State": "Scheduled", "Type": "normal", "Risk": "high",
           "Window": "2026-03-01 02:00–03:00 UTC", "Environment": "", "Systems": "orders-db"},
)


def sample_notice(**fields: Any) -> Notification:
    """The CAB's approval of CHG-7 as a notice, with links to two trackers and the facts a card shows;
    ``fields`` replace any part (a channel's tests usually give ``key`` its own suffix)."""
    return replace(SAMPLE_NOTICE, **fields)


def sample_marker(phase: MarkerPhase | str = MarkerPhase.STARTED, *, at: datetime | None = None,
                  took: timedelta = timedelta(minutes=30), **fields: Any) -> DeployMarker:
    """CHG-1001's deploy marker on checkout in prod, keyed ``CHG-1001:mark:<phase>``.

    ``at`` defaults to 2026-03-01 02:00 UTC; a finished or rolled-back marker began ``took`` before
    it. ``fields`` replace any other part (``key``, ``environment``, ``links``, ``started_at``...).
    """
    phase = MarkerPhase(phase)
    at = at or datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    marker = DeployMarker(
        key=f"CHG-1001:mark:{phase.value}", change_id="CHG-1001", phase=phase, at=at, services=("checkout",),
        environment="prod", title="Upgrade the cart", change_type="normal", risk="moderate",
        links={"Jira": "https://acme.atlassian.net/browse/CHG-1001"},
        started_at=None if phase == MarkerPhase.STARTED else at - took)
    return replace(marker, **fields)
