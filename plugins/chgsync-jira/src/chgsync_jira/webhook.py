"""Jira webhook deliveries: verify, parse, and say which issue may have changed.

A delivery is a hint, not the truth (deliveries come late, twice, or out of order); the daemon
re-reads the issue before acting. What must be right here is refusing what cannot be used:

- a secret is configured and ``X-Hub-Signature: sha256=<hex>`` is missing or does not match the HMAC
  of the raw body (checked before parsing, in constant time) → 401;
- the body is not a JSON object, names no issue, or is an event chgsync does not know → 400.

``X-Atlassian-Webhook-Identifier`` stays the same across Jira's retries, so it is the delivery id
(a SHA-256 of the body when a proxy dropped the header).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from chgsync.adapter import RemoteEvent, RemoteRef
from chgsync.errors import WebhookRejected

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
COMMENT_EVENTS = frozenset({"comment_created", "comment_updated", "comment_deleted"})
KNOWN_EVENTS = ISSUE_EVENTS | COMMENT_EVENTS


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def actor_of(user: Any) -> str:
    """Who acted: the e-mail address when Jira shows it, else the display name, else the account id."""
    if not isinstance(user, Mapping):
        return ""
    for key in ("emailAddress", "displayName", "accountId", "name"):
        if user.get(key):
            return str(user[key])
    return ""


def parse_delivery(system: str, base_url: str, headers: Mapping[str, str], body: bytes,
                   secret: str | None, project: str | None = None) -> RemoteEvent:
    """The :class:`RemoteEvent` of one delivery, or :class:`WebhookRejected` saying why not."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if secret:
        signature = lowered.get("x-hub-signature")
        if signature is None:
            raise WebhookRejected("The delivery has no X-Hub-Signature header, but a webhook secret is configured: "
                                  "set the same secret on the Jira webhook.", 401)
        if not signature_ok(body, signature, secret):
            raise WebhookRejected("The X-Hub-Signature does not match the body signed with the configured secret.",
                                  401)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(f"The body is not JSON ({exc}); a Jira webhook posts a JSON object "
                              "(is 'Exclude body' ticked on the webhook?).", 400) from None
    if not isinstance(data, dict):
        raise WebhookRejected(f"The body is a JSON {type(data).__name__}, not the object a Jira webhook posts.", 400)
    event = data.get("webhookEvent")
    if event not in KNOWN_EVENTS:
        raise WebhookRejected(f"webhookEvent {event!r} is not an event chgsync handles; expected one of: "
                              f"{', '.join(sorted(KNOWN_EVENTS))}.", 400)
    issue = data.get("issue")
    if not isinstance(issue, dict) or not issue.get("id") or not issue.get("key"):
        raise WebhookRejected(f"The {event} delivery names no issue (issue.id and issue.key are required).", 400)
    key = str(issue["key"])
    fields = issue.get("fields")
    in_project = fields.get("project") if isinstance(fields, dict) else None
    found = in_project.get("key") if isinstance(in_project, dict) else None
    if project and found and str(found).casefold() != project.casefold():
        raise WebhookRejected(f"{key} is in project {found}, not {project}, which this adapter's mapping "
                              "covers; filter the webhook by project.", 400)
    delivery = lowered.get("x-atlassian-webhook-identifier") or "sha256:" + hashlib.sha256(body).hexdigest()
    actor = actor_of(data.get("user")) or actor_of((data.get("comment") or {}).get("updateAuthor")
                                                   if isinstance(data.get("comment"), dict) else None)
    ref = RemoteRef(system=system, id=str(issue["id"]), key=key, url=f"{base_url}/browse/{key}")
    return RemoteEvent(system=system, delivery_id=delivery, kind=str(event), ref=ref, actor=actor, raw=data)


def changed_paths(fields_by_remote: Mapping[str, list[str]], state_keys: set[str],
                  data: Mapping[str, Any]) -> set[str] | None:
    """What an ``issue_updated`` delivery's changelog touched: canonical paths, and ``state``.

    Items are matched on ``fieldId``: ``field`` is the display name for custom fields ("Backout
    plan"), which people rename and translate. None when the body cannot say (no changelog, or an
    item without ``fieldId`` as very old payloads have): then anything may have changed.
    """
    changelog = data.get("changelog")
    items = changelog.get("items") if isinstance(changelog, Mapping) else None
    if not isinstance(items, list):
        return None
    out: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping) or not item.get("fieldId"):
            return None
        fid = str(item["fieldId"])
        out.update(fields_by_remote.get(fid, []))
        if fid in state_keys:
            out.add("state")
    return out
