"""Shared builders for the core's tests: complete changes of each type, a fixed clock, policies, a guard.

Test modules import nothing from here (pytest runs with ``--import-mode=importlib``); they ask for
the fixtures below. Every fixture is session-scoped and hands out immutable values or pure
factories, so hypothesis tests may use them too.

The clock and the complete changes are chosen against the built-in policy (UTC, windows Tue/Thu
02:00-04:00, five business days' notice for normal changes):

* ``NOW`` is Monday 2026-11-02 09:00 UTC; five business days later is Monday 2026-11-09.
* the normal change is planned for Tuesday 2026-11-10 02:00-03:00 UTC (inside a window);
* the standard change for Thursday 2026-11-05 02:00-02:30 UTC (a standard change needs no notice);
* the emergency change has no planned window: it is authorised to start at once.

``check(change, target, at, others)`` runs every built-in rule and returns sorted (code, field)
pairs; ``check.with_policy(timezone=..., blackouts=[...])`` does so under another policy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chgsync.lifecycle import ChangeType, State
from chgsync.model import Change
from chgsync.policy import CatalogEntry, Policy
from chgsync.rules import BUILTIN_RULES
from chgsync.validation import Guard, Violation

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday

DROP = object()  # marks a key to delete in make_change(set=...)


def _base(change_type: ChangeType) -> dict[str, Any]:
    if change_type == ChangeType.NORMAL:
        return {
            "id": "CHG-100",
            "title": "Upgrade orders-db from PostgreSQL 15 to 16",
            "type": "normal",
            "requester": "dana@example.com",
            "implementer": "sam@example.com",
            "justification": {"reason": "PostgreSQL 15 leaves support.", "impact_if_not_done": "No security fixes."},
            "implementation": {"steps": ["Pause consumers", {"description": "Run pg_upgrade", "command": "./up.sh"}],
                               "systems": ["orders-db", "orders-worker"]},
            "risks": [{"risk": "Overruns the window", "likelihood": "low", "impact": "low",
                       "mitigation": "Rehearsed on staging."}],
            "rollback": {"trigger": "Checkout error rate above 5% for 5 minutes",
                         "steps": ["Fail back to the old primary"], "expected_duration": "PT15M"},
            "testing": {"pre_production": "Rehearsed on staging.", "validation": ["Checkout smoke test"]},
            "communication": {"stakeholders": ["Checkout team"], "channels": ["slack"]},
            "schedule": {"environment": "production", "planned_start": "2026-11-10T02:00:00Z",
                         "planned_end": "2026-11-10T03:00:00Z", "estimated_duration": "PT45M"},
            "cab": {"approvals": [
                {"role": "technical_lead", "approver": "lee@example.com", "decision": "approve",
                 "at": "2026-11-03T10:00:00Z"},
                {"role": "change_manager", "approver": "cam@example.com", "decision": "approve",
                 "at": "2026-11-03T10:30:00Z"},
            ]},
            "checklist": {"backup_verified": True, "rollback_tested": True, "stakeholders_notified": True,
                          "monitoring_configured": True, "oncall_available": True},
        }
    if change_type == ChangeType.STANDARD:
        return {
            "id": "CHG-200",
            "title": "Rotate the TLS certificate of web-frontend",
            "type": "standard",
            "requester": "sam@example.com",
            "catalog_entry": "tls_cert_rotation",
            "implementation": {"steps": ["Follow the tls_cert_rotation runbook"], "systems": ["web-frontend"]},
            "risks": [{"risk": "Wrong chain served", "likelihood": "low", "impact": "low",
                       "mitigation": "The runbook checks the chain first."}],
            "communication": {"stakeholders": ["Web team"], "channels": ["slack"]},
            "schedule": {"environment": "production", "planned_start": "2026-11-05T02:00:00Z",
                         "planned_end": "2026-11-05T02:30:00Z"},
            "checklist": {"backup_verified": True, "monitoring_configured": True, "oncall_available": True},
        }
    return {
        "id": "CHG-300",
        "title": "Roll back payments-api 4.2.0",
        "type": "emergency",
        "requester": "oncall@example.com",
        "justification": {"reason": "Card payments fail for 30% of customers."},
        "implementation": {"steps": ["Redeploy payments-api 4.1.3"], "systems": ["payments-api"]},
        "rollback": {"steps": ["Redeploy 4.2.0"]},
        "emergency": {"authorizer": "priya@example.com", "threshold": "production_down"},
        "cab": {"approvals": [
            {"role": "designated_authority", "approver": "priya@example.com", "decision": "approve",
             "reason": "Payments outage.", "at": "2026-11-02T08:55:00Z"},
        ]},
        "schedule": {"environment": "production", "estimated_duration": "PT20M"},
        "checklist": {"oncall_available": True},
    }


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b[2].c`` in nested dicts/lists; DROP deletes the key."""
    parts: list[str | int] = []
    for piece in dotted.split("."):
        name, _, rest = piece.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(part, str) and part not in node:
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if value is DROP:
        del node[last]
    else:
        node[last] = value


class ChangeFactory:
    """``make_change("normal", state="scheduled", set={"schedule.planned_end": ..., "risks": DROP})``."""

    def data(self, change_type: ChangeType | str = ChangeType.NORMAL) -> dict[str, Any]:
        return copy.deepcopy(_base(ChangeType(change_type)))

    def __call__(self, change_type: ChangeType | str = ChangeType.NORMAL, *, state: State | str = State.DRAFT,
                 set: dict[str, Any] | None = None, **fields: Any) -> Change:
        data = self.data(change_type)
        data["state"] = State(state).value
        for key, value in {**fields, **(set or {})}.items():
            _set_path(data, key, value)
        return Change.model_validate(data)


def with_(change: Change, **updates: Any) -> Change:
    """A validated copy of ``change`` with dotted-path updates (``schedule__planned_start=...``)."""
    data = change.model_dump(mode="json", by_alias=True)
    for key, value in updates.items():
        _set_path(data, key.replace("__", "."), value)
    return Change.model_validate(data)


def default_catalog() -> dict[str, CatalogEntry]:
    return {
        "tls_cert_rotation": CatalogEntry(title="Rotate the TLS certificate of a web front end",
                                          systems=["web-frontend", "api-gateway"],
                                          max_duration=timedelta(minutes=30)),
    }


def make_policy(**fields: Any) -> Policy:
    """The built-in policy plus the test catalog, with ``fields`` overriding (validated like a file)."""
    data: dict[str, Any] = {"catalog": {k: v.model_dump() for k, v in default_catalog().items()}}
    data.update(fields)
    return Policy.model_validate(data)


def problems(found: Iterable[Violation]) -> list[tuple[str, str]]:
    """Violations as sorted (code, field) pairs, for exact comparison with a table."""
    return sorted((v.code, v.field) for v in found)


class Checker:
    """Runs every built-in rule (and nothing installed) for a policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.guard = Guard(policy, rules=list(BUILTIN_RULES))

    def __call__(self, change: Change, target: State | str, at: datetime,
                 others: Sequence[Change] = ()) -> list[tuple[str, str]]:
        return problems(self.guard.check(change, State(target), at, others))

    def with_policy(self, **fields: Any) -> Checker:
        """A checker for the test policy with ``fields`` set (not layered on this checker's policy)."""
        return Checker(make_policy(**fields))


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def make_change() -> ChangeFactory:
    return ChangeFactory()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return make_policy()


@pytest.fixture(scope="session")
def guard(policy: Policy) -> Guard:
    return Guard(policy, rules=list(BUILTIN_RULES))


@pytest.fixture(scope="session")
def check(policy: Policy) -> Checker:
    """``check(change, target, at, others)`` → sorted (code, field) pairs from every built-in rule."""
    return Checker(policy)


@pytest.fixture(scope="session")
def updated() -> Callable[..., Change]:
    """``updated(change, schedule__planned_end="2026-11-10T04:00:00Z")``: a validated copy."""
    return with_
