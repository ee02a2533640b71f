"""Webhook registration through Jira's own APIs.

``/rest/webhooks/1.0/webhook`` is the admin webhook API an on-premises integration uses with an
API token (it is not in the platform OpenAPI description). ``/rest/api/{2,3}/webhook`` is the
dynamic webhook API, which Cloud reserves for Connect and OAuth 2.0 apps: a user with an API token
gets 403, unless the seed sets ``dynamicWebhooksForUsers: true`` to test app-style registrations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import jql
from ..errors import JiraError
from ..routing import NO_CONTENT, ApiRequest, Reply, route
from ..timefmt import epoch_ms, truncate_ms
from ..webhooks import (
    DYNAMIC_EVENTS,
    DYNAMIC_LIFETIME,
    KNOWN_EVENTS,
    AdminWebhook,
    DynamicWebhook,
    JiraWebhooks,
)

ADMIN_NOTE = "Admin webhook API (Jira's webhooks plugin), not part of the platform REST description."
APPS_ONLY = "Only Connect and OAuth 2.0 apps can use this operation."
JQL_SECTION = "issue-related-events-section"


def _check_jql(req: ApiRequest, text: str, field: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        jql.compile_text(text, jql.Context(req.site, req.emulator.clock(), req.view.tz, None))
    except JiraError as exc:
        return {field: "; ".join(exc.messages) or "The JQL filter is not valid."}
    return {}


def _admin_values(req: ApiRequest, body: Any, current: AdminWebhook | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, "The request body must be a JSON object.")
    errors: dict[str, str] = {}
    name = body.get("name", current.name if current else None)
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The webhook needs a name."
    url = body.get("url", current.url if current else None)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["url"] = "The webhook needs an http or https URL."
    events = body.get("events", current.events if current else [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        errors["events"] = "'events' must be a list of event names such as jira:issue_updated."
        events = []
    unknown = [e for e in events if e not in KNOWN_EVENTS]
    if unknown:
        errors["events"] = f"Unknown webhook events: {', '.join(unknown)}."
    filters = body.get("filters", {JQL_SECTION: current.jql} if current else {})
    if not isinstance(filters, dict) or not isinstance(filters.get(JQL_SECTION, ""), str):
        errors["filters"] = f"'filters' must be an object whose '{JQL_SECTION}' is a JQL string."
        filters = {}
    jql_text = filters.get(JQL_SECTION, "") or ""
    errors.update(_check_jql(req, jql_text, "filters"))
    flags = {}
    for key, default in (
        ("excludeBody", current.exclude_body if current else False),
        ("enabled", current.enabled if current else True),
    ):
        value = body.get(key, default)
        if not isinstance(value, bool):
            errors[key] = f"'{key}' must be true or false."
        flags[key] = value
    secret = body.get("secret", current.secret if current else None)
    if secret is not None and not isinstance(secret, str):
        errors["secret"] = "'secret' must be a string."
    if errors:
        raise JiraError(400, None, errors)
    return {
        "name": name,
        "url": url,
        "events": list(events),
        "jql": jql_text,
        "exclude_body": flags["excludeBody"],
        "enabled": flags["enabled"],
        "secret": secret,
    }


def _admin(req: ApiRequest, hook_id: str) -> AdminWebhook:
    hook = req.emulator.hooks.admin.get(int(hook_id)) if hook_id.isdigit() else None
    if hook is None:
        raise JiraError(404, f"No webhook with id {hook_id} exists.")
    return hook


def _now(req: ApiRequest) -> datetime:
    return truncate_ms(req.emulator.clock())


@route("/rest/webhooks/1.0/webhook", spec=None, note=ADMIN_NOTE)
def list_admin(req: ApiRequest) -> Reply:
    hooks = req.emulator.hooks
    return Reply([JiraWebhooks.admin_json(req.site, h, req.view.base_url) for h in hooks.admin.values()])


@route("/rest/webhooks/1.0/webhook", methods=("POST",), spec=None, note=ADMIN_NOTE)
def register_admin(req: ApiRequest) -> Reply:
    values = _admin_values(req, req.json(), None)
    hooks = req.emulator.hooks
    sub = hooks.subscribe(values["url"], values["secret"], values["name"])
    hook = AdminWebhook(
        hooks.next_id(), subscription=sub.id, updated_by=req.actor, updated_at=_now(req), **values
    )
    hooks.admin[hook.id] = hook
    return Reply(JiraWebhooks.admin_json(req.site, hook, req.view.base_url), 201)


@route("/rest/webhooks/1.0/webhook/<hook_id>", spec=None, note=ADMIN_NOTE)
def get_admin(req: ApiRequest, hook_id: str) -> Reply:
    return Reply(JiraWebhooks.admin_json(req.site, _admin(req, hook_id), req.view.base_url))


@route("/rest/webhooks/1.0/webhook/<hook_id>", methods=("PUT",), spec=None, note=ADMIN_NOTE)
def update_admin(req: ApiRequest, hook_id: str) -> Reply:
    hook = _admin(req, hook_id)
    values = _admin_values(req, req.json(), hook)
    hooks = req.emulator.hooks
    if values["url"] != hook.url or values["secret"] != hook.secret:
        hooks.dispatcher.unsubscribe(hook.subscription)
        hook.subscription = hooks.subscribe(values["url"], values["secret"], values["name"]).id
    for key, value in values.items():
        setattr(hook, key, value)
    hook.updated_by, hook.updated_at = req.actor, _now(req)
    return Reply(JiraWebhooks.admin_json(req.site, hook, req.view.base_url))


@route("/rest/webhooks/1.0/webhook/<hook_id>", methods=("DELETE",), spec=None, note=ADMIN_NOTE)
def delete_admin(req: ApiRequest, hook_id: str) -> Reply:
    hook = _admin(req, hook_id)
    req.emulator.hooks.dispatcher.unsubscribe(hook.subscription)
    del req.emulator.hooks.admin[hook.id]
    return Reply(None, NO_CONTENT)


# -- dynamic webhooks ----------------------------------------------------------------------------------
def _apps_only(req: ApiRequest) -> None:
    if not req.site.settings.dynamic_webhooks_for_users:
        raise JiraError(403, APPS_ONLY)


def _ids(req: ApiRequest) -> list[int]:
    body = req.json()
    ids = body.get("webhookIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise JiraError(400, None, {"webhookIds": "'webhookIds' must be a list of webhook ids."})
    return ids


@route("/rest/api/<ver:version>/webhook", spec="/rest/api/3/webhook")
def list_dynamic(req: ApiRequest) -> Reply:
    _apps_only(req)
    start = req.arg_int("startAt", 0)
    size = req.arg_int("maxResults", 100, minimum=1)
    hooks = list(req.emulator.hooks.dynamic.values())
    page = hooks[start : start + size]
    return Reply(
        {
            "isLast": start + size >= len(hooks),
            "maxResults": size,
            "startAt": start,
            "total": len(hooks),
            "values": [JiraWebhooks.dynamic_json(h) for h in page],
        }
    )


@route("/rest/api/<ver:version>/webhook", methods=("POST",), spec="/rest/api/3/webhook")
def register_dynamic(req: ApiRequest) -> Reply:
    _apps_only(req)
    body = req.json()
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("url"), str)
        or not isinstance(body.get("webhooks"), list)
    ):
        raise JiraError(400, None, {"webhooks": "Specify 'url' and a list of 'webhooks'."})
    hooks = req.emulator.hooks
    results: list[dict[str, Any]] = []
    for item in body["webhooks"]:
        problems: list[str] = []
        if not isinstance(item, dict):
            results.append({"errors": ["Each webhook must be an object with 'events' and 'jqlFilter'."]})
            continue
        events = item.get("events")
        if not isinstance(events, list) or not events or any(e not in DYNAMIC_EVENTS for e in events):
            problems.append("'events' must list supported events such as jira:issue_updated.")
        jql_text = item.get("jqlFilter")
        if not isinstance(jql_text, str):
            problems.append("'jqlFilter' is required.")
        else:
            problems.extend(_check_jql(req, jql_text, "jqlFilter").values())
        field_ids = item.get("fieldIdsFilter")
        if field_ids is not None and not (
            isinstance(field_ids, list) and all(isinstance(f, str) for f in field_ids)
        ):
            problems.append("'fieldIdsFilter' must be a list of field ids.")
        if problems:
            results.append({"errors": problems})
            continue
        sub = hooks.subscribe(body["url"], None, "dynamic webhook")
        hook = DynamicWebhook(
            hooks.next_id(),
            body["url"],
            [str(e) for e in events or []],
            str(jql_text),
            field_ids,
            _now(req) + DYNAMIC_LIFETIME,
            sub.id,
        )
        hooks.dynamic[hook.id] = hook
        results.append({"createdWebhookId": hook.id})
    return Reply({"webhookRegistrationResult": results})


@route("/rest/api/<ver:version>/webhook", methods=("DELETE",), spec="/rest/api/3/webhook")
def delete_dynamic(req: ApiRequest) -> Reply:
    _apps_only(req)
    hooks = req.emulator.hooks
    for hook_id in _ids(req):
        hook = hooks.dynamic.pop(hook_id, None)
        if hook is not None:
            hooks.dispatcher.unsubscribe(hook.subscription)
    return Reply(None, 202)


@route("/rest/api/<ver:version>/webhook/refresh", methods=("PUT",), spec="/rest/api/3/webhook/refresh")
def refresh_dynamic(req: ApiRequest) -> Reply:
    _apps_only(req)
    expires = _now(req) + DYNAMIC_LIFETIME
    for hook_id in _ids(req):
        hook = req.emulator.hooks.dynamic.get(hook_id)
        if hook is not None:
            hook.expires = expires
    return Reply({"expirationDate": epoch_ms(expires)})


@route("/rest/api/<ver:version>/webhook/failed", spec="/rest/api/3/webhook/failed")
def failed_dynamic(req: ApiRequest) -> Reply:
    _apps_only(req)
    size = req.arg_int("maxResults", 100, minimum=1)
    urls = {h.url for h in req.emulator.hooks.dynamic.values()}
    failed = [r for r in list(req.emulator.webhooks.records) if r.outcome == "failed" and r.url in urls]
    now = epoch_ms(_now(req))
    return Reply(
        {
            "maxResults": size,
            "values": [
                {
                    "id": r.headers.get("X-Atlassian-Webhook-Identifier", str(n)),
                    "body": r.body.decode(),
                    "url": r.url,
                    "failureTime": now,
                }
                for n, r in enumerate(failed[:size])
            ],
        }
    )
