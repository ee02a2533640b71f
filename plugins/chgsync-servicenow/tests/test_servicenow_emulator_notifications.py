"""Outbound change notifications (the emulated business rule + REST message) and their faults."""

from __future__ import annotations

import json
from typing import Any

from chgsync_servicenow.emulator import SECRET_HEADER, ServiceNowEmulator


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_insert_and_update_are_posted(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    emulator.webhooks.subscribe(webhook_receiver.url, secret="s3cret")
    change = api.create_change(type="normal", work_notes="[chgsync] created")
    api.patch("change_request", change["sys_id"], {"state": "-4", "comments": "submitted"})
    insert, update = (r.json() for r in webhook_receiver.wait_for(2))

    assert insert["operation"] == "insert"
    assert insert["table"] == "change_request"
    assert (insert["sys_id"], insert["number"], insert["sys_mod_count"]) == (
        change["sys_id"],
        "CHG0030001",
        "0",
    )
    assert insert["sys_updated_by"] == "admin"
    assert insert["journal"] == [{"element": "work_notes", "value": "[chgsync] created"}]
    assert insert["record"]["state"] == "-5"
    assert "work_notes" in insert["changed_fields"] and "short_description" in insert["changed_fields"]

    assert update["operation"] == "update"
    assert update["sys_mod_count"] == "1"
    assert {"state", "approval", "comments"} <= set(update["changed_fields"])
    assert update["previous"]["state"] == "-5"
    assert update["record"]["state"] == "-4"
    assert update["record"]["approval"] == "requested"
    assert update["sys_updated_on"] == update["record"]["sys_updated_on"]

    headers = lowered(webhook_receiver.received[0].headers)
    assert headers[SECRET_HEADER.lower()] == "s3cret"
    assert headers["content-type"] == "application/json"


def test_no_write_no_notification(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    change = api.create_change(short_description="same")
    emulator.webhooks.subscribe(webhook_receiver.url)
    api.patch("change_request", change["sys_id"], {"short_description": "same"})  # nothing changes
    api.patch("change_request", change["sys_id"], {"state": "-1"})  # refused
    api.patch("change_request", change["sys_id"], {"short_description": "different"})
    assert emulator.webhooks.wait_idle()
    assert [r.json()["changed_fields"] for r in webhook_receiver.received] == [["short_description"]]
    assert SECRET_HEADER.lower() not in lowered(webhook_receiver.received[0].headers), "no secret, no header"


def test_other_tables_do_not_notify(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    emulator.webhooks.subscribe(webhook_receiver.url)
    api.post("change_task", {"short_description": "task"})
    api.post("cmdb_ci", {"name": "new-ci"})
    assert emulator.webhooks.wait_idle()
    assert webhook_receiver.received == []


def test_approval_workflow_moves_notify_too(
    api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any
) -> None:
    change = api.create_change(type="emergency")
    api.patch("change_request", change["sys_id"], {"state": "-3"})
    emulator.webhooks.subscribe(webhook_receiver.url, events={"change_request.update"})
    row = api.query("sysapproval_approver", f"sysapproval={change['sys_id']}")[0]
    api.patch("sysapproval_approver", row["sys_id"], {"state": "approved"})
    (moved,) = (r.json() for r in webhook_receiver.wait_for(1))
    assert moved["record"]["state"] == "-2"
    assert moved["previous"] == {"state": "-3", "approval": "requested", "approval_set": ""}


def test_registration_through_the_control_endpoint(
    api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any
) -> None:
    resp = api.session.post(
        api.url("/_emulator/webhooks"),
        json={"url": webhook_receiver.url, "events": ["change_request.insert"]},
        timeout=10,
    )
    assert resp.status_code == 201
    change = api.create_change()
    api.patch("change_request", change["sys_id"], {"short_description": "ignored by the filter"})
    assert emulator.webhooks.wait_idle()
    assert [r.json()["operation"] for r in webhook_receiver.received] == ["insert"]


def test_dropped_delivery(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    emulator.webhooks.subscribe(webhook_receiver.url)
    emulator.faults.webhooks.drop_next(1)
    first = api.create_change(short_description="lost")
    second = api.create_change(short_description="kept")
    assert emulator.webhooks.wait_idle()
    assert [r.json()["sys_id"] for r in webhook_receiver.received] == [second["sys_id"]]
    outcomes = [(json_sys_id(rec.body), rec.outcome) for rec in emulator.webhooks.records]
    assert outcomes == [(first["sys_id"], "dropped"), (second["sys_id"], "delivered")]


def test_duplicated_delivery(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    emulator.webhooks.subscribe(webhook_receiver.url)
    emulator.faults.webhooks.duplicate_next(1)
    api.create_change()
    one, two = webhook_receiver.wait_for(2)
    assert one.body == two.body, "a receiver must dedupe on (sys_id, sys_mod_count)"


def test_faults_set_through_the_control_endpoint(
    api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any
) -> None:
    emulator.webhooks.subscribe(webhook_receiver.url)
    resp = api.session.post(api.url("/_emulator/faults"), json={"webhooks": {"drop": 1}}, timeout=10)
    assert resp.status_code == 204
    api.create_change()
    api.create_change()
    assert emulator.webhooks.wait_idle()
    assert len(webhook_receiver.received) == 1


def json_sys_id(body: bytes) -> str:
    return str(json.loads(body)["sys_id"])


def test_failed_receiver_is_recorded(api: Any, emulator: ServiceNowEmulator, webhook_receiver: Any) -> None:
    webhook_receiver.status = 500
    emulator.webhooks.subscribe(webhook_receiver.url)
    api.create_change()
    assert emulator.webhooks.wait_idle()
    assert emulator.webhooks.records[-1].outcome == "failed"
    assert len(webhook_receiver.received) == emulator.webhooks.attempts
