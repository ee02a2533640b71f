"""Polling: fetch_changed over many records, keyset pages, the since filter; offset paging of the client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.client import next_offset_from_link
from chgsync_servicenow.emulator import ServiceNowEmulator


def seed_changes(emulator: ServiceNowEmulator, n: int, *, at: str = "2026-11-26 09:00:00") -> None:
    """``n`` changes in one seed (fast), updated at ``at`` (ties on purpose: keyset paging breaks them)."""
    emulator.load_seed({"tables": {"change_request": [
        {"short_description": f"Bulk change {i}", "type": "standard", "u_chgsync_id": f"CHG-{i}",
         "sys_updated_on": at, "start_date": "2026-12-01 02:00:00"} for i in range(n)]}})


def test_fetch_changed_pages_over_more_than_a_thousand_records(adapter: ServiceNowAdapter,
                                                              emulator: ServiceNowEmulator) -> None:
    seed_changes(emulator, 1050)
    emulator.requests.clear()
    records = list(adapter.fetch_changed(None))
    assert len(records) == 1050
    assert len({r.ref.id for r in records}) == 1050
    assert {r.change.id for r in records} == {f"CHG-{i}" for i in range(1050)}
    assert [(r.method, r.status) for r in emulator.requests] == [("GET", 200), ("GET", 200)]  # pages of 1000
    assert adapter.calls["fetch_changed"] == 2
    queries = [r.query for r in emulator.requests]
    assert "sysparm_limit=1000" in queries[0] and "sysparm_no_count=true" in queries[0]
    assert "NQsys_updated_on" in queries[1]  # the second page continues after the last row, not at an offset


def test_records_updated_during_the_scan_are_not_skipped(emulator: ServiceNowEmulator, api: Any, clock: Any,
                                                         make_adapter: Callable[..., ServiceNowAdapter]) -> None:
    """Offset paging skips a row when an earlier one is updated mid-scan; keyset paging does not."""
    adapter = make_adapter(emulator, page_size=100)
    seed_changes(emulator, 250)
    clock.advance(minutes=5)
    seen: list[str] = []
    for i, record in enumerate(adapter.fetch_changed(None)):
        seen.append(record.ref.id)
        if i == 120:  # between pages two and three: update a row the scan has passed
            assert api.patch("change_request", seen[3], {"description": "edited mid-scan"}).status_code == 200
    assert len(set(seen)) == 250
    assert seen.count(seen[3]) == 2  # and the update is seen again, at its new time
    assert adapter.calls["fetch_changed"] == 3


def test_since_filters_by_sys_updated_on_in_utc(emulator: ServiceNowEmulator, api: Any, clock: Any,
                                                adapter: ServiceNowAdapter) -> None:
    early = api.create_change(short_description="early", u_chgsync_id="CHG-1")["sys_id"]
    clock.advance(minutes=10)
    late = api.create_change(short_description="late", u_chgsync_id="CHG-2")["sys_id"]
    cut = clock.now - timedelta(minutes=1)
    assert [r.ref.id for r in adapter.fetch_changed(cut)] == [late]
    in_berlin = cut.astimezone(timezone(timedelta(hours=1)))  # any zone: the query is written in UTC
    assert [r.ref.id for r in adapter.fetch_changed(in_berlin)] == [late]
    assert [r.ref.id for r in adapter.fetch_changed(None)] == [early, late]
    exactly = clock.now.replace(microsecond=500_000)  # to the second, inclusive: no update is missed
    assert [r.ref.id for r in adapter.fetch_changed(exactly)] == [late]
    record = next(adapter.fetch_changed(cut))
    assert record.updated == datetime(2026, 11, 26, 10, 10, tzinfo=UTC) and record.updated.tzinfo is not None
    assert record.version == "0" and record.updated_by == "admin"


def test_a_hand_edited_record_does_not_stall_polling(emulator: ServiceNowEmulator, api: Any,
                                                     adapter: ServiceNowAdapter) -> None:
    bad = api.create_change(short_description="free text", risk_impact_analysis="Low risk, done it before.")
    good = api.create_change(short_description="fine")
    records = {r.ref.id: r for r in adapter.fetch_changed(None)}
    assert set(records) == {bad["sys_id"], good["sys_id"]}
    assert records[bad["sys_id"]].change.risks == []  # listed, the unreadable field left out
    with pytest.raises(Exception) as info:  # and get() refuses it, naming the field
        adapter.get(records[bad["sys_id"]].ref)
    assert "risk_impact_analysis (risks)" in str(info.value) and "Low risk" in str(info.value)


def test_client_list_follows_the_link_header(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    emulator.requests.clear()
    users = list(adapter.client.list("sys_user", query="ORDERBYuser_name", fields=["user_name"], page_size=3,
                                     operation="test"))
    names = [u["user_name"] for u in users]
    assert names == sorted(names) and len(names) == 10
    assert [r.query.split("sysparm_offset=")[1].split("&")[0] for r in emulator.requests] == ["0", "3", "6", "9"]


@pytest.mark.parametrize(("header", "expected"), [
    (('<https://i.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_offset=0>;rel="first",'
     '<https://i.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_offset=-1>;rel="prev",'
     '<https://i.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_offset=1>;rel="next",'
     '<https://i.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_offset=72>;rel="last"'), 1),
    (('https://i.service-now.com/api/now/table/x?sysparm_fields=a,b&sysparm_offset=20;rel="next",'
     'https://i.service-now.com/api/now/table/x?sysparm_offset=90;rel="last"'), 20),  # no angle brackets
    ('<https://i/x?sysparm_offset=0>;rel="first",<https://i/x?sysparm_offset=90>;rel="last"', None),  # last page
    ("", None),
])
def test_link_header_parsing(header: str, expected: int | None) -> None:
    assert next_offset_from_link(header) == expected
