"""Jira's webhooks: registrations, filters and delivery bodies, on top of the base dispatcher.

Three kinds of subscriber receive events:

- admin webhooks registered through ``/rest/webhooks/1.0/webhook`` (events, a JQL filter,
  ``excludeBody``, an optional secret that signs deliveries with ``X-Hub-Signature``);
- dynamic webhooks registered through ``/rest/api/{2,3}/webhook`` (Connect/OAuth apps only on
  Cloud; the emulator opens them to users only when the seed says so), never signed, with
  ``matchedWebhookIds`` in the body;
- plain subscriptions from ``chgsync emulate --webhook`` or ``/_emulator/webhooks``: everything.

Each delivery gets its own ``X-Atlassian-Webhook-Identifier``; the base dispatcher resends the
same headers on retries and on duplicate-delivery faults, so the identifier is stable as in Jira.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chgsync.testing.emulator import Subscription, WebhookDispatcher

from . import jql, render
from .fields import View
from .issues import IssueEvent
from .store import Site
from .timefmt import epoch_ms, zone

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
COMMENT_EVENTS = ("comment_created", "comment_updated", "comment_deleted")
KNOWN_EVENTS = frozenset(
    ISSUE_EVENTS
    + COMMENT_EVENTS
    + (
        "issuelink_created",
        "issuelink_deleted",
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
        "attachment_created",
        "attachment_deleted",
        "issue_property_set",
        "issue_property_deleted",
        "project_created",
        "project_updated",
        "project_deleted",
        "jira:version_released",
        "user_created",
    )
)
DYNAMIC_EVENTS = frozenset(ISSUE_EVENTS + COMMENT_EVENTS + ("issue_property_set", "issue_property_deleted"))
DYNAMIC_LIFETIME = timedelta(days=30)
USER_AGENT = "Atlassian Webhook HTTP Client"


@dataclass
class AdminWebhook:
    id: int
    name: str
    url: str
    events: list[str]
    jql: str
    exclude_body: bool
    enabled: bool
    secret: str | None
    subscription: str
    updated_by: str
    updated_at: datetime


@dataclass
class DynamicWebhook:
    id: int
    url: str
    events: list[str]
    jql: str
    field_ids: list[str] | None
    expires: datetime
    subscription: str


@dataclass
class JiraWebhooks:
    """Registrations made through Jira's APIs. Site data: cleared when the emulator resets."""

    dispatcher: WebhookDispatcher
    admin: dict[int, AdminWebhook] = field(default_factory=dict)
    dynamic: dict[int, DynamicWebhook] = field(default_factory=dict)
    _next: int = 1

    def next_id(self) -> int:
        value = self._next
        self._next += 1
        return value

    def clear(self) -> None:
        for hook in list(self.admin.values()):
            self.dispatcher.unsubscribe(hook.subscription)
        for dyn in list(self.dynamic.values()):
            self.dispatcher.unsubscribe(dyn.subscription)
        self.admin.clear()
        self.dynamic.clear()
        self._next = 1

    def subscribe(self, url: str, secret: str | None, name: str) -> Subscription:
        return self.dispatcher.subscribe(url, secret=secret, name=name)

    # -- delivery ------------------------------------------------------------------------------------
    def publish(self, site: Site, events: list[IssueEvent], base_url: str) -> int:
        """Queue deliveries for ``events`` to every interested subscriber; returns how many."""
        if not events or not self.dispatcher.subscriptions:
            return 0
        view = View(base_url, 2, zone(site.settings.time_zone))
        admin_by_sub = {h.subscription: h for h in self.admin.values()}
        dynamic_by_sub = {d.subscription: d for d in self.dynamic.values()}
        sent = 0
        for event in events:
            issue = site.issues.get(event.issue_id)
            if issue is None:
                continue
            payload = self.payload(site, event, view)
            matched_dynamic = [d.id for d in self.dynamic.values() if self._dynamic_wants(site, d, event)]
            for sub in list(self.dispatcher.subscriptions.values()):
                body: dict[str, Any] | bytes = payload
                admin = admin_by_sub.get(sub.id)
                dynamic = dynamic_by_sub.get(sub.id)
                if admin is not None:
                    if not self._admin_wants(site, admin, event):
                        continue
                    if admin.exclude_body:
                        body = b""
                elif dynamic is not None:
                    if dynamic.id not in matched_dynamic:
                        continue
                    body = {
                        **payload,
                        "matchedWebhookIds": [
                            d for d in matched_dynamic if self.dynamic[d].url == dynamic.url
                        ],
                    }
                elif not sub.wants(event.name):
                    continue
                headers = {
                    "Content-Type": "application/json; charset=UTF-8",
                    "User-Agent": USER_AGENT,
                    "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
                    "X-Atlassian-Webhook-Flow": "Primary",
                }
                self.dispatcher.emit_to(sub, event.name, body, headers)
                sent += 1
        return sent

    def _matches_jql(self, site: Site, text: str, event: IssueEvent) -> bool:
        if not text.strip():
            return True
        ctx = jql.Context(site, event.at, zone(site.settings.time_zone), None)
        compiled = jql.compile_text(text, ctx)
        return compiled.predicate(site.issues[event.issue_id])

    def _admin_wants(self, site: Site, hook: AdminWebhook, event: IssueEvent) -> bool:
        if not hook.enabled or (hook.events and event.name not in hook.events):
            return False
        return self._matches_jql(site, hook.jql, event)

    def _dynamic_wants(self, site: Site, hook: DynamicWebhook, event: IssueEvent) -> bool:
        if event.name not in hook.events or hook.expires < event.at:
            return False
        if hook.field_ids is not None and event.name == "jira:issue_updated":
            changed = {i.field_id for i in (event.changelog.items if event.changelog else [])}
            if not changed & set(hook.field_ids):
                return False
        return self._matches_jql(site, hook.jql, event)

    @staticmethod
    def payload(site: Site, event: IssueEvent, view: View) -> dict[str, Any]:
        """The body Jira posts for ``event``: always the v2 representation, whatever clients use."""
        issue = site.issues[event.issue_id]
        body: dict[str, Any] = {"timestamp": epoch_ms(event.at), "webhookEvent": event.name}
        if event.name.startswith("comment_"):
            assert event.comment is not None
            body["comment"] = render.comment(site, event.comment, issue, view)
            body["issue"] = render.trimmed_issue(site, issue, view)
            return body
        body["issue_event_type_name"] = event.type_name
        body["user"] = render.user(site.users[event.actor], view)
        body["issue"] = render.webhook_issue(site, issue, view)
        if event.changelog is not None:
            body["changelog"] = {
                "id": event.changelog.id,
                "items": [render.change_item(i, webhook=True) for i in event.changelog.items],
            }
        if event.comment is not None:
            body["comment"] = render.comment(site, event.comment, issue, view)
        return body

    # -- REST representations ------------------------------------------------------------------------
    @staticmethod
    def admin_json(site: Site, hook: AdminWebhook, base_url: str) -> dict[str, Any]:
        user = site.users.get(hook.updated_by)
        return {
            "name": hook.name,
            "url": hook.url,
            "excludeBody": hook.exclude_body,
            "filters": {"issue-related-events-section": hook.jql},
            "events": list(hook.events),
            "enabled": hook.enabled,
            "self": f"{base_url}/rest/webhooks/1.0/webhook/{hook.id}",
            "lastUpdatedUser": hook.updated_by,
            "lastUpdatedDisplayName": user.display_name if user else hook.updated_by,
            "lastUpdated": epoch_ms(hook.updated_at),
        }

    @staticmethod
    def dynamic_json(hook: DynamicWebhook) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": hook.id,
            "jqlFilter": hook.jql,
            "events": list(hook.events),
            "expirationDate": epoch_ms(hook.expires),
            "url": hook.url,
        }
        if hook.field_ids is not None:
            data["fieldIdsFilter"] = list(hook.field_ids)
        return data
