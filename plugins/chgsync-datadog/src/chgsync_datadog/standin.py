"""A Datadog API stand-in: the two intake endpoints the marker sink uses, checked like Datadog does.

Served on loopback (``chgsync emulate datadog``; tests build it directly) so the real
``datadog-api-client`` can be pointed at it with ``Configuration(host=...)``. It answers:

- ``POST /api/v1/events``: ``title`` and ``text`` required strings, ``text`` at most 4000
  characters, ``tags`` a list of strings, ``alert_type`` and ``priority`` from their enums,
  ``aggregation_key`` at most 100 characters, ``date_happened`` integer seconds no older than 18
  hours, ``related_event_id`` an integer. 202 ``{"status": "ok", "event": {..., "id", "id_str"}}``.
- ``POST /api/v2/dora/deployment``: ``{"data": {"attributes": {...}}}`` with ``service`` and
  integer ``started_at``/``finished_at`` (seconds, milliseconds or nanoseconds) required, ``id``
  16-128 characters of ``[A-Za-z0-9-_.:]``, ``env``/``version``/``team`` strings, ``custom_tags``
  at most 100 strings, ``git`` with both ``repository_url`` and ``commit_sha``. A deployment with a
  known ``id`` replaces the stored one. 200 ``{"data": {"id", "type": "dora_deployment"}}``.
- ``GET /api/v1/validate``: ``{"valid": true}`` for a good key.

Every request needs ``DD-API-KEY`` (the emulator's secret); without it: 403
``{"errors": ["Forbidden"]}``. Violations answer 400 ``{"errors": [...]}`` listing each one.
Emulated rate limiting answers 429 with Datadog's ``X-RateLimit-*`` headers (``Reset`` in seconds).
Datadog lower-cases tags; the stand-in stores them that way.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from chgsync.testing.emulator import Emulator

ALERT_TYPES = frozenset({"error", "warning", "info", "success", "user_update", "recommendation", "snapshot"})
PRIORITIES = frozenset({"normal", "low"})
DORA_ID = re.compile(r"^[A-Za-z0-9\-_.:]{16,128}$")
MAX_EVENT_AGE = timedelta(hours=18)
FIRST_EVENT_ID = 7_400_000_000_000_000_001  # Datadog event ids are large int64s


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _unix_ns(v: int) -> int | None:
    """Datadog reads DORA times as seconds, milliseconds or nanoseconds by their size."""
    if 0 < v < 10**11:
        return v * 10**9
    if 10**11 <= v < 10**14:
        return v * 10**6
    if 10**17 <= v < 10**20:
        return v
    return None


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


class DatadogStandIn(Emulator):
    product: ClassVar[str] = "datadog"
    secret_label: ClassVar[str] = "api_key"
    default_user: ClassVar[str] = "chgsync"
    default_secret: ClassVar[str] = "0123456789abcdef0123456789abcdef"

    # -- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.deployments: dict[str, dict[str, Any]] = {}
        self.deployment_posts: list[dict[str, Any]] = []  # every accepted POST, replaced ones too
        self._next_event = FIRST_EVENT_ID

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"events": [event bodies], "deployments": [attribute objects]}``, taken as if posted."""
        for body in data.get("events", []):
            self._store_event(dict(body))
        for attrs in data.get("deployments", []):
            self._store_deployment(dict(attrs))

    def events_tagged(self, *tags: str) -> list[dict[str, Any]]:
        """Stored events carrying every one of ``tags`` (compared lower-case, as Datadog does)."""
        wanted = {t.lower() for t in tags}
        return [e for e in self.events if wanted <= set(e.get("tags", []))]

    def deployments_tagged(self, *tags: str) -> list[dict[str, Any]]:
        """Stored deployments whose ``custom_tags`` (lower-case) include every one of ``tags``."""
        wanted = {t.lower() for t in tags}
        return [d for d in self.deployments.values() if wanted <= set(d.get("custom_tags", []))]

    # -- auth and errors ---------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        given = request.headers.get("DD-API-KEY", "")
        return self.user if given and hmac.compare_digest(given, self.secret) else None

    def unauthorized(self) -> Response:
        return self.error_response(403, "Forbidden")

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        resp = _json({"errors": [message]}, status)
        extra = dict(headers or {})
        if status == 429:
            # Datadog says when the window resets in its own headers, not Retry-After.
            reset = extra.pop("Retry-After", "1")
            extra.update({"X-RateLimit-Limit": "1000", "X-RateLimit-Period": "60", "X-RateLimit-Remaining": "0",
                          "X-RateLimit-Reset": reset, "X-RateLimit-Name": "events"})
        resp.headers.update(extra)
        return resp

    # -- routes ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        if route == ("POST", "/api/v1/events"):
            return self._post_event(request)
        if route == ("POST", "/api/v2/dora/deployment"):
            return self._post_deployment(request)
        if route == ("GET", "/api/v1/validate"):
            return _json({"valid": True}, 200)
        return self.error_response(404, f"Not found: {request.method} {request.path}")

    def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return self.error_response(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return self.error_response(400, "The request body must be a JSON object.")
        return body

    # v1 events ------------------------------------------------------------------------------------
    def _post_event(self, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        problems = self.event_problems(body)
        if problems:
            return _json({"errors": problems}, 400)
        return _json({"status": "ok", "event": self._store_event(body)}, 202)

    def event_problems(self, body: Mapping[str, Any]) -> list[str]:
        problems = []
        for name in ("title", "text"):
            if not isinstance(body.get(name), str):
                problems.append(f"Event '{name}' is required and must be a string.")
        if isinstance(body.get("text"), str) and len(body["text"]) > 4000:
            problems.append(f"Event 'text' is {len(body['text'])} characters; the limit is 4000.")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append("Event 'tags' must be a list of strings.")
        for name, allowed in (("alert_type", ALERT_TYPES), ("priority", PRIORITIES)):
            if name in body and body[name] not in allowed:
                problems.append(f"Event '{name}' must be one of {', '.join(sorted(allowed))}; got {body[name]!r}.")
        key = body.get("aggregation_key")
        if key is not None and (not isinstance(key, str) or len(key) > 100):
            problems.append("Event 'aggregation_key' must be a string of at most 100 characters.")
        for name in ("date_happened", "related_event_id"):
            if name in body and not _is_int(body[name]):
                problems.append(f"Event '{name}' must be an integer.")
        when = body.get("date_happened")
        if _is_int(when) and when < (self.clock() - MAX_EVENT_AGE).timestamp():
            problems.append("Event 'date_happened' is more than 18 hours in the past.")
        return problems

    def _store_event(self, body: dict[str, Any]) -> dict[str, Any]:
        event_id, self._next_event = self._next_event, self._next_event + 1
        event = {k: v for k, v in body.items() if v is not None}
        event.update({
            "id": event_id, "id_str": str(event_id),
            "tags": [t.lower() for t in body.get("tags") or []],
            "date_happened": body.get("date_happened") or int(self.clock().timestamp()),
            "url": f"{self.base_url if self._server is not None else ''}/event/event?id={event_id}",
        })
        self.events.append(event)
        return event

    # v2 DORA deployments --------------------------------------------------------------------------
    def _post_deployment(self, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        data = body.get("data")
        attrs = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attrs, dict):
            return _json({"errors": ["The body must be {\"data\": {\"attributes\": {...}}}."]}, 400)
        problems = self.deployment_problems(attrs)
        if problems:
            return _json({"errors": problems}, 400)
        stored = self._store_deployment(attrs)
        return _json({"data": {"id": stored["id"], "type": "dora_deployment"}}, 200)

    def deployment_problems(self, attrs: Mapping[str, Any]) -> list[str]:
        problems = []
        if not isinstance(attrs.get("service"), str) or not attrs["service"]:
            problems.append("'service' is required and must be a non-empty string.")
        for name in ("started_at", "finished_at"):
            value = attrs.get(name)
            if not _is_int(value):
                problems.append(f"'{name}' is required and must be an integer Unix time (s, ms or ns).")
            elif _unix_ns(value) is None:
                problems.append(f"'{name}' = {value} is not a Unix time in seconds, milliseconds or nanoseconds.")
        dep_id = attrs.get("id")
        if dep_id is not None and (not isinstance(dep_id, str) or not DORA_ID.match(dep_id)):
            problems.append("'id' must be 16-128 characters of letters, digits, '-', '_', '.' and ':'.")
        for name in ("env", "version", "team"):
            if name in attrs and not isinstance(attrs[name], str):
                problems.append(f"'{name}' must be a string.")
        tags = attrs.get("custom_tags")
        if tags is not None and (not isinstance(tags, list) or len(tags) > 100
                                 or not all(isinstance(t, str) for t in tags)):
            problems.append("'custom_tags' must be a list of at most 100 strings.")
        git = attrs.get("git")
        if git is not None and not (isinstance(git, dict) and isinstance(git.get("repository_url"), str)
                                    and isinstance(git.get("commit_sha"), str)):
            problems.append("'git' needs both 'repository_url' and 'commit_sha'.")
        return problems

    def _store_deployment(self, attrs: dict[str, Any]) -> dict[str, Any]:
        stored = dict(attrs)
        stored["id"] = attrs.get("id") or uuid.uuid4().hex
        stored["custom_tags"] = [t.lower() for t in attrs.get("custom_tags") or []]
        stored["started_at_ns"] = _unix_ns(int(attrs["started_at"]))
        stored["finished_at_ns"] = _unix_ns(int(attrs["finished_at"]))
        self.deployments[stored["id"]] = stored
        self.deployment_posts.append(stored)
        return stored
