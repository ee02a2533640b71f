"""The completeness, catalog and checklist rules: what must be filled in, and the standard-change catalog."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from chgsync.lifecycle import State
from chgsync.model import Change

AT_SUBMIT = "2026-11-02T09:00:00Z"      # Monday, the fixed clock
AT_APPROVE = "2026-11-03T11:00:00Z"
AT_SCHEDULE = "2026-11-03T14:00:00Z"  # no history: notice counts from now
AT_IMPLEMENT_NORMAL = "2026-11-10T02:05:00Z"  # inside the normal change's planned window
AT_IMPLEMENT_STANDARD = "2026-11-05T02:01:00Z"

PLANNING = ["justification.reason", "justification.impact_if_not_done", "implementation.steps",
            "implementation.systems", "risks", "rollback.trigger", "rollback.steps",
            "rollback.expected_duration", "testing.pre_production", "testing.validation",
            "communication.stakeholders", "communication.channels", "schedule.planned_start",
            "schedule.planned_end"]


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def missing(*fields: str) -> list[tuple[str, str]]:
    """The expected (code, field) pairs: the code names the policy path, the field the exact place."""
    return sorted(("missing." + re.sub(r"\[\d+\]", "", f), f) for f in fields)


# -- completeness --------------------------------------------------------------------------------------
def test_a_bare_draft_gets_every_missing_part_at_once(check: Any) -> None:
    bare = Change.model_validate({"id": "CHG-1", "title": "Something", "type": "normal"})
    assert check(bare, "cab_review", T(AT_SUBMIT)) == missing(*PLANNING)


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({"justification.reason": None}, ["justification.reason"], id="no-reason"),
    pytest.param({"justification.impact_if_not_done": None}, ["justification.impact_if_not_done"], id="no-impact"),
    pytest.param({"implementation.steps": []}, ["implementation.steps"], id="no-steps"),
    pytest.param({"implementation.systems": []}, ["implementation.systems"], id="no-systems"),
    pytest.param({"risks": []}, ["risks"], id="no-risk-assessment"),
    pytest.param({"risks[0].mitigation": None}, ["risks[0].mitigation"], id="risk-without-mitigation"),
    pytest.param({"risks": [{"risk": "a", "likelihood": "low", "impact": "low", "mitigation": "m"},
                            {"risk": "b", "likelihood": "low", "impact": "low"},
                            {"risk": "c", "likelihood": "low", "impact": "low"}]},
                 ["risks[1].mitigation", "risks[2].mitigation"], id="each-unmitigated-risk-row"),
    pytest.param({"rollback.trigger": None}, ["rollback.trigger"], id="no-rollback-trigger"),
    pytest.param({"rollback.steps": []}, ["rollback.steps"], id="no-rollback-steps"),
    pytest.param({"rollback.expected_duration": None}, ["rollback.expected_duration"], id="no-rollback-time"),
    pytest.param({"testing.pre_production": None}, ["testing.pre_production"], id="no-test-evidence"),
    pytest.param({"testing.validation": []}, ["testing.validation"], id="no-validation"),
    pytest.param({"communication.stakeholders": []}, ["communication.stakeholders"], id="no-stakeholders"),
    pytest.param({"communication.channels": []}, ["communication.channels"], id="no-channels"),
    pytest.param({"schedule.planned_end": None}, ["schedule.planned_end"], id="no-planned-end"),
    pytest.param({"justification.reason": None, "rollback.steps": [], "communication.channels": []},
                 ["justification.reason", "rollback.steps", "communication.channels"], id="three-gaps"),
])
def test_normal_change_submitted_for_review(make_change: Any, check: Any, fields: dict[str, Any],
                                            expected: list[str]) -> None:
    assert check(make_change("normal", set=fields), "cab_review", T(AT_SUBMIT)) == missing(*expected)


@pytest.mark.parametrize(("source", "target", "at"), [
    pytest.param("cab_review", "approved", AT_APPROVE, id="to-approved"),
    pytest.param("approved", "scheduled", AT_SCHEDULE, id="to-scheduled"),
    pytest.param("scheduled", "implementing", AT_IMPLEMENT_NORMAL, id="to-implementing"),
])
def test_planning_is_required_all_the_way_to_implementation(make_change: Any, check: Any, source: str,
                                                            target: str, at: str) -> None:
    change = make_change("normal", state=source, set={"justification.reason": None, "testing.validation": []})
    assert check(change, target, T(at)) == missing("justification.reason", "testing.validation")


def test_the_message_says_what_is_needed_and_where(make_change: Any, check: Any) -> None:
    change = make_change("normal", set={"justification.reason": None})
    [v] = check.guard.check(change, State.CAB_REVIEW, T(AT_SUBMIT))
    assert v.message == ("A normal change needs a business justification (justification.reason) before it can "
                         "be CAB Review.")
    assert v.rule == "completeness"


@pytest.mark.parametrize(("change_type", "source", "target", "at", "fields", "expected"), [
    pytest.param("standard", "draft", "scheduled", AT_SUBMIT, {"catalog_entry": None}, ["catalog_entry"],
                 id="standard-needs-catalog-entry"),
    pytest.param("standard", "draft", "scheduled", AT_SUBMIT,
                 {"communication.stakeholders": [], "implementation.systems": []},
                 ["communication.stakeholders", "implementation.systems"], id="standard-needs-systems-and-people"),
    pytest.param("standard", "draft", "scheduled", AT_SUBMIT, {"justification.reason": None, "rollback.steps": []},
                 [], id="standard-needs-no-justification-or-rollback"),
    pytest.param("emergency", "draft", "implementing", AT_SUBMIT, {"emergency": None},
                 ["emergency.authorizer", "emergency.threshold"], id="emergency-needs-authority-and-threshold"),
    pytest.param("emergency", "draft", "cab_review", AT_SUBMIT, {"rollback.steps": [], "justification": {}},
                 ["rollback.steps", "justification.reason"], id="emergency-to-ecab"),
    pytest.param("emergency", "draft", "implementing", AT_SUBMIT, {"testing.validation": [], "risks": []},
                 [], id="emergency-needs-no-test-plan"),
    pytest.param("normal", "implementing", "implemented", "2026-11-10T02:50:00Z", {},
                 ["outcome", "schedule.actual_start", "schedule.actual_end"], id="implemented-needs-actuals"),
    pytest.param("normal", "implemented", "closed", "2026-11-18T09:00:00Z",
                 {"outcome": "successful", "schedule.actual_start": "2026-11-10T02:05:00Z",
                  "schedule.actual_end": "2026-11-10T02:50:00Z",
                  "validations": [{"point": p, "result": "pass", "by": "cam@example.com", "at": "2026-11-18T08:00:00Z"}
                                  for p in ("PT0S", "P1D", "P7D")]}, ["close_notes"], id="closed-needs-notes"),
    pytest.param("emergency", "implemented", "closed", "2026-11-03T09:00:00Z",
                 {"outcome": "rolled_back", "close_notes": "Back on 4.1.3",
                  "schedule.actual_start": "2026-11-02T09:00:00Z", "schedule.actual_end": "2026-11-02T09:20:00Z"},
                 ["emergency.retrospective_link", "emergency.postmortem_link"],
                 id="emergency-closed-needs-retrospective-and-postmortem"),
    pytest.param("normal", "cab_review", "draft", AT_APPROVE,
                 {"justification": {}, "risks": [],
                  "cab.approvals": [{"role": "change_manager", "approver": "cam@example.com", "decision": "defer",
                                     "reason": "Needs a risk assessment", "at": "2026-11-03T10:00:00Z"}]},
                 [], id="back-to-draft-needs-nothing"),
    pytest.param("normal", "draft", "cancelled", AT_SUBMIT, {"justification": {}, "risks": [], "schedule": {}},
                 [], id="cancelling-needs-nothing"),
])
def test_requirements_by_type_and_target(make_change: Any, check: Any, change_type: str, source: str,
                                         target: str, at: str, fields: dict[str, Any], expected: list[str]) -> None:
    change = make_change(change_type, state=source, set=fields)
    assert check(change, target, T(at)) == missing(*expected)


def test_the_policy_decides_what_is_required(make_change: Any, check: Any) -> None:
    strict = check.with_policy(requirements={"normal": {"cab_review": ["description", "requester"]}})
    change = make_change("normal", set={"requester": None, "justification": {}})
    found = strict.guard.check(change, State.CAB_REVIEW, T(AT_SUBMIT))
    assert [(v.code, v.field) for v in found] == [("missing.description", "description"),
                                                   ("missing.requester", "requester")]
    assert found[0].message == "A normal change needs description (description) before it can be CAB Review."


# -- catalog ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({}, [], id="within-the-entry"),
    pytest.param({"catalog_entry": "db_failover"}, [("catalog.unknown_entry", "catalog_entry")], id="unknown-entry"),
    pytest.param({"implementation.systems": ["web-frontend", "payments-db"]},
                 [("catalog.system_not_covered", "implementation.systems[1]")], id="system-not-covered"),
    pytest.param({"implementation.systems": ["payments-db", "web-frontend", "orders-db"]},
                 [("catalog.system_not_covered", "implementation.systems[0]"),
                  ("catalog.system_not_covered", "implementation.systems[2]")], id="each-system-not-covered"),
    pytest.param({"implementation.systems": ["Web-Frontend", "API-GATEWAY"]}, [], id="systems-case-insensitive"),
    pytest.param({"schedule.planned_end": "2026-11-05T02:31:00Z"}, [("catalog.too_long", "schedule.planned_end")],
                 id="one-minute-too-long"),
    pytest.param({"schedule.planned_end": "2026-11-05T02:30:00Z"}, [], id="exactly-max-duration"),
    pytest.param({"risks[0].impact": "high"}, [("catalog.risk_too_high", "risks")], id="medium-risk-over-low-max"),
    pytest.param({"risks": []}, [], id="unassessed-risk-is-not-judged-by-the-catalog"),
    pytest.param({"implementation.systems": ["web-frontend", "dns"], "schedule.planned_end": "2026-11-05T03:00:00Z",
                  "risks[0].likelihood": "high", "risks[0].impact": "high"},
                 [("catalog.risk_too_high", "risks"), ("catalog.system_not_covered", "implementation.systems[1]"),
                  ("catalog.too_long", "schedule.planned_end")], id="all-three-at-once"),
])
def test_standard_change_stays_within_its_catalog_entry(make_change: Any, check: Any, fields: dict[str, Any],
                                                        expected: list[tuple[str, str]]) -> None:
    assert check(make_change("standard", set=fields), "scheduled", T(AT_SUBMIT)) == expected


def test_catalog_is_checked_again_before_implementation(make_change: Any, check: Any) -> None:
    change = make_change("standard", state="scheduled", set={"implementation.systems": ["dns"]})
    assert check(change, "implementing", T(AT_IMPLEMENT_STANDARD)) == [
        ("catalog.system_not_covered", "implementation.systems[0]")]


def test_unknown_entry_message_lists_the_known_ones(make_change: Any, check: Any) -> None:
    change = make_change("standard", set={"catalog_entry": "db_failover"})
    [v] = check.guard.check(change, State.SCHEDULED, T(AT_SUBMIT))
    assert v.message == ("Standard change CHG-200 follows catalog entry 'db_failover', which is not in the catalog "
                         "(known entries: tls_cert_rotation).")
    empty = check.with_policy(catalog={})
    [v] = empty.guard.check(change, State.SCHEDULED, T(AT_SUBMIT))
    assert "none are defined in the policy" in v.message


def test_an_entry_without_systems_covers_any_system_and_its_own_risk_ceiling(make_change: Any, check: Any) -> None:
    loose = check.with_policy(catalog={"tls_cert_rotation": {"title": "Anything", "max_risk": "medium"}})
    change = make_change("standard", set={"implementation.systems": ["dns", "mail"], "risks[0].impact": "high",
                                          "schedule.planned_end": "2026-11-05T03:30:00Z"})
    assert loose(change, "scheduled", T(AT_SUBMIT)) == []
    assert loose(make_change("standard", set={"risks[0].likelihood": "high", "risks[0].impact": "high"}),
                 "scheduled", T(AT_SUBMIT)) == [("catalog.risk_too_high", "risks")]


def test_the_catalog_is_only_for_standard_changes(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="approved", set={"catalog_entry": "db_failover"})
    assert check(change, "scheduled", T(AT_SCHEDULE)) == []


# -- checklist -------------------------------------------------------------------------------------------
NORMAL_ITEMS = ["backup_verified", "rollback_tested", "stakeholders_notified", "monitoring_configured",
                "oncall_available"]


@pytest.mark.parametrize(("change_type", "at", "unchecked", "expected"), [
    pytest.param("normal", AT_IMPLEMENT_NORMAL, NORMAL_ITEMS, NORMAL_ITEMS, id="normal-nothing-done"),
    pytest.param("normal", AT_IMPLEMENT_NORMAL, ["rollback_tested"], ["rollback_tested"], id="normal-one-missing"),
    pytest.param("standard", AT_IMPLEMENT_STANDARD, ["rollback_tested", "stakeholders_notified"], [],
                 id="standard-does-not-need-rollback-test"),
    pytest.param("standard", AT_IMPLEMENT_STANDARD, NORMAL_ITEMS,
                 ["backup_verified", "monitoring_configured", "oncall_available"], id="standard-nothing-done"),
    pytest.param("emergency", AT_SUBMIT, NORMAL_ITEMS, ["oncall_available"], id="emergency-needs-oncall-only"),
])
def test_checklist_before_implementation(make_change: Any, check: Any, change_type: str, at: str,
                                         unchecked: list[str], expected: list[str]) -> None:
    source = "draft" if change_type == "emergency" else "scheduled"
    change = make_change(change_type, state=source, set={f"checklist.{i}": False for i in unchecked})
    assert check(change, "implementing", T(at)) == sorted(("checklist.incomplete", f"checklist.{i}")
                                                          for i in expected)


def test_checklist_message_uses_the_item_description(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="scheduled", set={"checklist.backup_verified": False,
                                                           "checklist.stakeholders_notified": False})
    found = check.guard.check(change, State.IMPLEMENTING, T(AT_IMPLEMENT_NORMAL))
    assert [v.message for v in found] == [
        "Pre-implementation checklist for CHG-100: 'Backup taken and verified' is not done.",
        "Pre-implementation checklist for CHG-100: 'stakeholders notified' is not done.",
    ]


def test_checklist_only_applies_to_implementation(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="approved", set={f"checklist.{i}": False for i in NORMAL_ITEMS})
    assert check(change, "scheduled", T(AT_SCHEDULE)) == []


def test_checklist_items_come_from_the_policy(make_change: Any, check: Any) -> None:
    custom = check.with_policy(checklist={"normal": ["rollback_tested"]})
    change = make_change("normal", state="scheduled", set={f"checklist.{i}": False for i in NORMAL_ITEMS})
    assert custom(change, "implementing", T(AT_IMPLEMENT_NORMAL)) == [("checklist.incomplete",
                                                                      "checklist.rollback_tested")]
