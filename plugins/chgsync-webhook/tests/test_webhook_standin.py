"""The receiver stand-in refuses what a careful receiver would refuse, in its own words."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from chgsync_webhook import signature
from chgsync_webhook.notifier import payload
from chgsync_webhook.standin import WebhookReceiver

from chgsync.notify import Notification

from .conftest import NOW, SECRET

STAMP = int(NOW.timestamp())


def post(receiver: WebhookReceiver, body: dict[str, Any] | bytes, **headers: str) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", "User-Agent": "chgsync/test", "X-Chgsync-Delivery": "k1",
            "X-Chgsync-Timestamp": str(STAMP), "X-Chgsync-Signature": signature(SECRET, STAMP, raw)} | headers
    return requests.post(receiver.url, data=raw, headers=sent, timeout=5)


def good() -> dict[str, Any]:
    return payload(Notification(key="k1", change_id="CHG1", event="rollback", subject="Rolled back", text="x"), NOW)


def test_an_unsigned_request_gets_401_with_the_reason(receiver: WebhookReceiver) -> None:
    resp = requests.post(receiver.url, json=good(), timeout=5)
    assert resp.status_code == 401
    assert "X-Chgsync-Signature header is missing" in resp.json()["error"]
    assert "WWW-Authenticate" not in resp.headers


@pytest.mark.parametrize(("change", "says"), [
    ({"severity": "urgent"}, "Field 'severity' must be one of info, warning, critical."),
    ({"id": "other"}, "Field 'id' must equal the X-Chgsync-Delivery header."),
    ({"emergency": "yes"}, "Field 'emergency' must be bool."),
    ({"sent_at": "2026-11-26T10:00:00"}, "Field 'sent_at' must be an ISO 8601 time with a zone."),
    ({"facts": {"Risk": 3}}, "Field 'facts' must map names to strings."),
    ({"change_id": " "}, "Field 'change_id' must not be empty."),
    ({"components": ["payments-db", 7]}, "Field 'components' must be a list of strings."),
    ({"components": None}, "Field 'components' must be list."),
])
def test_a_malformed_body_gets_400_naming_the_field(receiver: WebhookReceiver, change: dict[str, object],
                                                    says: str) -> None:
    resp = post(receiver, good() | change)
    assert resp.status_code == 400
    assert says in resp.json()["problems"]
    assert receiver.received() == []


def test_a_missing_field_is_named(receiver: WebhookReceiver) -> None:
    body = good()
    del body["thread"]
    resp = post(receiver, body)
    assert resp.status_code == 400 and resp.json()["problems"] == ["Field 'thread' is required."]


def test_wrong_method_and_content_type(receiver: WebhookReceiver) -> None:
    assert post(receiver, good(), **{"Content-Type": "text/plain"}).status_code == 415
    assert post(receiver, b"not json").status_code == 400
    assert post(receiver, good(), **{"User-Agent": "curl/8"}).status_code == 400
    stamp = str(STAMP)
    resp = requests.get(receiver.url, headers={"X-Chgsync-Timestamp": stamp,
                                               "X-Chgsync-Signature": signature(SECRET, STAMP, b"")}, timeout=5)
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"


def test_the_emulator_control_endpoints_keep_basic_auth(receiver: WebhookReceiver) -> None:
    url = f"{receiver.base_url}/_emulator/requests"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, auth=(receiver.user, SECRET), timeout=5).status_code == 200
