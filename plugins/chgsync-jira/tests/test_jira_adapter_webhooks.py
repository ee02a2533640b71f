"""Webhook deliveries, as the emulator really sends them to a receiver: signature checks, refusals
with the right status, the delivery id, the actor, and which canonical fields a changelog touched."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from chgsync_jira.emulator import JiraEmulator

from chgsync.errors import InputError, WebhookRejected
from chgsync.lifecycle import ChangeType, State
from chgsync.testing.emulator import hub_signature
from chgsync.testing.samples import sample_change

SECRET = "s3cret"


@pytest.fixture
def setup(jira_emulator: JiraEmulator, make_adapter: Any, webhook_receiver: Any) -> tuple[Any, Any, Any]:
    adapter = make_adapter(jira_emulator, webhook_secret=SECRET)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-500")).ref
    jira_emulator.webhooks.subscribe(webhook_receiver.url, secret=SECRET)
    return adapter, ref, webhook_receiver


def deliveries(emulator: JiraEmulator, receiver: Any, count: int) -> list[Any]:
    assert emulator.webhooks.wait_idle()
    return receiver.wait_for(count)


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # as the daemon hands them over


def test_a_signed_delivery_is_parsed(setup: tuple[Any, Any, Any], jira_emulator: JiraEmulator) -> None:
    adapter, ref, receiver = setup
    change = sample_change(ChangeType.NORMAL, id="CHG-500")
    adapter.update(ref, change.model_copy(update={"title": "New title"}), ["title"])
    (delivery,) = deliveries(jira_emulator, receiver, 1)
    for headers in (lowered(delivery.headers), delivery.headers):  # any letter case
        event = adapter.parse_webhook(headers, delivery.body)
        assert event.ref == ref and event.system == "jira"
        assert event.kind == "jira:issue_updated"
        assert event.delivery_id == delivery.headers["X-Atlassian-Webhook-Identifier"]
        assert event.actor == "chgsync@example.com"
        assert adapter.changed(event) == {"title"}
    assert adapter.normalize(json.loads(delivery.body)) == adapter.get(ref).change


def test_changelog_items_are_matched_on_field_id_not_display_name(setup: tuple[Any, Any, Any],
                                                                  jira_emulator: JiraEmulator) -> None:
    adapter, ref, receiver = setup
    change = sample_change(ChangeType.NORMAL, id="CHG-500")
    rollback = change.rollback.model_copy(update={"expected_duration": None})
    adapter.update(ref, change.model_copy(update={"rollback": rollback}), ["rollback"])
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    adapter.comment(ref, "FYI")
    received = deliveries(jira_emulator, receiver, 5)
    events = [adapter.parse_webhook(lowered(d.headers), d.body) for d in received]
    edit = next(e.raw for e in events if e.raw.get("issue_event_type_name") == "issue_updated")
    (item,) = edit["changelog"]["items"]
    assert (item["field"], item["fieldId"]) == ("Backout plan", "customfield_10048")  # the name is for people
    changed = [adapter.changed(e) for e in events]
    assert {"rollback"} in changed and {"state"} in changed  # the edit; each of the two transitions
    assert set() in changed  # the comment touched nothing mapped
    legacy = json.dumps(dict(edit, changelog={"items": [{"field": "Backout plan", "from": None, "to": None}]}))
    event = adapter.parse_webhook(hub_signature(legacy.encode(), SECRET), legacy.encode())
    assert adapter.changed(event) is None  # an item without fieldId: cannot tell


def test_missing_or_wrong_signatures_are_refused_with_401(setup: tuple[Any, Any, Any],
                                                          jira_emulator: JiraEmulator) -> None:
    adapter, ref, receiver = setup
    adapter.comment(ref, "Signed.")
    delivery = deliveries(jira_emulator, receiver, 1)[0]
    headers = lowered(delivery.headers)
    unsigned = {k: v for k, v in headers.items() if k != "x-hub-signature"}
    with pytest.raises(WebhookRejected) as missing:
        adapter.parse_webhook(unsigned, delivery.body)
    assert missing.value.status == 401 and "no X-Hub-Signature header" in str(missing.value)
    with pytest.raises(WebhookRejected) as tampered:
        adapter.parse_webhook(headers, delivery.body.replace(b"Signed.", b"Forged."))
    assert tampered.value.status == 401 and "does not match" in str(tampered.value)
    for bad in ("sha256=" + "0" * 64, "sha1=" + hashlib.sha1(delivery.body).hexdigest(), "garbage"):
        with pytest.raises(WebhookRejected) as info:
            adapter.parse_webhook({**headers, "x-hub-signature": bad}, delivery.body)
        assert info.value.status == 401


BODY = {"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "CHG-1", "fields": {}}}


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "The body is not JSON"),
    (b"", "The body is not JSON"),
    (b"[]", "The body is a JSON list, not the object a Jira webhook posts."),
    (json.dumps({**BODY, "webhookEvent": "worklog_created"}).encode(),
     "webhookEvent 'worklog_created' is not an event chgsync handles"),
    (json.dumps({"webhookEvent": "jira:issue_updated"}).encode(), "names no issue"),
    (json.dumps({**BODY, "issue": {"id": "10001"}}).encode(), "names no issue"),
    (json.dumps({**BODY, "issue": {"id": "1", "key": "OPS-1", "fields": {"project": {"key": "OPS"}}}}).encode(),
     "OPS-1 is in project OPS, not CHG"),
])
def test_unusable_bodies_are_refused_with_400(jira_emulator: JiraEmulator, make_adapter: Any, body: bytes,
                                              message: str) -> None:
    adapter = make_adapter(jira_emulator)  # no secret: the body itself is judged
    with pytest.raises(WebhookRejected) as info:
        adapter.parse_webhook({"content-type": "application/json"}, body)
    assert info.value.status == 400 and message in str(info.value)


def test_without_the_identifier_header_the_body_hash_is_the_delivery_id(jira_emulator: JiraEmulator,
                                                                        make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    body = json.dumps(BODY).encode()
    event = adapter.parse_webhook({}, body)
    assert event.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()
    assert event.ref.url == f"{jira_emulator.base_url}/browse/CHG-1" and event.actor == ""


def test_a_comment_webhook_is_a_hint_not_a_record(setup: tuple[Any, Any, Any], jira_emulator: JiraEmulator) -> None:
    adapter, ref, receiver = setup
    adapter.comment(ref, "Hello")
    received = deliveries(jira_emulator, receiver, 2)
    delivery = next(d for d in received if json.loads(d.body)["webhookEvent"] == "comment_created")
    event = adapter.parse_webhook(lowered(delivery.headers), delivery.body)
    assert event.ref.key == ref.key and event.actor == "chgsync@example.com"
    with pytest.raises(InputError, match="carries only a few fields of the issue"):
        adapter.normalize(event.raw)
