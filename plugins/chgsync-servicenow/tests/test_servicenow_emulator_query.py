"""Encoded queries, field selection, display values and paging headers, over raw HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from chgsync_servicenow.emulator import ServiceNowEmulator


@pytest.fixture
def changes(api: Any, clock: Any, emulator: ServiceNowEmulator) -> dict[str, dict[str, Any]]:
    """Four changes an hour apart, with different fields filled in."""
    network = emulator.find_records("sys_user_group", "name=Network")[0]["sys_id"]
    db = emulator.find_records("cmdb_ci", "name=orders-db")[0]["sys_id"]
    made = {}
    for key, fields in [
        (
            "a",
            {
                "short_description": "Patch core router",
                "priority": "1",
                "assignment_group": network,
                "category": "Network",
            },
        ),
        (
            "b",
            {"short_description": "Resize orders-db", "priority": "2", "cmdb_ci": db, "category": "Software"},
        ),
        (
            "c",
            {
                "short_description": "Rotate certificates",
                "priority": "3",
                "category": "Software",
                "correlation_id": "OPS-7",
            },
        ),
        ("d", {"short_description": "Upgrade ROUTER firmware", "priority": "4", "category": "Hardware"}),
    ]:
        made[key] = api.create_change(**fields)
        clock.advance(hours=1)
    return made


def numbers(rows: list[dict[str, Any]]) -> list[str]:
    return [r["number"] for r in rows]


def q(api: Any, query: str, **params: Any) -> list[str]:
    return numbers(api.query("change_request", query + "^ORDERBYnumber", **params))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("priority=2", ["b"]),
        ("priority!=2", ["a", "c", "d"]),
        ("priority>2", ["c", "d"]),
        ("priority>=2", ["b", "c", "d"]),
        ("priority<2", ["a"]),
        ("priority<=2", ["a", "b"]),
        ("short_descriptionLIKErouter", ["a", "d"]),  # contains, case-insensitive
        ("short_descriptionNOT LIKErouter", ["b", "c"]),
        ("short_descriptionSTARTSWITHRe", ["b"]),
        ("short_descriptionENDSWITHcates", ["c"]),
        ("categoryINNetwork,Hardware", ["a", "d"]),
        ("categoryNOT INNetwork,Hardware", ["b", "c"]),
        ("correlation_idISEMPTY", ["a", "b", "d"]),
        ("correlation_idISNOTEMPTY", ["c"]),
        ("correlation_id!=OPS-8", ["c"]),  # empty values never match a negative condition (KB0715430)
        ("correlation_idNOT INOPS-1,OPS-2", ["c"]),
        ("assignment_group!=0123456789abcdef0123456789abcdef", ["a"]),
        ("priority=1^ORpriority=4", ["a", "d"]),
        ("category=Software^priority=3^ORpriority=2", ["b", "c"]),
        ("priority=1^NQcategory=Software^priority=3", ["a", "c"]),
        ("priorityBETWEEN2@3", ["b", "c"]),
        ("assignment_group.name=Network", ["a"]),  # dot-walking through a reference
        ("assignment_groupLIKEnetw", ["a"]),  # LIKE on a reference matches its display value
        ("cmdb_ci.nameSTARTSWITHorders", ["b"]),
        ("sys_created_on>2026-11-26 11:00:00", ["c", "d"]),
        ("sys_created_on>=2026-11-26 11:00:00", ["b", "c", "d"]),
        ("sys_created_on<2026-11-26 11:00:00", ["a"]),
        ("sys_created_on<=2026-11-26 11:00:00", ["a", "b"]),
        ("sys_updated_on>=2026-11-26 12:00:00^sys_updated_on<2026-11-26 13:00:00", ["c"]),
        ("sys_created_on>2026-11-26", ["a", "b", "c", "d"]),  # a date alone means midnight UTC
        ("sys_created_onBETWEEN2026-11-26 10:30:00@2026-11-26 12:30:00", ["b", "c"]),
        ("short_descriptionLIKEcertificates^EQ", ["c"]),  # the UI's trailing ^EQ is ignored
    ],
)
def test_operators(api: Any, changes: dict[str, dict[str, Any]], query: str, expected: list[str]) -> None:
    assert q(api, query) == [changes[k]["number"] for k in expected]


def test_javascript_date_helpers_are_read_in_the_users_zone(
    api: Any, changes: dict[str, dict[str, Any]]
) -> None:
    # 03:00 in Los Angeles (the admin's default zone) is 11:00 UTC
    assert q(api, "sys_created_on>=javascript:gs.dateGenerate('2026-11-26','03:00:00')") == numbers(
        [changes["b"], changes["c"], changes["d"]]
    )
    # pysnow's BETWEEN writes one "date time" argument in double quotes
    assert q(
        api,
        'sys_created_onBETWEENjavascript:gs.dateGenerate("2026-11-26 03:30:00")'
        '@javascript:gs.dateGenerate("2026-11-26 05:30:00")',
    ) == numbers([changes["c"], changes["d"]])
    assert q(api, "sys_created_on>=javascript:gs.beginningOfToday()") == numbers(list(changes.values()))
    assert q(api, "sys_created_on<javascript:gs.daysAgoStart(1)") == []


def test_unsupported_script_is_refused_not_guessed(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    resp = api.get("change_request", sysparm_query="sys_created_on>javascript:gs.quarterAgoStart(1)")
    assert resp.status_code == 400
    assert "does not evaluate" in resp.json()["error"]["detail"]


def test_order_by_desc_and_several_orders(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    assert numbers(api.query("change_request", "ORDERBYDESCpriority")) == numbers(
        [changes[k] for k in "dcba"]
    )
    rows = api.query("change_request", "ORDERBYcategory^ORDERBYDESCnumber")
    assert numbers(rows) == numbers([changes[k] for k in "dacb"])


def test_user_id_script(api: Any, emulator: ServiceNowEmulator, changes: dict[str, dict[str, Any]]) -> None:
    assert len(api.query("change_request", "opened_by=javascript:gs.getUserID()")) == 4
    assert (
        api.query("change_request", "opened_byLIKEadministrator^ORDERBYnumber")[0]["number"] == "CHG0030001"
    )


def test_unknown_field_in_a_query_is_dropped(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    # the real incident: planned_start_date is not a change_request field, so every change came back
    assert len(api.query("change_request", "planned_start_date>2030-01-01 00:00:00")) == 4
    assert q(api, "priority=1^no_such_field=x") == [changes["a"]["number"]]
    assert q(api, "priorityFROBNICATE1^priority=2") == [changes["b"]["number"]], (
        "a bad operator is dropped too"
    )
    assert len(api.query("change_request", "ORDERBYno_such_field")) == 4


def test_strict_queries_return_nothing_for_invalid_terms(clock: Any, api_for: Callable[..., Any]) -> None:
    with ServiceNowEmulator(clock=clock, strict_queries=True) as emu:
        api = api_for(emu)
        api.create_change()
        assert api.query("change_request", "planned_start_date>2030-01-01 00:00:00") == []
        assert len(api.query("change_request", "state=-5")) == 1


def test_plain_field_filters(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    resp = api.get("change_request", category="Software", sysparm_query="ORDERBYnumber")
    assert numbers(resp.json()["result"]) == numbers([changes["b"], changes["c"]])


def test_literal_caret_in_a_value(api: Any) -> None:
    api.create_change(short_description="a^b")
    assert len(api.query("change_request", "short_description=a^^b")) == 1


# -- fields and display values -------------------------------------------------------------------------
def test_fields_select_and_unknown_fields_are_dropped(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    rows = api.query(
        "change_request",
        "number=CHG0030002",
        sysparm_fields="number,cmdb_ci.name,bogus,assignment_group.manager.name,state",
    )
    assert rows == [
        {
            "number": "CHG0030002",
            "cmdb_ci.name": "orders-db",
            "assignment_group.manager.name": "",
            "state": "-5",
        }
    ]


def test_display_value_false_true_all(
    api: Any, emulator: ServiceNowEmulator, changes: dict[str, dict[str, Any]]
) -> None:
    fields = "number,state,priority,assignment_group,cmdb_ci,sys_created_on,active,sys_mod_count,sys_domain"
    base = f"http://127.0.0.1:{emulator.port}/api/now/table/"
    group = emulator.find_records("sys_user_group", "name=Network")[0]["sys_id"]
    (raw,) = api.query("change_request", "number=CHG0030001", sysparm_fields=fields)
    assert raw == {
        "number": "CHG0030001",
        "state": "-5",
        "priority": "1",
        "assignment_group": {"link": f"{base}sys_user_group/{group}", "value": group},
        "cmdb_ci": "",  # an empty reference is the plain empty string
        "sys_created_on": "2026-11-26 10:00:00",
        "active": "true",
        "sys_mod_count": "0",
        "sys_domain": {"link": f"{base}sys_user_group/global", "value": "global"},
    }
    (shown,) = api.query(
        "change_request", "number=CHG0030001", sysparm_fields=fields, sysparm_display_value="true"
    )
    assert shown == {
        "number": "CHG0030001",
        "state": "New",
        "priority": "1 - Critical",
        "assignment_group": {"display_value": "Network", "link": f"{base}sys_user_group/{group}"},
        "cmdb_ci": "",
        "sys_created_on": "2026-11-26 02:00:00",  # the admin's zone: America/Los_Angeles
        "active": "true",
        "sys_mod_count": "0",
        "sys_domain": {"display_value": "global", "link": f"{base}sys_user_group/global"},
    }
    (both,) = api.query(
        "change_request", "number=CHG0030001", sysparm_fields=fields, sysparm_display_value="all"
    )
    assert both["state"] == {"display_value": "New", "value": "-5"}
    assert both["assignment_group"] == {
        "display_value": "Network",
        "link": f"{base}sys_user_group/{group}",
        "value": group,
    }
    assert both["cmdb_ci"] == {"display_value": "", "value": ""}
    assert both["sys_created_on"] == {"display_value": "2026-11-26 02:00:00", "value": "2026-11-26 10:00:00"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("false", "GROUP"),
        ("true", "Network"),
        ("all", {"display_value": "Network", "value": "GROUP"}),
    ],
)
def test_exclude_reference_link(
    api: Any, emulator: ServiceNowEmulator, changes: dict[str, dict[str, Any]], mode: str, expected: Any
) -> None:
    group = emulator.find_records("sys_user_group", "name=Network")[0]["sys_id"]
    if isinstance(expected, dict):
        expected = {k: (group if v == "GROUP" else v) for k, v in expected.items()}
    elif expected == "GROUP":
        expected = group
    (row,) = api.query(
        "change_request",
        "number=CHG0030001",
        sysparm_fields="assignment_group",
        sysparm_display_value=mode,
        sysparm_exclude_reference_link="true",
    )
    assert row["assignment_group"] == expected


def test_boolean_parameters_accept_pythonic_capitals(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    (row,) = api.query(
        "change_request", "number=CHG0030001", sysparm_fields="state", sysparm_display_value="True"
    )
    assert row == {"state": "New"}
    (row,) = api.query(
        "change_request", "number=CHG0030001", sysparm_fields="state", sysparm_display_value="yes"
    )
    assert row == {"state": "-5"}, "anything but true/all is the default"


def test_user_time_zone_drives_display_values(
    api: Any, emulator: ServiceNowEmulator, changes: dict[str, dict[str, Any]]
) -> None:
    admin = emulator.find_records("sys_user", "user_name=admin")[0]["sys_id"]
    assert api.patch("sys_user", admin, {"time_zone": "Europe/Berlin"}).status_code == 200
    (row,) = api.query(
        "change_request", "number=CHG0030001", sysparm_fields="sys_created_on", sysparm_display_value="true"
    )
    assert row == {"sys_created_on": "2026-11-26 11:00:00"}


# -- paging headers ------------------------------------------------------------------------------------
def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;rel="(\w+)"', header)}


def test_link_and_total_count_headers(api: Any, emulator: ServiceNowEmulator) -> None:
    for n in range(7):
        api.create_change(short_description=f"page {n}")
    first = api.get("change_request", sysparm_query="ORDERBYnumber", sysparm_limit="3")
    assert first.headers["X-Total-Count"] == "7"
    assert len(first.json()["result"]) == 3
    links = _links(first.headers["Link"])
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["first"].endswith("sysparm_query=ORDERBYnumber&sysparm_limit=3&sysparm_offset=0")
    assert links["prev"].endswith("sysparm_offset=-3"), "the product's prev link on page one is negative"
    assert links["next"].endswith("sysparm_offset=3")
    assert links["last"].endswith("sysparm_offset=6")
    assert links["first"].startswith(f"{emulator.base_url}/api/now/table/change_request?")

    last = api.session.get(links["last"], timeout=10)
    assert [r["short_description"] for r in last.json()["result"]] == ["page 6"]
    assert "next" not in _links(last.headers["Link"])


def test_suppress_pagination_header_removes_only_link(api: Any) -> None:
    api.create_change()
    resp = api.get("change_request", sysparm_suppress_pagination_header="true")
    assert "Link" not in resp.headers
    assert resp.headers["X-Total-Count"] == "1"
    assert "X-Total-Count" not in api.get("change_request", sysparm_no_count="true").headers


def test_offset_and_limit(api: Any, changes: dict[str, dict[str, Any]]) -> None:
    rows = api.query("change_request", "ORDERBYnumber", sysparm_limit="2", sysparm_offset="1")
    assert numbers(rows) == numbers([changes["b"], changes["c"]])
    assert api.query("change_request", "ORDERBYnumber", sysparm_offset="10") == []
