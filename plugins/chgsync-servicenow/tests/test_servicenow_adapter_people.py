"""People over real HTTP: the requester is requested_by and the implementer assigned_to, sys_user
references written by sys_id after a lookup by e-mail address and read back through the dot-walked
address; an address no single active user has leaves the field as it was, with a work note saying so."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.lifecycle import ChangeType
from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.testing.conformance import mapped_view
from chgsync.testing.samples import sample_change


def user_id(emulator: ServiceNowEmulator, user_name: str) -> str:
    [user] = emulator.find_records("sys_user", f"user_name={user_name}")
    return user["sys_id"]


def lookups(emulator: ServiceNowEmulator) -> list[str]:
    return [r.query for r in emulator.requests if r.path.endswith("/sys_user")]


def notes(emulator: ServiceNowEmulator, sys_id: str) -> list[str]:
    return [n["value"] for n in emulator.find_records("sys_journal_field", f"element_id={sys_id}")]


def test_people_are_written_by_sys_id_and_read_back_by_address(adapter: ServiceNowAdapter,
                                                               emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-801")  # requester dana@, implementer sam@
    record = adapter.create(change)
    raw = emulator.get_record("change_request", record.ref.id)
    assert raw is not None
    assert (raw["requested_by"], raw["assigned_to"]) == (user_id(emulator, "dana"), user_id(emulator, "sam"))
    assert (record.change.requester, record.change.implementer) == ("dana@example.com", "sam@example.com")
    again = adapter.get(record.ref)
    assert mapped_view(adapter, again.change) == mapped_view(adapter, change)
    assert again.raw["assigned_to.email"] == "sam@example.com"  # asked for in the same read (dot-walk)
    assert adapter.normalize(dict(again.raw)).implementer == "sam@example.com"  # offline
    assert notes(emulator, record.ref.id) == []


def test_lookups_are_made_once_per_address(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    emulator.requests.clear()
    for n in range(3):
        adapter.create(sample_change(ChangeType.NORMAL, id=f"CHG-81{n}"))
    assert len(lookups(emulator)) == 2  # dana, sam: once each
    assert all("email%3Ddana%40example.com" in q or "email%3Dsam%40example.com" in q for q in lookups(emulator))
    assert sum(adapter.calls.values()) == len(emulator.requests)


def test_a_reassignment_in_servicenow_reads_as_the_new_implementer(adapter: ServiceNowAdapter,
                                                                   emulator: ServiceNowEmulator, api: Any) -> None:
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-820")).ref
    assert api.patch("change_request", ref.id, {"assigned_to": user_id(emulator, "abel.tuter")}).status_code == 200
    record = adapter.get(ref)
    assert (record.change.implementer, record.change.requester) == ("abel.tuter@example.com", "dana@example.com")
    assert api.patch("change_request", ref.id, {"assigned_to": ""}).status_code == 200
    assert adapter.get(ref).change.implementer is None


def test_an_address_without_a_user_is_left_unset_and_noted_in_the_same_write(
        adapter: ServiceNowAdapter, emulator: ServiceNowEmulator, caplog: pytest.LogCaptureFixture) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-830", implementer="nobody@example.com")
    emulator.requests.clear()
    with caplog.at_level(logging.WARNING, logger="chgsync_servicenow.adapter"):
        record = adapter.create(change)  # not an error: the change is created all the same
    assert [r.method for r in emulator.requests] == ["GET", "GET", "POST"]  # two lookups, one insert
    assert record.change.implementer is None and record.change.requester == "dana@example.com"
    [note] = notes(emulator, record.ref.id)
    assert "- assigned_to: nobody@example.com (the change's implementer): no active ServiceNow user has that " \
           "e-mail address" in note
    assert "assigned_to not set to nobody@example.com" in caplog.text

    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-831")).ref
    emulator.requests.clear()
    for _ in range(2):
        after = adapter.update(ref, change.model_copy(update={"id": "CHG-831"}), ["implementer"])
        assert after.change.implementer == "sam@example.com"  # left as it was
    assert len(notes(emulator, ref.id)) == 1  # saying it again adds no second note
    assert lookups(emulator) == []  # the miss is remembered


def test_an_address_two_users_share_is_not_guessed(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    emulator.load_seed({"tables": {"sys_user": [
        {"user_name": "sam.two", "first_name": "Sam", "last_name": "Again", "email": "sam@example.com"}]}})
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-835"))
    assert record.change.implementer is None
    [note] = notes(emulator, record.ref.id)
    assert "2 active ServiceNow users share that e-mail address" in note


def test_an_inactive_user_is_not_written(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                        api: Any) -> None:
    assert api.patch("sys_user", user_id(emulator, "sam"), {"active": "false"}).status_code == 200
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-836"))
    assert record.change.implementer is None and len(notes(emulator, record.ref.id)) == 1


def test_no_implementer_clears_the_reference(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-840")
    ref = adapter.create(change).ref
    after = adapter.update(ref, change.model_copy(update={"implementer": None}), ["implementer"])
    assert after.change.implementer is None
    assert emulator.get_record("change_request", ref.id)["assigned_to"] == ""  # type: ignore[index]


def test_a_change_without_a_requester_gets_the_instances_default(adapter: ServiceNowAdapter,
                                                                emulator: ServiceNowEmulator) -> None:
    """Documented loss: ServiceNow makes whoever creates a record its requester, here the integration user."""
    emulator.requests.clear()
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-850", requester=None, implementer=None))
    assert record.change.requester == "admin@example.com" and record.change.implementer is None
    assert lookups(emulator) == []


def test_a_notification_without_the_address_reads_a_known_user(adapter: ServiceNowAdapter,
                                                              emulator: ServiceNowEmulator,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """Notification bodies carry raw values only: a user the adapter has seen is known by sys_id."""
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-860"))
    raw = {k: v for k, v in record.raw.items() if not k.endswith(".email")}
    assert adapter.normalize({"table": "change_request", "record": raw}).implementer == "sam@example.com"
    stranger = ServiceNowAdapter("http://127.0.0.1:9")  # offline, has seen no one
    with caplog.at_level(logging.WARNING, logger="chgsync_servicenow.adapter"):
        assert stranger.normalize({"table": "change_request", "record": raw}).implementer is None
    assert "carries no assigned_to.email" in caplog.text


@pytest.mark.parametrize(("remote", "problem"), [
    ("cmdb_ci", "change_request.cmdb_ci is a reference to cmdb_ci, not a reference to sys_user"),
    ("close_notes", "change_request.close_notes is string, not a reference to sys_user"),
])
def test_check_names_a_user_field_that_is_not_a_sys_user_reference(
        emulator: ServiceNowEmulator, make_adapter: Callable[..., ServiceNowAdapter], tmp_path: Any,
        remote: str, problem: str) -> None:
    text = shipped_mapping("servicenow-change-request").read_text().replace(
        "    remote: assigned_to\n", f"    remote: {remote}\n")
    edited = tmp_path / "people.yaml"
    edited.write_text(text)
    adapter = make_adapter(emulator, mapping=load_mapping(edited))
    assert [p for p in adapter.check() if "implementer" in p] == [
        f"fields[17] (implementer → {remote}): {problem} (remote_type user)."]
