"""Seed documents: what loads, and the errors that name the table, record and field at fault."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_servicenow.emulator import SeedError, ServiceNowEmulator

from chgsync.errors import InputError

SEED: dict[str, Any] = {
    "settings": {"time_zone": "UTC", "require_close_fields": False},
    "tables": {
        "sys_user_group": [{"name": "Payments", "manager": "jane.doe@example.com"}],
        "sys_user": [
            {
                "user_name": "jane.doe",
                "first_name": "Jane",
                "last_name": "Doe",
                "email": "jane.doe@example.com",
                "sys_id": "a" * 32,
            }
        ],
        "change_request": [
            {
                "number": "CHG0040001",
                "short_description": "Imported",
                "type": "emergency",
                "state": "Implement",
                "approval": "approved",
                "assignment_group": "Payments",
                "assigned_to": "Jane Doe",
                "cmdb_ci": "payments-api",
                "start_date": "2026-12-01 09:00:00",
                "work_notes": "from the old tool",
            },
        ],
    },
}


def test_seed_adds_records_resolving_references_by_display_value(clock: Any, api_for: Any) -> None:
    seed = {
        **SEED,
        "tables": {**SEED["tables"], "sys_user_group": [{"name": "Payments", "manager": "a" * 32}]},
    }
    with ServiceNowEmulator(clock=clock, seed=seed) as emu:
        api = api_for(emu)
        (change,) = api.query(
            "change_request",
            "number=CHG0040001",
            sysparm_display_value="true",
            sysparm_exclude_reference_link="true",
        )
        assert change["state"] == "Implement", "seeds bypass the state model"
        assert (change["assignment_group"], change["assigned_to"], change["cmdb_ci"]) == (
            "Payments",
            "Jane Doe",
            "payments-api",
        )
        assert change["sys_created_on"] == "2026-11-26 10:00:00", (
            "settings.time_zone applies to display values"
        )
        assert change["work_notes"].endswith("(Work notes)\nfrom the old tool\n\n")
        assert api.create_change()["number"] == "CHG0040002", "numbering continues after seeded numbers"
        # settings.require_close_fields=false: Review -> Closed without close fields
        sys_id = change["sys_id"]
        assert api.patch("change_request", sys_id, {"state": "0"}).status_code == 200
        assert api.patch("change_request", sys_id, {"state": "3"}).status_code == 200
        # a reset keeps the seed
        api.session.post(api.url("/_emulator/reset"), timeout=10)
        assert api.query("change_request", "number=CHG0040001")[0]["state"] == "-1"


@pytest.mark.parametrize(
    ("seed", "where", "text"),
    [
        ({"tables": {"incident": []}}, "tables.incident", "is not a table the emulator serves"),
        ({"tables": {"cmdb_ci": [{"nme": "x"}]}}, "tables.cmdb_ci[0].nme", "cmdb_ci has no field 'nme'"),
        (
            {"tables": {"change_request": [{"state": "Done"}]}},
            "tables.change_request[0].state",
            "is not one of",
        ),
        (
            {"tables": {"change_request": [{"start_date": "tomorrow"}]}},
            "tables.change_request[0].start_date",
            "is not a UTC date/time",
        ),
        ({"tables": {"cmdb_ci": [{"name": ["a", "b"]}]}}, "tables.cmdb_ci[0].name", "must be a single value"),
        (
            {"tables": {"cmdb_ci": [{"name": "x", "sys_id": "XYZ"}]}},
            "tables.cmdb_ci[0].sys_id",
            "is not a sys_id",
        ),
        (
            {"tables": {"cmdb_ci": [{"support_group": "Nobody"}]}},
            "tables.cmdb_ci[0].support_group",
            "matches no sys_user_group record",
        ),
        (
            {"tables": {"sys_user": [{"user_name": "x", "time_zone": "Mars/Olympus"}]}},
            "tables.sys_user[0].time_zone",
            "is not a time zone",
        ),
        ({"settings": {"strict_queries": "yes"}}, "settings.strict_queries", "must be a boolean"),
        ({"tables": {"cmdb_ci": {"name": "x"}}}, "tables.cmdb_ci", "must be a list of records"),
        ({"changes": []}, "changes", "is not a seed section"),
    ],
)
def test_unusable_seed_is_refused_with_its_location(seed: dict[str, Any], where: str, text: str) -> None:
    with pytest.raises(SeedError) as caught:
        ServiceNowEmulator(seed=seed)
    assert isinstance(caught.value, InputError)
    message = str(caught.value)
    assert message.startswith("Unusable seed")
    assert f"field '{where}'" in message
    assert text in message


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(SeedError) as caught:
        ServiceNowEmulator(seed={"tables": {"cmdb_ci": [{"nme": "x"}, {"category": ["y"]}]}})
    assert len(caught.value.problems) == 2


def test_duplicate_sys_id_and_failed_seed_loads_nothing(emulator: ServiceNowEmulator) -> None:
    cis_before = len(emulator.find_records("cmdb_ci"))
    with pytest.raises(SeedError, match="is used by another record"):
        emulator.load_seed(
            {
                "tables": {
                    "cmdb_ci": [{"name": "one", "sys_id": "b" * 32}, {"name": "two", "sys_id": "b" * 32}]
                }
            }
        )
    assert len(emulator.find_records("cmdb_ci")) == cis_before


def test_ambiguous_display_value() -> None:
    seed = {
        "tables": {
            "cmdb_ci": [
                {"name": "twin"},
                {"name": "twin"},
                {"name": "user", "owned_by": "System Administrator"},
            ],
            "change_request": [{"cmdb_ci": "twin"}],
        }
    }
    with pytest.raises(SeedError, match="matches 2 cmdb_ci records; give the sys_id"):
        ServiceNowEmulator(seed=seed)
