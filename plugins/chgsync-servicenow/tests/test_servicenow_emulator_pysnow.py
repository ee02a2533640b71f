"""The emulator driven by the real pysnow client, the way an integration would use it."""

from __future__ import annotations

import itertools
from typing import Any

import pysnow
import pytest
import requests
from chgsync_servicenow.emulator import ServiceNowEmulator
from pysnow.exceptions import NoResults


def test_create_read_update_delete(snow: pysnow.Client, emulator: ServiceNowEmulator) -> None:
    changes = snow.resource(api_path="/table/change_request")
    created = changes.create(
        {
            "short_description": "Upgrade payments-api",
            "type": "normal",
            "cmdb_ci": emulator.find_records("cmdb_ci", "name=payments-api")[0]["sys_id"],
        }
    ).one()
    assert created["number"] == "CHG0030001"
    assert len(created["sys_id"]) == 32 and int(created["sys_id"], 16) >= 0
    assert created["state"] == "-5"
    assert created["cmdb_ci"]["value"] == emulator.find_records("cmdb_ci", "name=payments-api")[0]["sys_id"]
    assert created["cmdb_ci"]["link"].endswith(f"/api/now/table/cmdb_ci/{created['cmdb_ci']['value']}")
    assert created["sys_created_by"] == created["sys_updated_by"] == "admin"
    assert created["sys_mod_count"] == "0"

    fetched = changes.get(query={"number": "CHG0030001"}).one()
    assert fetched["sys_id"] == created["sys_id"]

    # pysnow updates with GET (.one()) then PUT /{sys_id}, carrying the list parameters along
    updated = changes.update(
        {"number": "CHG0030001"}, {"short_description": "Upgrade payments-api to 2.4"}
    ).one()
    assert updated["short_description"] == "Upgrade payments-api to 2.4"
    assert updated["sys_mod_count"] == "1"
    assert emulator.requests.count("PUT", f"/api/now/table/change_request/{created['sys_id']}") == 1

    assert changes.delete({"number": "CHG0030001"}) == {"status": "record deleted"}
    with pytest.raises(NoResults):
        changes.get(query={"number": "CHG0030001"}).one()


@pytest.mark.parametrize(
    ("change_type", "path"),
    [
        ("normal", ["-4", "-3", "-2", "-1", "0", "3"]),
        ("standard", ["-2", "-1", "0", "3"]),
        ("emergency", ["-3", "-2", "-1", "0", "3"]),
    ],
)
def test_whole_state_model_with_pysnow(snow: pysnow.Client, change_type: str, path: list[str]) -> None:
    changes = snow.resource(api_path="/table/change_request")
    change = changes.create({"short_description": f"{change_type} change", "type": change_type}).one()
    query = {"sys_id": change["sys_id"]}
    for state in path:
        payload: dict[str, Any] = {"state": state}
        if state == "-2" and change_type != "standard":
            payload["approval"] = "approved"
        if state == "3":
            payload.update(close_code="successful", close_notes="Done.")
        assert changes.update(query, payload).one()["state"] == state
    final = changes.get(query=query, display_value=True).one()
    assert final["state"] == "Closed"
    assert final["type"] == change_type.capitalize()


def test_forbidden_move_surfaces_as_http_error(snow: pysnow.Client) -> None:
    changes = snow.resource(api_path="/table/change_request")
    change = changes.create({"short_description": "skip ahead"}).one()
    with pytest.raises(requests.HTTPError) as caught:
        changes.update({"sys_id": change["sys_id"]}, {"state": "-1"}).one()  # pysnow raises on reading
    response = caught.value.response
    assert response is not None and response.status_code == 403
    assert response.json()["error"]["message"] == "Operation Failed"


def test_paging_over_many_records_with_stream(snow: pysnow.Client, emulator: ServiceNowEmulator) -> None:
    changes = snow.resource(api_path="/table/change_request")
    for n in range(230):
        changes.create({"short_description": f"bulk {n:03d}", "category": "Software" if n % 2 else "Network"})
    seen: list[str] = []
    offset, limit = 0, 50
    while True:
        response = changes.get(
            query="categorySTARTSWITHSoft^ORDERBYnumber",
            limit=limit,
            offset=offset,
            fields=["number", "short_description"],
            stream=True,
        )
        page = list(response.all())
        total = int(response.headers["X-Total-Count"])
        assert all(set(r) == {"number", "short_description"} for r in page)
        seen.extend(r["number"] for r in page)
        offset += limit
        if offset >= total:
            break
    assert total == 115
    assert len(seen) == len(set(seen)) == 115
    assert seen == sorted(seen)
    # one call returns everything when no limit is given (pysnow's default is 10000)
    assert len(list(changes.get(stream=True).all())) == 230


def test_work_notes_and_comments_become_journal_entries(
    snow: pysnow.Client, emulator: ServiceNowEmulator, clock: Any
) -> None:
    changes = snow.resource(api_path="/table/change_request")
    change = changes.create({"short_description": "noted", "work_notes": "[chgsync] created"}).one()
    assert change["work_notes"] == "", "journal fields read back empty in value mode"
    query = {"sys_id": change["sys_id"]}
    clock.advance(minutes=1)
    changes.update(query, {"comments": "visible to the requester"})
    clock.advance(minutes=1)
    after = changes.update(
        query, {"work_notes": "[chgsync] created"}
    ).one()  # identical text is appended again
    assert after["sys_mod_count"] == "2", "journal-only updates count as updates"

    journal = snow.resource(api_path="/table/sys_journal_field")
    entries = journal.get(
        query=f"element_id={change['sys_id']}^elementINwork_notes,comments^ORDERBYDESCsys_created_on"
    ).all()
    assert [(e["element"], e["value"]) for e in entries] == [
        ("work_notes", "[chgsync] created"),
        ("comments", "visible to the requester"),
        ("work_notes", "[chgsync] created"),
    ]
    assert all(e["name"] == "change_request" and e["sys_created_by"] == "admin" for e in entries)

    full = changes.get(query=query, display_value="all", fields=["work_notes", "comments"]).one()
    assert full["work_notes"]["value"] == ""
    blocks = full["work_notes"]["display_value"].split("\n\n")
    assert blocks[0] == "2026-11-26 02:02:00 - System Administrator (Work notes)\n[chgsync] created"
    assert blocks[1] == "2026-11-26 02:00:00 - System Administrator (Work notes)\n[chgsync] created"
    assert full["comments"]["display_value"].startswith(
        "2026-11-26 02:01:00 - System Administrator (Additional comments)\nvisible to the requester"
    )


def test_change_tasks_reference_their_change(snow: pysnow.Client) -> None:
    change = snow.resource(api_path="/table/change_request").create({"short_description": "parent"}).one()
    tasks = snow.resource(api_path="/table/change_task")
    numbers = [
        tasks.create(
            {
                "change_request": change["sys_id"],
                "short_description": f"step {n}",
                "change_task_type": "implementation",
            }
        ).one()["number"]
        for n in range(2)
    ]
    assert numbers == ["CTASK0010001", "CTASK0010002"]
    found = tasks.get(
        query=f"change_request.number={change['number']}", display_value=True, exclude_reference_link=True
    ).all()
    assert [t["change_request"] for t in found] == [change["number"]] * 2
    assert {t["state"] for t in found} == {"Open"}


def test_unreachable_record_and_empty_queries(snow: pysnow.Client) -> None:
    changes = snow.resource(api_path="/table/change_request")
    assert list(itertools.islice(changes.get(query="number=CHG9999999", stream=True).all(), 1)) == []
    with pytest.raises(requests.HTTPError) as caught:
        changes.request("GET", path_append="/0123456789abcdef0123456789abcdef").one()
    assert caught.value.response is not None and caught.value.response.status_code == 404
