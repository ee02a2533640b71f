"""The approvals and emergency_authority rules: CAB roles by type and risk, deferrals, rejections, authority."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from chgsync.lifecycle import State

AT = "2026-11-03T11:00:00Z"  # the CAB meets on Tuesday; notice counts from now (Tue 10 Nov is fine)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def decision(role: str, verdict: str, at: str = "2026-11-03T10:00:00Z", approver: str | None = None,
             reason: str | None = None) -> dict[str, Any]:
    return {"role": role, "approver": approver or f"{role}@example.com", "decision": verdict, "at": at,
            "reason": reason}


TL_OK = decision("technical_lead", "approve")
CM_OK = decision("change_manager", "approve")
BR_OK = decision("business_representative", "approve")
SEC_OK = decision("security", "approve")
MISSING = ("approval.missing", "cab.approvals")
REJECTED = ("approval.rejected", "cab.approvals")
DEFERRED = ("approval.deferred", "cab.approvals")
LOW = {"risks[0].likelihood": "low", "risks[0].impact": "low"}          # 1x1 = 1
MEDIUM = {"risks[0].likelihood": "medium", "risks[0].impact": "medium"}  # 2x2 = 4
HIGH = {"risks[0].likelihood": "medium", "risks[0].impact": "high"}      # 2x3 = 6


@pytest.mark.parametrize(("risk", "approvals", "expected"), [
    pytest.param(LOW, [TL_OK, CM_OK], [], id="low-risk-lead-and-manager"),
    pytest.param(LOW, [], [MISSING, MISSING], id="low-risk-none"),
    pytest.param(LOW, [CM_OK], [MISSING], id="low-risk-no-lead"),
    pytest.param(MEDIUM, [TL_OK, CM_OK], [MISSING], id="medium-risk-needs-business"),
    pytest.param(MEDIUM, [TL_OK, CM_OK, BR_OK], [], id="medium-risk-complete"),
    pytest.param(HIGH, [TL_OK, CM_OK], [MISSING, MISSING], id="high-risk-needs-business-and-security"),
    pytest.param(HIGH, [TL_OK, CM_OK, BR_OK, SEC_OK], [], id="high-risk-complete"),
    pytest.param(LOW, [TL_OK, decision("change_manager", "defer", reason="Wait for the freeze to end")],
                 [DEFERRED], id="deferred-by-required-role"),
    pytest.param(LOW, [TL_OK, decision("change_manager", "reject", reason="Too risky")], [REJECTED],
                 id="rejected-by-required-role"),
    pytest.param(LOW, [TL_OK, CM_OK, decision("security", "reject", reason="Open CVE")], [REJECTED],
                 id="rejected-by-role-not-required"),
    pytest.param(LOW, [TL_OK, CM_OK, decision("security", "defer")], [], id="deferral-by-role-not-required"),
    pytest.param(LOW, [decision("technical_lead", "reject", at="2026-11-03T09:00:00Z"), TL_OK, CM_OK], [],
                 id="later-approval-replaces-rejection"),
    pytest.param(LOW, [TL_OK, CM_OK, decision("technical_lead", "reject", at="2026-11-03T10:45:00Z")],
                 [REJECTED], id="later-rejection-replaces-approval"),
    pytest.param(LOW, [decision("technical_lead", "reject", at="2026-11-03T10:45:00Z"),
                       decision("technical_lead", "approve", at="2026-11-03T10:00:00Z"), CM_OK],
                 [REJECTED], id="latest-by-time-not-by-order"),
    pytest.param(LOW, [TL_OK, decision("technical_lead", "reject"), CM_OK], [REJECTED],
                 id="same-time-last-given-wins"),
    pytest.param(LOW, [decision("technical_lead", "reject"), TL_OK, CM_OK], [], id="same-time-approval-given-last"),
    pytest.param(LOW, [decision("technical_lead", "defer"), decision("change_manager", "reject")],
                 [DEFERRED, REJECTED], id="each-decision-reported"),
])
def test_cab_approval(make_change: Any, check: Any, risk: dict[str, str], approvals: list[dict[str, Any]],
                      expected: list[tuple[str, str]]) -> None:
    change = make_change("normal", state="cab_review", set={**risk, "cab.approvals": approvals})
    assert check(change, "approved", T(AT)) == sorted(expected)


def test_unassessed_risk_is_treated_as_high(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="cab_review", set={"risks": [], "cab.approvals": [TL_OK, CM_OK]})
    found = check.guard.check(change, State.APPROVED, T(AT))
    assert sorted((v.code, v.field) for v in found) == [MISSING, MISSING, ("missing.risks", "risks")]
    assert {v.message for v in found if v.code == "approval.missing"} == {
        ("A normal change at unassessed (treated as high) risk needs the approval of the business representative; "
         "there is none."),
        "A normal change at unassessed (treated as high) risk needs the approval of the security; there is none.",
    }


@pytest.mark.parametrize(("verdict", "reason", "expected"), [
    pytest.param("defer", "Wait for the freeze to end",
                 "The change manager (cam@example.com) deferred CHG-100: Wait for the freeze to end.", id="defer"),
    pytest.param("reject", None, "The change manager (cam@example.com) rejected CHG-100: no reason given.",
                 id="reject-without-reason"),
])
def test_decision_messages_carry_the_reason(make_change: Any, check: Any, verdict: str, reason: str | None,
                                            expected: str) -> None:
    cm = decision("change_manager", verdict, approver="cam@example.com", reason=reason)
    change = make_change("normal", state="cab_review", set={"cab.approvals": [TL_OK, cm]})
    [v] = check.guard.check(change, State.APPROVED, T(AT))
    assert v.message == expected


@pytest.mark.parametrize(("approver", "verdict", "forbid", "expected"), [
    pytest.param("dana@example.com", "approve", True, [("approval.self_approval", "cab.approvals[1]")],
                 id="requester-approves"),
    pytest.param("DANA@example.COM", "approve", True, [("approval.self_approval", "cab.approvals[1]")],
                 id="requester-approves-case-insensitive"),
    pytest.param("dana@example.com", "approve", False, [], id="allowed-by-policy"),
    pytest.param("dan@example.com", "approve", True, [], id="someone-else"),
])
def test_self_approval(make_change: Any, check: Any, approver: str, verdict: str, forbid: bool,
                       expected: list[tuple[str, str]]) -> None:
    approvals = [TL_OK, decision("change_manager", verdict, approver=approver)]
    change = make_change("normal", state="cab_review", set={"cab.approvals": approvals})
    checker = check if forbid else check.with_policy(cab={"forbid_self_approval": False})
    assert checker(change, "approved", T(AT)) == expected


def test_self_approval_is_caught_again_before_implementation(make_change: Any, check: Any) -> None:
    approvals = [decision("technical_lead", "approve", approver="Dana@Example.com"), CM_OK]
    change = make_change("normal", state="scheduled", set={"cab.approvals": approvals})
    found = check.guard.check(change, State.IMPLEMENTING, T("2026-11-10T02:05:00Z"))
    assert [(v.code, v.field) for v in found] == [("approval.self_approval", "cab.approvals[0]")]
    assert found[0].message == "Dana@Example.com requested CHG-100 and cannot also approve it as technical lead."


def test_no_requester_no_self_approval(make_change: Any, check: Any) -> None:
    approvals = [decision("technical_lead", "approve", approver="dana@example.com"), CM_OK]
    change = make_change("normal", state="cab_review", set={"requester": None, "cab.approvals": approvals})
    assert check(change, "approved", T(AT)) == []


@pytest.mark.parametrize(("target", "approvals", "expected"), [
    pytest.param("draft", [TL_OK, CM_OK], [("cab.defer_missing", "cab.approvals")], id="back-to-draft-without-defer"),
    pytest.param("draft", [TL_OK, decision("change_manager", "defer")],
                 [("cab.defer_reason_missing", "cab.approvals")], id="defer-without-reason"),
    pytest.param("draft", [TL_OK, decision("change_manager", "defer", reason="Needs load test results")], [],
                 id="defer-with-reason"),
    pytest.param("draft", [decision("change_manager", "defer", reason="Later", at="2026-11-03T09:00:00Z"), CM_OK],
                 [("cab.defer_missing", "cab.approvals")], id="defer-superseded-by-approval"),
    pytest.param("rejected", [TL_OK, CM_OK], [("cab.reject_missing", "cab.approvals")], id="reject-without-decision"),
    pytest.param("rejected", [decision("security", "reject")], [("cab.reject_reason_missing", "cab.approvals")],
                 id="reject-without-reason"),
    pytest.param("rejected", [decision("security", "reject", reason="Exposes card data")], [],
                 id="reject-with-reason"),
    pytest.param("rejected", [decision("security", "reject"), decision("technical_lead", "reject", reason="No")], [],
                 id="one-reason-is-enough"),
])
def test_cab_sends_back_or_rejects_with_a_reason(make_change: Any, check: Any, target: str,
                                                 approvals: list[dict[str, Any]],
                                                 expected: list[tuple[str, str]]) -> None:
    change = make_change("normal", state="cab_review", set={"cab.approvals": approvals})
    assert check(change, target, T(AT)) == expected


@pytest.mark.parametrize(("approvals", "expected"), [
    pytest.param([], [MISSING], id="ecab-missing"),
    pytest.param([decision("ecab", "approve")], [], id="ecab-approved"),
    pytest.param([decision("ecab", "reject", reason="Not an emergency")], [REJECTED], id="ecab-rejected"),
])
def test_emergency_cab(make_change: Any, check: Any, approvals: list[dict[str, Any]],
                       expected: list[tuple[str, str]]) -> None:
    change = make_change("emergency", state="cab_review", set={"cab.approvals": approvals})
    assert check(change, "approved", T("2026-11-02T09:10:00Z")) == expected


# -- emergency authority ---------------------------------------------------------------------------------
NOT_AUTHORISED = [("emergency.not_authorised", "cab.approvals")]


@pytest.mark.parametrize(("approvals", "expected"), [
    pytest.param(None, [], id="designated-authority-approved"),
    pytest.param([], NOT_AUTHORISED, id="no-approval"),
    pytest.param([decision("ecab", "approve", at="2026-11-02T08:55:00Z")], [], id="ecab-approved"),
    pytest.param([decision("technical_lead", "approve", at="2026-11-02T08:55:00Z")], NOT_AUTHORISED,
                 id="wrong-role"),
    pytest.param([decision("designated_authority", "reject", at="2026-11-02T08:55:00Z", reason="Wait")],
                 NOT_AUTHORISED, id="authority-rejected"),
    pytest.param([decision("designated_authority", "approve", at="2026-11-02T08:55:00Z"),
                  decision("designated_authority", "defer", at="2026-11-02T08:58:00Z")], NOT_AUTHORISED,
                 id="approval-withdrawn"),
])
def test_skipping_the_ecab_needs_the_designated_authority(make_change: Any, check: Any,
                                                          approvals: list[dict[str, Any]] | None,
                                                          expected: list[tuple[str, str]]) -> None:
    change = make_change("emergency", set={} if approvals is None else {"cab.approvals": approvals})
    assert check(change, "implementing", T("2026-11-02T09:00:00Z")) == expected


def test_authority_message_names_the_roles(make_change: Any, check: Any) -> None:
    change = make_change("emergency", set={"cab.approvals": []})
    [v] = check.guard.check(change, State.IMPLEMENTING, T("2026-11-02T09:00:00Z"))
    assert v.message == ("Emergency change CHG-300 may skip the e-CAB only with the approval of ecab or "
                         "designated authority; there is none.")
    assert v.rule == "emergency_authority"


def test_authority_roles_come_from_the_policy(make_change: Any, check: Any) -> None:
    cto_only = check.with_policy(emergency={"authority_roles": ["cto"]})
    change = make_change("emergency")  # approved by the designated_authority, which this policy does not know
    assert cto_only(change, "implementing", T("2026-11-02T09:00:00Z")) == NOT_AUTHORISED
    by_cto = make_change("emergency", set={"cab.approvals": [decision("cto", "approve", at="2026-11-02T08:55:00Z")]})
    assert cto_only(by_cto, "implementing", T("2026-11-02T09:00:00Z")) == []


def test_after_the_ecab_no_designated_authority_is_needed(make_change: Any, check: Any) -> None:
    change = make_change("emergency", state="approved", set={"cab.approvals": [decision("ecab", "approve")]})
    assert check(change, "implementing", T("2026-11-03T11:00:00Z")) == []


def test_normal_changes_are_not_judged_by_emergency_authority(make_change: Any, check: Any) -> None:
    change = make_change("normal", state="scheduled", set={"cab.approvals": []})
    assert check(change, "implementing", T("2026-11-10T02:05:00Z")) == []
