"""The canonical Change model: risk matrix, shorthand input, strictness, and the JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from chgsync.lifecycle import ChangeType, State
from chgsync.model import Change, Level, MetricCondition

MINIMAL = {"id": "CHG-1", "title": "A change", "type": "normal"}


def change(**fields: Any) -> Change:
    return Change.model_validate({**MINIMAL, **fields})


def row(likelihood: str, impact: str, mitigation: str | None = "m") -> dict[str, Any]:
    return {"risk": f"{likelihood} x {impact}", "likelihood": likelihood, "impact": impact, "mitigation": mitigation}


# likelihood x impact on a 3x3 matrix: score 1-2 low, 3-4 medium, 6-9 high.
@pytest.mark.parametrize(("likelihood", "impact", "level"), [
    ("low", "low", "low"),           # 1
    ("low", "medium", "low"),        # 2
    ("medium", "low", "low"),        # 2
    ("low", "high", "medium"),       # 3
    ("high", "low", "medium"),       # 3
    ("medium", "medium", "medium"),  # 4
    ("medium", "high", "high"),      # 6
    ("high", "medium", "high"),      # 6
    ("high", "high", "high"),        # 9
], ids=lambda v: v)
def test_risk_matrix(likelihood: str, impact: str, level: str) -> None:
    c = change(risks=[row(likelihood, impact)])
    assert c.risks[0].level == Level(level)
    assert c.overall_risk == Level(level)


@pytest.mark.parametrize(("rows", "overall"), [
    pytest.param([], None, id="unassessed"),
    pytest.param([("low", "low"), ("low", "high")], "medium", id="highest-row-wins"),
    pytest.param([("high", "high"), ("low", "low")], "high", id="order-does-not-matter"),
    pytest.param([("low", "medium"), ("medium", "low")], "low", id="all-low"),
])
def test_overall_risk_is_the_highest_row(rows: list[tuple[str, str]], overall: str | None) -> None:
    c = change(risks=[row(*r) for r in rows])
    assert c.overall_risk == (Level(overall) if overall else None)


def test_overall_risk_given_as_input_is_ignored() -> None:
    c = change(risks=[row("high", "high")], overall_risk="low")
    assert c.overall_risk == Level.HIGH


def test_bare_strings_for_steps_stakeholders_and_trigger() -> None:
    c = change(
        implementation={"steps": ["Pause consumers", {"description": "Upgrade", "command": "./up.sh"}]},
        rollback={"trigger": "Error rate above 5%", "steps": ["Fail back"]},
        communication={"stakeholders": ["Checkout team", {"name": "Support", "contact": "#support"}]},
    )
    assert [(s.description, s.command) for s in c.implementation.steps] == [("Pause consumers", None),
                                                                            ("Upgrade", "./up.sh")]
    assert c.rollback.trigger is not None
    assert (c.rollback.trigger.description, c.rollback.trigger.condition) == ("Error rate above 5%", None)
    assert [s.description for s in c.rollback.steps] == ["Fail back"]
    assert [(s.name, s.contact) for s in c.communication.stakeholders] == [("Checkout team", None),
                                                                          ("Support", "#support")]


@pytest.mark.parametrize(("fields", "where"), [
    pytest.param({"colour": "red"}, ("colour",), id="unknown-top-level-field"),
    pytest.param({"schedule": {"planed_start": "2026-12-08T02:00:00Z"}}, ("schedule", "planed_start"),
                 id="unknown-nested-field"),
    pytest.param({"schedule": {"planned_start": "2026-12-08T02:00:00"}}, ("schedule", "planned_start"),
                 id="time-without-zone"),
    pytest.param({"schedule": {"planned_start": "2026-12-08T03:00:00Z", "planned_end": "2026-12-08T03:00:00Z"}},
                 ("schedule",), id="end-not-after-start"),
    pytest.param({"id": "1-starts-with-digit"}, ("id",), id="bad-change-id"),
    pytest.param({"title": "   "}, ("title",), id="blank-title"),
    pytest.param({"implementation": {"steps": [""]}}, ("implementation", "steps", 0, "description"),
                 id="empty-step"),
    pytest.param({"risks": [{"risk": "r", "likelihood": "extreme", "impact": "low"}]},
                 ("risks", 0, "likelihood"), id="unknown-level"),
    pytest.param({"communication": {"channels": ["Slack"]}}, ("communication", "channels", 0), id="channel-not-slug"),
    pytest.param({"type": "urgent"}, ("type",), id="unknown-type"),
])
def test_invalid_input_is_rejected(fields: dict[str, Any], where: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as exc:
        change(**fields)
    locs = [tuple(p for p in e["loc"] if not (isinstance(p, str) and (p[:1].isupper() or p.startswith("function"))))
            for e in exc.value.errors()]
    assert where in locs


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("PT30M", timedelta(minutes=30), id="iso-minutes"),
    pytest.param("P1DT2H", timedelta(days=1, hours=2), id="iso-days-and-hours"),
    pytest.param(90, timedelta(seconds=90), id="seconds"),
])
def test_durations_are_iso_8601_or_seconds(text: Any, expected: timedelta) -> None:
    assert change(schedule={"estimated_duration": text}).schedule.estimated_duration == expected


@pytest.mark.parametrize(("op", "value", "holds"), [
    (">", 0.06, True), (">", 0.05, False), (">=", 0.05, True), ("<", 0.04, True), ("<", 0.05, False),
    ("<=", 0.05, True), ("==", 0.05, True), ("!=", 0.05, False),
])
def test_metric_condition(op: str, value: float, holds: bool) -> None:
    assert MetricCondition(query="q", op=op, threshold=0.05).holds(value) is holds  # type: ignore[arg-type]


def test_metric_condition_for_is_an_alias() -> None:
    cond = MetricCondition.model_validate({"query": "q", "threshold": 1, "for": "PT5M"})
    assert cond.for_ == timedelta(minutes=5)


def _full(make_change: Any, change_type: str) -> Change:
    c: Change = make_change(change_type, set={
        "rollback.trigger": {"description": "Errors", "condition": {"query": "errors", "op": ">=", "threshold": 0.5,
                                                                    "for": "PT5M"}},
        "links": [{"system": "jira", "key": "OPS-1", "id": "10001", "url": "https://jira.example.com/OPS-1"}],
        "cab.overrides": [{"blackout": "Freeze", "by": "cam@example.com", "role": "change_manager",
                           "reason": "Fix", "at": "2026-11-03T10:00:00+01:00"}],
        "communication.timing": ["before", "after"],
        "outcome": "successful_with_issues",
    })
    return c.moved(State.CAB_REVIEW, datetime(2026, 11, 2, 9, tzinfo=UTC), by="dana@example.com", reason="ready")


@pytest.mark.parametrize("change_type", [t.value for t in ChangeType])
def test_json_round_trip(make_change: Any, change_type: str) -> None:
    original = _full(make_change, change_type)
    dumped = original.model_dump(mode="json", by_alias=True)
    assert "overall_risk" in dumped and dumped["history"][0]["from"] == "draft"
    again = Change.model_validate(dumped)
    assert again == original
    assert Change.model_validate(json.loads(json.dumps(dumped))) == original
    assert again.model_dump(mode="json", by_alias=True) == dumped


def test_round_trip_of_a_minimal_change() -> None:
    c = change()
    assert Change.model_validate(c.model_dump(mode="json", by_alias=True)) == c


def test_moved_records_history_and_entered() -> None:
    c = change()
    t1, t2, t3 = (datetime(2026, 11, d, 9, tzinfo=UTC) for d in (2, 3, 4))
    c2 = c.moved(State.CAB_REVIEW, t1).moved(State.DRAFT, t2, reason="deferred").moved(State.CAB_REVIEW, t3)
    assert c.state == State.DRAFT and c.history == []
    assert c2.state == State.CAB_REVIEW
    assert [(h.from_state, h.to_state, h.at) for h in c2.history] == [
        (State.DRAFT, State.CAB_REVIEW, t1), (State.CAB_REVIEW, State.DRAFT, t2), (State.DRAFT, State.CAB_REVIEW, t3)]
    assert c2.entered(State.CAB_REVIEW) == t3
    assert c2.entered(State.APPROVED) is None


def test_link_by_system() -> None:
    c = change(links=[{"system": "jira", "key": "OPS-1"}, {"system": "servicenow", "key": "CHG0001"}])
    assert c.link("servicenow") is not None and c.link("servicenow").key == "CHG0001"  # type: ignore[union-attr]
    assert c.link("github") is None


def test_assignment_is_validated() -> None:
    c = change()
    with pytest.raises(ValidationError):
        c.state = "nowhere"  # type: ignore[assignment]
