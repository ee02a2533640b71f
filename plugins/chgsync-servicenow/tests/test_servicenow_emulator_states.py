"""The change_request state model: every move per type, the guards, side effects and approvals.

The expected graph is written out here independently of the emulator's own table (it is the
out-of-box ``ChangeRequestStateModel_<type>`` script includes, minus Review -> Canceled, which the
product disables), so a change to the emulator's table fails these tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chgsync_servicenow.emulator import ServiceNowEmulator

STATES = {
    "-5": "New",
    "-4": "Assess",
    "-3": "Authorize",
    "-2": "Scheduled",
    "-1": "Implement",
    "0": "Review",
    "3": "Closed",
    "4": "Canceled",
}

ALLOWED = {
    "normal": {
        ("New", "Assess"),
        ("New", "Canceled"),
        ("Assess", "New"),
        ("Assess", "Authorize"),
        ("Assess", "Scheduled"),
        ("Assess", "Canceled"),
        ("Authorize", "New"),
        ("Authorize", "Scheduled"),
        ("Authorize", "Canceled"),
        ("Scheduled", "Implement"),
        ("Scheduled", "Canceled"),
        ("Implement", "Review"),
        ("Implement", "Canceled"),
        ("Review", "Closed"),
    },
    "emergency": {
        ("New", "Authorize"),
        ("New", "Scheduled"),
        ("New", "Canceled"),
        ("Authorize", "New"),
        ("Authorize", "Scheduled"),
        ("Authorize", "Canceled"),
        ("Scheduled", "Implement"),
        ("Scheduled", "Canceled"),
        ("Implement", "Review"),
        ("Implement", "Canceled"),
        ("Review", "Closed"),
    },
    "standard": {
        ("New", "Scheduled"),
        ("New", "Canceled"),
        ("Scheduled", "Implement"),
        ("Scheduled", "Canceled"),
        ("Implement", "Review"),
        ("Implement", "Canceled"),
        ("Review", "Closed"),
    },
}

BR_DETAIL = (
    "Operation against file 'change_request' was aborted by Business Rule "
    "'Change Model: Check State Transition^"
)

CASES = [(t, a, b) for t in ALLOWED for a in STATES for b in STATES]


def _value(label: str) -> str:
    return next(v for v, name in STATES.items() if name == label)


@pytest.mark.parametrize(
    ("change_type", "source", "target"), CASES, ids=[f"{t}:{STATES[a]}->{STATES[b]}" for t, a, b in CASES]
)
def test_every_move_per_type(
    api: Any, make_change: Callable[..., str], change_type: str, source: str, target: str
) -> None:
    # approval and close fields are satisfied, so only the graph decides
    sys_id = make_change(
        type=change_type, state=source, approval="approved", close_code="successful", close_notes="done"
    )
    resp = api.patch("change_request", sys_id, {"state": target})
    if (STATES[source], STATES[target]) in ALLOWED[change_type]:
        assert resp.status_code == 200, resp.text
        assert resp.json()["result"]["state"] == target
    else:
        assert resp.status_code == 403, resp.text
        body = resp.json()
        assert body["status"] == "failure"
        assert body["error"]["message"] == "Operation Failed"
        assert body["error"]["detail"].startswith(BR_DETAIL)
        assert body["error"]["detail"].endswith("Business Rule Stack:Change Model: Check State Transition")
        record = api.get("change_request", sys_id).json()["result"]
        assert record["state"] == source
        assert record["sys_mod_count"] == "0"  # a refused write leaves no trace


@pytest.mark.parametrize("change_type", ["normal", "standard", "emergency"])
def test_same_state_move_is_refused_even_alone(api: Any, change_type: str) -> None:
    change = api.create_change(type=change_type)
    resp = api.patch("change_request", change["sys_id"], {"state": "-5"})
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "Operation Failed"


@pytest.mark.parametrize(
    ("change_type", "path"),
    [
        ("normal", ["Assess", "Authorize", "Scheduled", "Implement", "Review", "Closed"]),
        ("emergency", ["Authorize", "Scheduled", "Implement", "Review", "Closed"]),
        ("standard", ["Scheduled", "Implement", "Review", "Closed"]),
    ],
)
def test_whole_lifecycle_through_the_api(api: Any, clock: Any, change_type: str, path: list[str]) -> None:
    change = api.create_change(type=change_type, state="3")
    assert change["state"] == "-5", "a posted state is ignored: every change starts in New"
    sys_id = change["sys_id"]
    for n, label in enumerate(path, start=1):
        clock.advance(minutes=5)
        body: dict[str, Any] = {"state": _value(label)}
        if label == "Scheduled" and change_type != "standard":
            body["approval"] = "approved"  # what the Authorize step's approvals produce
        if label == "Closed":
            body.update(close_code="successful", close_notes="Deployed without incident.")
        resp = api.patch("change_request", sys_id, body)
        assert resp.status_code == 200, f"{label}: {resp.text}"
        record = resp.json()["result"]
        assert record["state"] == _value(label)
        assert record["sys_mod_count"] == str(n)
    final = api.get("change_request", sys_id).json()["result"]
    assert final["active"] == "false"
    assert final["closed_at"] == final["sys_updated_on"]
    assert final["work_start"] and final["work_end"] and final["work_start"] < final["work_end"]
    assert final["approval"] == "approved"


@pytest.mark.parametrize("change_type", ["normal", "emergency"])
def test_scheduled_needs_approval(api: Any, make_change: Callable[..., str], change_type: str) -> None:
    sys_id = make_change(type=change_type, state="-3", approval="requested")
    refused = api.patch("change_request", sys_id, {"state": "-2"})
    assert refused.status_code == 403
    assert refused.json()["error"]["detail"].startswith(BR_DETAIL)
    accepted = api.patch("change_request", sys_id, {"state": "-2", "approval": "approved"})
    assert accepted.status_code == 200
    assert accepted.json()["result"]["approval_set"] != ""


def test_standard_change_is_pre_approved(api: Any) -> None:
    change = api.create_change(type="standard")
    record = api.patch("change_request", change["sys_id"], {"state": "-2"}).json()["result"]
    assert record["approval"] == "approved"


def test_approval_guard_can_be_switched_off(clock: Any, api_for: Callable[..., Any]) -> None:
    with ServiceNowEmulator(clock=clock, require_approval=False) as emu:
        api = api_for(emu)
        change = api.create_change(type="emergency")
        assert api.patch("change_request", change["sys_id"], {"state": "-2"}).status_code == 200


def test_closing_needs_close_code_and_notes(api: Any, make_change: Callable[..., str]) -> None:
    sys_id = make_change(type="normal", state="0")
    resp = api.patch("change_request", sys_id, {"state": "3"})
    assert resp.status_code == 403
    assert resp.json()["error"] == {
        "message": "Operation Failed",
        "detail": "Data Policy Exception: The following fields are mandatory: Close code, Close notes",
    }
    only_code = api.patch("change_request", sys_id, {"state": "3", "close_code": "successful"})
    assert only_code.json()["error"]["detail"].endswith("mandatory: Close notes")
    assert api.get("change_request", sys_id).json()["result"]["close_code"] == "", (
        "refused writes change nothing"
    )
    assert api.patch("change_request", sys_id, {"close_code": "successful"}).status_code == 200
    assert api.patch("change_request", sys_id, {"state": "3", "close_notes": "ok"}).status_code == 200


def test_cancel_clears_on_hold_and_deactivates(api: Any, make_change: Callable[..., str]) -> None:
    sys_id = make_change(
        type="normal", state="-2", approval="approved", on_hold=True, on_hold_reason="waiting"
    )
    record = api.patch("change_request", sys_id, {"state": "4"}).json()["result"]
    assert (record["state"], record["on_hold"], record["active"]) == ("4", "false", "false")


def test_type_is_writable_only_in_new(api: Any, make_change: Callable[..., str]) -> None:
    change = api.create_change(type="normal")
    assert (
        api.patch("change_request", change["sys_id"], {"type": "emergency"}).json()["result"]["type"]
        == "emergency"
    )
    sys_id = make_change(type="normal", state="-2", approval="approved")
    record = api.patch("change_request", sys_id, {"type": "standard", "short_description": "x"}).json()[
        "result"
    ]
    assert record["type"] == "normal"
    assert record["short_description"] == "x"


def test_unknown_state_value_is_refused(api: Any) -> None:
    change = api.create_change()
    resp = api.patch("change_request", change["sys_id"], {"state": "implement"})
    assert resp.status_code == 403


# -- approvals -----------------------------------------------------------------------------------------
def _approvals(api: Any, change_id: str) -> Any:
    return api.query(
        "sysapproval_approver",
        f"sysapproval={change_id}^ORDERBYsys_created_on",
        sysparm_display_value="all",
        sysparm_exclude_reference_link="true",
    )


def test_normal_change_approved_through_approval_records(api: Any, clock: Any) -> None:
    group = api.query("sys_user_group", "name=Network")[0]
    change = api.create_change(type="normal", assignment_group=group["sys_id"])
    sys_id = change["sys_id"]
    assert change["approval"] == "not requested"

    assess = api.patch("change_request", sys_id, {"state": "-4"}).json()["result"]
    assert assess["approval"] == "requested"
    (tech,) = _approvals(api, sys_id)
    assert tech["approver"]["display_value"] == "Fred Luddy", "the assignment group's manager approves Assess"
    assert tech["state"]["value"] == "requested"
    assert tech["source_table"]["value"] == "change_request"
    assert tech["document_id"]["value"] == sys_id

    clock.advance(minutes=1)
    assert (
        api.patch("sysapproval_approver", tech["sys_id"]["value"], {"state": "approved"}).status_code == 200
    )
    authorize = api.get("change_request", sys_id).json()["result"]
    assert (authorize["state"], authorize["approval"]) == ("-3", "requested")
    cab = [a for a in _approvals(api, sys_id) if a["state"]["value"] == "requested"]
    assert {a["approver"]["display_value"] for a in cab} == {"Abel Tuter", "Beth Anglin", "Bow Ruggeri"}

    clock.advance(minutes=1)
    api.patch("sysapproval_approver", cab[0]["sys_id"]["value"], {"state": "approved", "comments": "CAB ok"})
    scheduled = api.get("change_request", sys_id).json()["result"]
    assert (scheduled["state"], scheduled["approval"]) == ("-2", "approved")
    states = sorted(a["state"]["value"] for a in _approvals(api, sys_id))
    assert states == ["approved", "approved", "not_required", "not_required"], "anyone in the CAB may approve"
    notes = api.query("sys_journal_field", f"element_id={cab[0]['sys_id']['value']}")
    assert [n["value"] for n in notes] == ["CAB ok"]


def test_rejection_sends_the_change_back_to_new(api: Any) -> None:
    change = api.create_change(type="emergency")
    api.patch("change_request", change["sys_id"], {"state": "-3"})
    pending = _approvals(api, change["sys_id"])
    assert len(pending) == 3
    api.patch("sysapproval_approver", pending[1]["sys_id"]["value"], {"state": "rejected"})
    record = api.get("change_request", change["sys_id"]).json()["result"]
    assert (record["state"], record["approval"]) == ("-5", "rejected")


def test_revert_to_new_cancels_pending_approvals(api: Any) -> None:
    change = api.create_change(type="normal")
    api.patch("change_request", change["sys_id"], {"state": "-4"})
    record = api.patch("change_request", change["sys_id"], {"state": "-5"}).json()["result"]
    assert record["approval"] == "not requested"
    assert [a["state"]["value"] for a in _approvals(api, change["sys_id"])] == ["cancelled"]


def test_assess_falls_back_to_change_management_manager(api: Any) -> None:
    change = api.create_change(type="normal")
    api.patch("change_request", change["sys_id"], {"state": "-4"})
    (row,) = _approvals(api, change["sys_id"])
    assert row["approver"]["display_value"] == "David Loo"
