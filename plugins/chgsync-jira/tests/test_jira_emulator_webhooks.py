"""Webhooks as Jira Cloud sends them: bodies, changelog items, identifiers, signatures, filters and
the delivery faults a consumer must survive."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import requests
from chgsync_jira.emulator import JiraEmulator
from jira import JIRA

SECRET = "webhook-secret"


def _events(receiver: Any) -> list[str]:
    return [r.json()["webhookEvent"] for r in receiver.received]


def _signature_ok(delivery: Any, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(delivery.headers.get("X-Hub-Signature", ""), expected)


def test_issue_and_comment_events_with_changelog_items(
    jira_emulator: JiraEmulator, webhook_receiver: Any, jira_client: JIRA, new_change: Any
) -> None:
    jira_emulator.webhooks.subscribe(webhook_receiver.url, secret=SECRET)
    issue = new_change()
    issue.update(
        fields={
            "customfield_10041": {"value": "High"},
            "assignee": {"accountId": jira_emulator.account.account_id},
        }
    )
    jira_client.transition_issue(issue, "Submit for review")
    jira_client.add_comment(issue.key, "Ready for CAB.")
    assert jira_emulator.webhooks.wait_idle()
    received = webhook_receiver.wait_for(5)
    assert _events(webhook_receiver) == [
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_updated",
        "comment_created",
        "jira:issue_updated",
    ]
    created, edited, moved, comment, commented = (r.json() for r in received)

    assert created["issue_event_type_name"] == "issue_created"
    assert created["issue"]["key"] == issue.key
    assert created["issue"]["self"] == f"{jira_emulator.base_url}/rest/api/2/issue/{issue.id}"
    assert created["issue"]["fields"]["statusCategory"]["key"] == "new"
    assert created["user"]["accountId"] == jira_emulator.account.account_id
    assert isinstance(created["timestamp"], int)
    assert {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": None,
        "fromString": None,
        "to": "10100",
        "toString": "Planning",
    } in created["changelog"]["items"]

    assert edited["issue_event_type_name"] == "issue_updated"
    items = {i["fieldId"]: i for i in edited["changelog"]["items"]}
    assert items["customfield_10041"] == {
        "field": "Change risk",
        "fieldtype": "custom",
        "fieldId": "customfield_10041",
        "from": None,
        "fromString": None,
        "to": "10112",
        "toString": "High",
    }
    assert items["assignee"]["tmpToAccountId"] == jira_emulator.account.account_id
    assert items["assignee"]["toString"] == "chgsync integration"

    (status,) = moved["changelog"]["items"]
    assert status == {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": "10100",
        "fromString": "Planning",
        "to": "10101",
        "toString": "Peer review",
    }
    assert moved["issue"]["fields"]["status"]["name"] == "Peer review"

    assert comment["comment"]["body"] == "Ready for CAB."
    assert set(comment["issue"]["fields"]) == {
        "summary",
        "issuetype",
        "project",
        "assignee",
        "priority",
        "status",
    }
    assert commented["issue_event_type_name"] == "issue_commented" and "changelog" not in commented

    for delivery in received:
        assert delivery.headers["User-Agent"] == "Atlassian Webhook HTTP Client"
        assert delivery.headers["Content-Type"].startswith("application/json")
        assert _signature_ok(delivery, SECRET)
    identifiers = [d.headers["X-Atlassian-Webhook-Identifier"] for d in received]
    assert len(set(identifiers)) == len(identifiers)


def test_a_duplicated_delivery_carries_the_same_identifier(
    jira_emulator: JiraEmulator, webhook_receiver: Any, new_change: Any, http: requests.Session
) -> None:
    control = f"{jira_emulator.base_url}/_emulator"
    subscribed = http.post(f"{control}/webhooks", json={"url": webhook_receiver.url, "secret": SECRET})
    assert subscribed.status_code == 201
    assert http.post(f"{control}/faults", json={"webhooks": {"duplicate": 1}}).status_code == 204
    new_change()
    assert jira_emulator.webhooks.wait_idle()
    first, second = webhook_receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["X-Atlassian-Webhook-Identifier"] == second.headers["X-Atlassian-Webhook-Identifier"]
    assert _signature_ok(second, SECRET)


def test_retries_after_a_failing_receiver_keep_the_identifier(
    jira_emulator: JiraEmulator, webhook_receiver: Any, new_change: Any
) -> None:
    jira_emulator.webhooks.subscribe(webhook_receiver.url)
    webhook_receiver.status = 503
    new_change()
    assert jira_emulator.webhooks.wait_idle()
    attempts = webhook_receiver.wait_for(3)
    assert len({a.headers["X-Atlassian-Webhook-Identifier"] for a in attempts}) == 1
    assert [r.outcome for r in jira_emulator.webhooks.records] == ["failed"]


def test_dropped_and_reordered_deliveries(
    jira_emulator: JiraEmulator, webhook_receiver: Any, jira_client: JIRA, new_change: Any
) -> None:
    jira_emulator.webhooks.subscribe(webhook_receiver.url, events={"jira:issue_updated"})
    issue = new_change()
    jira_emulator.faults.webhooks.drop_next(1)
    issue.update(fields={"summary": "first edit"})  # dropped
    jira_emulator.faults.webhooks.reorder_next(2)
    issue.update(fields={"summary": "second edit"})
    issue.update(fields={"summary": "third edit"})
    assert jira_emulator.webhooks.wait_idle()
    received = webhook_receiver.wait_for(2)
    assert [r.json()["changelog"]["items"][0]["toString"] for r in received] == ["third edit", "second edit"]
    assert [r.outcome for r in jira_emulator.webhooks.records] == ["dropped", "delivered", "delivered"]


def test_admin_webhook_api_registers_filters_and_signs(
    jira_emulator: JiraEmulator,
    webhook_receiver: Any,
    http: requests.Session,
    jira_client: JIRA,
    new_change: Any,
) -> None:
    url = f"{jira_emulator.base_url}/rest/webhooks/1.0/webhook"
    resp = http.post(
        url,
        json={
            "name": "chgsync daemon",
            "url": webhook_receiver.url,
            "events": ["jira:issue_created", "jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = OPS"},
            "excludeBody": False,
            "secret": SECRET,
        },
    )
    assert resp.status_code == 201
    hook = resp.json()
    assert hook["filters"] == {"issue-related-events-section": "project = OPS"} and hook["enabled"] is True
    assert "secret" not in hook and hook["self"].startswith(url)
    assert http.get(url).json() == [hook]

    new_change()  # CHG: filtered out
    task = jira_client.create_issue(
        fields={"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Restart workers"}
    )
    jira_client.add_comment(task.key, "comment_created is not subscribed; the issue_updated it causes is")
    assert jira_emulator.webhooks.wait_idle()
    received = webhook_receiver.wait_for(2)
    assert [(d.json()["webhookEvent"], d.json().get("issue_event_type_name")) for d in received] == [
        ("jira:issue_created", "issue_created"),
        ("jira:issue_updated", "issue_commented"),
    ]
    assert all(d.json()["issue"]["key"] == task.key and _signature_ok(d, SECRET) for d in received)

    assert http.delete(hook["self"]).status_code == 204
    jira_client.create_issue(
        fields={"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "More"}
    )
    assert jira_emulator.webhooks.wait_idle()
    assert len(webhook_receiver.received) == 2

    bad = http.post(
        url,
        json={
            "name": "x",
            "url": webhook_receiver.url,
            "filters": {"issue-related-events-section": "project = "},
        },
    )
    assert bad.status_code == 400 and "filters" in bad.json()["errors"]


def test_admin_webhook_with_exclude_body(
    jira_emulator: JiraEmulator, webhook_receiver: Any, http: requests.Session, new_change: Any
) -> None:
    http.post(
        f"{jira_emulator.base_url}/rest/webhooks/1.0/webhook",
        json={"name": "ping only", "url": webhook_receiver.url, "events": [], "excludeBody": True},
    )
    new_change()
    assert jira_emulator.webhooks.wait_idle()
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery.body == b"" and delivery.headers["X-Atlassian-Webhook-Identifier"]


def test_dynamic_webhooks_when_opened_to_users(webhook_receiver: Any) -> None:
    with JiraEmulator(seed={"settings": {"dynamicWebhooksForUsers": True}}) as emu:
        session = emu.session()
        result = session.post(
            f"{emu.base_url}/rest/api/3/webhook",
            json={
                "url": webhook_receiver.url,
                "webhooks": [
                    {
                        "events": ["jira:issue_updated"],
                        "jqlFilter": "project = CHG",
                        "fieldIdsFilter": ["status"],
                    }
                ],
            },
        ).json()
        hook_id = result["webhookRegistrationResult"][0]["createdWebhookId"]
        key = session.post(
            f"{emu.base_url}/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "CHG"},
                    "issuetype": {"name": "Change"},
                    "summary": "Dynamic",
                    "customfield_10040": {"value": "Standard"},
                }
            },
        ).json()["key"]
        session.put(
            f"{emu.base_url}/rest/api/2/issue/{key}", json={"fields": {"summary": "no status change"}}
        )
        session.post(f"{emu.base_url}/rest/api/2/issue/{key}/transitions", json={"transition": {"id": "111"}})
        assert emu.webhooks.wait_idle()
        (delivery,) = webhook_receiver.wait_for(1)
        body = delivery.json()
        assert body["matchedWebhookIds"] == [hook_id]
        assert body["changelog"]["items"][0]["toString"] == "Awaiting implementation"
        assert "X-Hub-Signature" not in delivery.headers
