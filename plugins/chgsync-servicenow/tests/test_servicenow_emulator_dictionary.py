"""The emulator's dictionary: sys_db_object, sys_dictionary and sys_choice, shaped by the platform's inheritance."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_servicenow.emulator import ServiceNowEmulator


def test_tables_and_what_they_extend(api: Any) -> None:
    (change,) = api.query("sys_db_object", "name=change_request", sysparm_exclude_reference_link="true")
    (task,) = api.query("sys_db_object", "name=task")
    assert change["super_class"] == task["sys_id"] and task["super_class"] == ""
    assert (change["label"], task["label"]) == ("Change Request", "Task")
    (user,) = api.query("sys_db_object", "name=sys_user")
    assert user["super_class"] == ""


def test_inherited_columns_are_rows_of_task(api: Any) -> None:
    own = {r["element"]: r for r in api.query("sys_dictionary", "name=change_request^elementISNOTEMPTY")}
    inherited = {r["element"]: r for r in api.query("sys_dictionary", "name=task^elementISNOTEMPTY")}
    assert "short_description" not in own and "short_description" in inherited
    assert {"justification", "start_date", "close_code", "u_chgsync_id"} <= set(own)
    assert {"state", "approval", "work_notes", "correlation_id", "sys_updated_on"} <= set(inherited)
    assert own["start_date"]["internal_type"] == "glide_date_time"
    assert inherited["work_notes"]["internal_type"] == "journal"
    assert inherited["cmdb_ci"]["internal_type"] == "reference" and inherited["cmdb_ci"]["reference"] == "cmdb_ci"
    assert inherited["sys_id"]["internal_type"] == "GUID"
    assert inherited["approval_history"]["read_only"] == "true"
    (collection,) = api.query("sys_dictionary", "name=change_request^elementISEMPTY")
    assert collection["internal_type"] == "collection"


def test_choices_live_where_the_platform_keeps_them(api: Any) -> None:
    change_states = [r["value"] for r in api.query("sys_choice", "name=change_request^element=state^ORDERBYsequence")]
    assert change_states == ["-5", "-4", "-3", "-2", "-1", "0", "3", "4"]
    task_states = [r["value"] for r in api.query("sys_choice", "name=change_task^element=state^ORDERBYsequence")]
    assert task_states == ["-5", "1", "2", "3", "4", "7"]  # an override per table, not one task list
    approvals = api.query("sys_choice", "element=approval")
    assert {r["name"] for r in approvals} == {"task"} and "not requested" in {r["value"] for r in approvals}
    (label,) = api.query("sys_choice", "name=change_request^element=close_code^value=successful_issues")
    assert label["label"] == "Successful with issues" and label["inactive"] == "false"


@pytest.mark.parametrize("table", ["sys_db_object", "sys_dictionary", "sys_choice"])
def test_the_dictionary_is_read_only_over_the_api(api: Any, table: str) -> None:
    (row, *_) = api.query(table, "", sysparm_limit="1")
    for response in (api.post(table, {"name": "x"}), api.patch(table, row["sys_id"], {"name": "x"}),
                     api.delete(table, row["sys_id"])):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Operation Failed"
        assert "read-only" in response.json()["error"]["detail"]


def test_a_seed_may_add_a_choice_and_reset_regenerates(emulator: ServiceNowEmulator, api: Any) -> None:
    emulator.load_seed({"tables": {"sys_choice": [
        {"name": "change_request", "element": "close_code", "value": "rolled_back", "label": "Rolled back"}]}})
    assert api.query("sys_choice", "element=close_code^value=rolled_back")
    before = len(api.query("sys_dictionary", ""))
    emulator.reset()
    assert len(api.query("sys_dictionary", "")) == before
    assert api.query("sys_choice", "element=close_code^value=rolled_back")  # seeds are re-applied on reset
