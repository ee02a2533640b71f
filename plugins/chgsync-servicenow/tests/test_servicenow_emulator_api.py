"""Table API details: status codes, envelopes, headers and the write semantics of the product."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_servicenow import plugin
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.plugins import Plugins

NOT_FOUND = {
    "error": {
        "message": "No Record found",
        "detail": "Record doesn't exist or ACL restricts the record retrieval",
    },
    "status": "failure",
}


def test_post_answers_201_with_location(api: Any, emulator: ServiceNowEmulator) -> None:
    resp = api.post("change_request", {"short_description": "x"})
    assert resp.status_code == 201
    record = resp.json()["result"]
    assert resp.headers["Location"] == f"{emulator.base_url}/api/now/table/change_request/{record['sys_id']}"
    assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert len(resp.headers["X-Transaction-ID"]) == 12
    assert (
        api.session.get(resp.headers["Location"], timeout=10).json()["result"]["sys_id"] == record["sys_id"]
    )


def test_values_are_strings_with_system_fields(api: Any, clock: Any) -> None:
    record = api.create_change(impact=2, cab_required=True, order=5.0)
    assert all(isinstance(v, (str, dict)) for v in record.values())
    assert (record["impact"], record["cab_required"], record["order"]) == ("2", "true", "5")
    assert record["number"] == "CHG0030001" and record["task_effective_number"] == "CHG0030001"
    assert (
        record["sys_created_on"] == record["sys_updated_on"] == record["opened_at"] == "2026-11-26 10:00:00"
    )
    assert record["sys_class_name"] == "change_request"
    assert record["sys_mod_count"] == "0"
    assert record["approval"] == "not requested"
    assert record["chg_model"]["value"] == "007c4001c343101035ae3f52c1d3aeb2"
    assert api.create_change()["number"] == "CHG0030002"
    clock.advance(seconds=90)
    updated = api.patch("change_request", record["sys_id"], {"impact": "1"}).json()["result"]
    assert (updated["sys_mod_count"], updated["sys_updated_on"]) == ("1", "2026-11-26 10:01:30")
    assert updated["sys_created_on"] == "2026-11-26 10:00:00"


def test_unknown_and_system_fields_are_ignored_on_write(api: Any) -> None:
    record = api.create_change(
        no_such_field="x",
        sys_id="0" * 32,
        sys_created_by="mallory",
        number="CHG1234567",
        sys_mod_count="99",
        approval_history="forged",
    )
    assert "no_such_field" not in record
    assert record["sys_id"] != "0" * 32
    assert record["sys_created_by"] == "admin"
    assert record["sys_mod_count"] == "0"
    assert record["approval_history"] == ""
    assert record["number"] == "CHG1234567", "number is an ordinary field on insert"
    resp = api.patch("change_request", record["sys_id"], {"bogus": 1, "sys_updated_by": "mallory"})
    assert resp.status_code == 200
    assert resp.json()["result"]["sys_mod_count"] == "0", "nothing writable changed: no update"


def test_choices_and_references_are_not_validated(api: Any) -> None:
    record = api.create_change(risk="banana", assigned_to="f" * 32, category="")
    assert record["risk"] == "banana"
    assert record["assigned_to"]["value"] == "f" * 32
    assert record["category"] == ""
    (shown,) = api.query(
        "change_request",
        f"sys_id={record['sys_id']}",
        sysparm_display_value="true",
        sysparm_fields="risk,assigned_to",
    )
    assert shown["risk"] == "banana"
    assert shown["assigned_to"]["display_value"] == ""


def test_dot_walked_fields_come_back_under_their_literal_keys(api: Any, emulator: ServiceNowEmulator) -> None:
    """``sysparm_fields=assigned_to.email``: the referenced user's field, keyed by the path as asked;
    an empty or dangling reference gives "", and a path that is not a field is dropped."""
    [sam] = api.query("sys_user", "email=sam@example.com^active=true", sysparm_fields="sys_id,user_name,email")
    assert (sam["user_name"], sam["email"]) == ("sam", "sam@example.com")
    assert api.query("sys_user", "email=nobody@example.com") == []
    record = api.create_change(assigned_to=sam["sys_id"])
    dangling = api.create_change(assigned_to="f" * 32)
    fields = "number,assigned_to,assigned_to.email,assigned_to.name,requested_by.email,assigned_to.nope"
    (shown,) = api.query("change_request", f"sys_id={record['sys_id']}", sysparm_fields=fields,
                         sysparm_exclude_reference_link="true")
    admin = emulator.find_records("sys_user", "user_name=admin")[0]
    assert shown == {"number": record["number"], "assigned_to": sam["sys_id"], "assigned_to.email": "sam@example.com",
                     "assigned_to.name": "Sam Okafor", "requested_by.email": admin["email"]}
    (broken,) = api.query("change_request", f"sys_id={dangling['sys_id']}", sysparm_fields=fields,
                          sysparm_exclude_reference_link="true")
    assert (broken["assigned_to"], broken["assigned_to.email"]) == ("f" * 32, "")
    one = api.get("change_request", record["sys_id"], sysparm_fields="assigned_to.email").json()["result"]
    assert one == {"assigned_to.email": "sam@example.com"}


def test_input_display_value(api: Any, emulator: ServiceNowEmulator) -> None:
    resp = api.post(
        "change_request",
        {"assignment_group": "Network", "risk": "High", "start_date": "2026-12-01 09:00:00"},
        sysparm_input_display_value="true",
    )
    record = resp.json()["result"]
    assert (
        record["assignment_group"]["value"]
        == emulator.find_records("sys_user_group", "name=Network")[0]["sys_id"]
    )
    assert record["risk"] == "2"
    assert record["start_date"] == "2026-12-01 17:00:00", "display-value dates are in the user's zone"


def test_empty_string_clears(api: Any) -> None:
    record = api.create_change(description="some text")
    assert (
        api.patch("change_request", record["sys_id"], {"description": ""}).json()["result"]["description"]
        == ""
    )


def test_put_behaves_as_a_partial_update(api: Any) -> None:
    record = api.create_change(description="keep me")
    updated = api.put("change_request", record["sys_id"], {"short_description": "new"}).json()["result"]
    assert (updated["short_description"], updated["description"]) == ("new", "keep me")


def test_delete_answers_204_and_then_404(api: Any) -> None:
    record = api.create_change(work_notes="note")
    resp = api.delete("change_request", record["sys_id"])
    assert (resp.status_code, resp.content) == (204, b"")
    assert api.get("change_request", record["sys_id"]).json() == NOT_FOUND
    assert api.delete("change_request", record["sys_id"]).status_code == 404
    assert api.query("sys_journal_field", f"element_id={record['sys_id']}") == []


def test_missing_records(api: Any) -> None:
    resp = api.get("change_request", "0123456789abcdef0123456789abcdef")
    assert resp.status_code == 404
    assert resp.json() == NOT_FOUND
    assert api.patch("change_request", "0123456789abcdef0123456789abcdef", {"x": 1}).status_code == 404


def test_empty_list_is_200_but_404_on_v1(api: Any) -> None:
    assert api.get("change_request", sysparm_query="number=none").json() == {"result": []}
    v2 = api.session.get(
        api.url("/api/now/v2/table/change_request"), params={"sysparm_query": "number=none"}, timeout=10
    )
    assert (v2.status_code, v2.json()) == (200, {"result": []})
    v1 = api.session.get(
        api.url("/api/now/v1/table/change_request"), params={"sysparm_query": "number=none"}, timeout=10
    )
    assert v1.status_code == 404


def test_unknown_table_and_path(api: Any) -> None:
    resp = api.get("incident_typo")
    assert resp.status_code == 400
    assert resp.json() == {
        "error": {"message": "Invalid table incident_typo", "detail": None},
        "status": "failure",
    }
    other = api.session.get(api.url("/api/now/nothing/here"), timeout=10)
    assert other.status_code == 400
    assert other.json()["error"]["message"] == "Requested URI does not represent any resource"


def test_single_record_paths_ignore_list_parameters(api: Any) -> None:
    record = api.create_change()
    resp = api.get(
        "change_request",
        record["sys_id"],
        sysparm_query="ORDERBYsys_id",
        sysparm_limit="100",
        sysparm_offset="5",
        sysparm_fields="number,state",
    )
    assert resp.json()["result"] == {"number": record["number"], "state": "-5"}
    assert "X-Total-Count" not in resp.headers


def test_array_body_uses_the_first_element(api: Any) -> None:
    resp = api.post("change_request", [{"short_description": "first"}, {"short_description": "second"}])
    assert resp.json()["result"]["short_description"] == "first"
    assert len(api.query("change_request", "")) == 1


def test_malformed_body(api: Any) -> None:
    resp = api.session.post(
        api.table("change_request"),
        data=b"{not json",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "Exception while reading request"


def test_method_override_and_no_response_body(api: Any) -> None:
    record = api.create_change()
    resp = api.session.post(
        api.table("change_request", record["sys_id"]),
        json={"short_description": "via override"},
        headers={"X-HTTP-Method-Override": "PATCH", "X-no-response-body": "true"},
        timeout=10,
    )
    assert (resp.status_code, resp.content) == (200, b"")
    assert api.get("change_request", record["sys_id"]).json()["result"]["short_description"] == "via override"


def test_wrong_method(api: Any) -> None:
    assert api.session.delete(api.table("change_request"), timeout=10).status_code == 405


def test_head_gives_headers_only(api: Any) -> None:
    api.create_change()
    resp = api.session.head(api.table("change_request"), timeout=10)
    assert (resp.status_code, resp.content, resp.headers["X-Total-Count"]) == (200, b"", "1")


def test_default_data(api: Any) -> None:
    groups = {g["name"] for g in api.query("sys_user_group", "")}
    assert {"CAB Approval", "Change Management", "Network"} <= groups
    cis = {c["name"] for c in api.query("cmdb_ci", "")}
    assert {"payments-api", "orders-db", "web-frontend"} <= cis
    cab = api.query(
        "sys_user_grmember",
        "group.name=CAB Approval",
        sysparm_display_value="true",
        sysparm_exclude_reference_link="true",
    )
    assert {m["user"] for m in cab} == {"Abel Tuter", "Beth Anglin", "Bow Ruggeri"}
    assert api.query("change_request", "") == []


def test_reset_returns_to_defaults(api: Any, emulator: ServiceNowEmulator) -> None:
    api.create_change()
    api.post("cmdb_ci", {"name": "temporary"})
    assert api.session.post(api.url("/_emulator/reset"), timeout=10).status_code == 204
    assert api.query("change_request", "") == []
    assert api.query("cmdb_ci", "name=temporary") == []
    assert api.create_change()["number"] == "CHG0030001"


def test_registered_through_the_hook() -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(plugin, name="servicenow")
    emulators = plugins.emulators()
    assert emulators["servicenow"].factory is ServiceNowEmulator
    assert emulators["servicenow"].plugin == "servicenow"


@pytest.mark.parametrize("user", ["admin", "svc.chgsync"])
def test_api_user_has_a_user_record(user: str, clock: Any, api_for: Any) -> None:
    with ServiceNowEmulator(user=user, secret="pw", clock=clock) as emu:
        api = api_for(emu)
        record = api.create_change()
        assert record["sys_created_by"] == user
        (shown,) = api.query(
            "change_request",
            "",
            sysparm_display_value="true",
            sysparm_fields="opened_by",
            sysparm_exclude_reference_link="true",
        )
        assert shown["opened_by"] == ("System Administrator" if user == "admin" else user)
