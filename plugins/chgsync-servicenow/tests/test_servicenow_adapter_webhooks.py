"""Notifications in: the shared secret, malformed bodies, delivery ids that dedupe; normalize offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import SECRET_HEADER, ServiceNowEmulator

from chgsync.errors import InputError, WebhookRejected
from chgsync.lifecycle import ChangeType, State
from chgsync.testing.conformance import mapped_view
from chgsync.testing.samples import sample_change

START = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
SYS_ID = "0123456789abcdef0123456789abcdef"


def body(**overrides: Any) -> bytes:
    data = {"table": "change_request", "operation": "update", "sys_id": SYS_ID, "number": "CHG0030007",
            "sys_mod_count": "4", "sys_updated_on": "2026-11-26 10:00:00", "sys_updated_by": "beth.anglin",
            "record": {"sys_id": SYS_ID}, **overrides}
    return json.dumps(data).encode()


@pytest.fixture
def secured() -> ServiceNowAdapter:
    """Parsing and normalizing need no instance: nothing listens on port 9, and nothing is called."""
    return ServiceNowAdapter("http://127.0.0.1:9", webhook_secret="s3cret")


@pytest.fixture
def offline() -> ServiceNowAdapter:
    return ServiceNowAdapter("http://127.0.0.1:9")


def test_a_delivery_is_parsed_into_a_ref_and_a_deduplicating_id(secured: ServiceNowAdapter) -> None:
    event = secured.parse_webhook({"x-sn-webhook-secret": "s3cret", "content-type": "application/json"}, body())
    assert event.delivery_id == f"{SYS_ID}:4"
    assert (event.ref.id, event.ref.key, event.ref.system) == (SYS_ID, "CHG0030007", "servicenow")
    assert (event.kind, event.actor) == ("change_request.update", "beth.anglin")
    redelivered = secured.parse_webhook({"X-SN-Webhook-Secret": "s3cret"}, body())  # any header case
    assert redelivered.delivery_id == event.delivery_id


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "has no X-SN-Webhook-Secret header"),
    ({"x-sn-webhook-secret": "guess"}, "does not match"),
    ({"x-sn-webhook-secret": ""}, "does not match"),
])
def test_a_missing_or_wrong_secret_is_401(secured: ServiceNowAdapter, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejected) as info:
        secured.parse_webhook(headers, body())
    assert info.value.status == 401 and reason in str(info.value)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "is not JSON"),
    (b"\xff\xfe", "is not JSON"),
    (b"[]", "must be a JSON object"),
    (b'"text"', "must be a JSON object"),
    (json.dumps({"table": "change_request"}).encode(), "has no sys_id"),
    (body(sys_id="../../etc", record={}), "is not a ServiceNow sys_id"),
    (body(table="incident"), "about table 'incident'"),
])
def test_a_malformed_delivery_is_400(secured: ServiceNowAdapter, raw: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected) as info:
        secured.parse_webhook({"x-sn-webhook-secret": "s3cret"}, raw)
    assert info.value.status == 400 and reason in str(info.value)


def test_without_a_secret_configured_any_sender_is_accepted(offline: ServiceNowAdapter) -> None:
    assert offline.parse_webhook({}, body()).ref.id == SYS_ID


def test_a_body_without_a_version_dedupes_on_its_content(offline: ServiceNowAdapter) -> None:
    raw = json.dumps({"sys_id": SYS_ID, "state": "-2"}).encode()
    first, again = offline.parse_webhook({}, raw), offline.parse_webhook({}, raw)
    assert first.delivery_id == again.delivery_id and first.delivery_id.startswith(f"{SYS_ID}:sha256:")


def test_real_notifications_parse_and_normalize(emulator: ServiceNowEmulator, webhook_receiver: Any,
                                                make_adapter: Callable[..., ServiceNowAdapter]) -> None:
    """The emulator's business-rule notifications, delivered over HTTP, read as the change read back."""
    adapter = make_adapter(emulator, webhook_secret="shh")
    emulator.webhooks.subscribe(webhook_receiver.url, secret="shh")
    change = sample_change(ChangeType.NORMAL, id="CHG-20", start=START)
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    deliveries = webhook_receiver.wait_for(3)  # insert, Assess, Authorize
    events = [adapter.parse_webhook(d.headers, d.body) for d in deliveries]
    assert [e.delivery_id for e in events] == [f"{ref.id}:0", f"{ref.id}:1", f"{ref.id}:2"]
    assert {e.actor for e in events} == {emulator.user}
    assert SECRET_HEADER.lower() in {k.lower() for k in deliveries[0].headers}  # werkzeug re-cases it
    last = adapter.normalize(deliveries[-1].json())
    assert last.state == State.CAB_REVIEW
    assert mapped_view(adapter, last) == mapped_view(adapter, adapter.get(ref).change)


def test_normalize_accepts_the_shapes_a_person_pastes(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                      api: Any) -> None:
    change = sample_change(ChangeType.STANDARD, id="CHG-21", start=START)
    ref = adapter.create(change).ref
    raw = api.get("change_request", ref.id).json()
    assert mapped_view(adapter, adapter.normalize(raw)) == mapped_view(adapter, change)  # {"result": {...}}
    pairs = api.get("change_request", ref.id, sysparm_display_value="all").json()["result"]
    assert mapped_view(adapter, adapter.normalize(pairs)) == mapped_view(adapter, change)  # value/display pairs
    with_links = api.get("change_request", ref.id).json()["result"]  # references as {link, value}
    assert adapter.normalize(with_links).id == "CHG-21"


@pytest.mark.parametrize(("payload", "reason"), [
    ({"foo": 1}, "has none of the mapped fields"),
    ({"result": [{"sys_id": SYS_ID}]}, "is a list of records"),
    ({"table": "incident", "record": {"state": "1"}}, "about 'incident'"),
    ({"state": "99", "short_description": "x", "type": "normal"}, "'99'"),
    ({"state": "-5", "short_description": "", "type": "normal", "number": "CHG1"}, "a change needs a title"),
    ({"state": "-5", "short_description": "x", "type": "expedited"}, "'expedited' is not one of"),
    ({"state": "-5", "short_description": "x", "type": "normal", "start_date": "2026-12-08T02:00:00Z"},
     "start_date (schedule.planned_start)"),
    ({"state": "-5", "short_description": "x", "type": "normal", "start_date": "2026-12-08 04:00:00",
      "end_date": "2026-12-08 03:00:00"}, "planned_end must be after planned_start"),
])
def test_normalize_refuses_what_is_not_a_change(offline: ServiceNowAdapter, payload: dict[str, Any],
                                                reason: str) -> None:
    with pytest.raises(InputError) as info:
        offline.normalize(payload)
    assert reason in str(info.value)


def test_a_change_made_in_servicenow_takes_its_number_as_id(offline: ServiceNowAdapter) -> None:
    change = offline.normalize({"number": "CHG0030042", "state": "-1", "short_description": "Hotfix",
                                "type": "emergency", "approval": "approved", "close_code": "unsuccessful"})
    assert (change.id, change.state, change.type) == ("CHG0030042", State.IMPLEMENTING, ChangeType.EMERGENCY)
    assert change.outcome is not None and change.outcome.value == "unsuccessful"
