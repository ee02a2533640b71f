"""A loopback stand-in for Grafana's annotations API, checked and answered the way Grafana does.

Served by ``chgsync emulate grafana``; tests build it directly. It answers:

- ``POST /api/annotations``: ``text`` required (400 ``Failed to save annotation``), ``time`` and
  ``timeEnd`` integer epoch milliseconds (a wrong type is 400 ``bad request data``; ``time`` 0 means
  now; an end before the start is swapped), ``tags`` a list of strings, ``dashboardUID``/``panelId``
  optional. An unknown ``dashboardUID`` is ignored, as Grafana does, leaving an organisation
  annotation. 200 ``{"message": "Annotation added", "id": N}``.
- ``GET /api/annotations``: ``tags`` (repeated: all must match, or any with ``matchAny=true``),
  ``from``/``to`` (overlap with the annotation's span), ``type``, ``dashboardUID``, ``dashboardId``,
  ``panelId``, ``userId``, ``limit`` (default 100); newest end first.
- ``GET``/``PATCH``/``PUT``/``DELETE /api/annotations/{id}``, with 404 ``Annotation not found``.
  ``PATCH`` changes only what it is given (``text``, ``tags``, ``time``, ``timeEnd``); ``PUT``
  replaces text and tags.
- ``GET /api/health`` without authentication.

Tags are stored as Grafana stores them: split at ``:`` into key and value, keeping only the first
two parts, trimmed, duplicates dropped. Tags longer than ``tags_length`` as a JSON list are 400
``Tags length exceeds the maximum allowed.``; a key or value over 100 characters is the database's
refusal, a 500.

Authentication is a service account token, ``Authorization: Bearer <token>`` (or basic auth as user
``api_key``); a missing one is 401 ``Unauthorized``, a wrong one 401 ``Invalid API key``, and an
``X-Grafana-Org-Id`` other than the token's organisation 401 ``API key does not belong to the requested
organization``. Errors are JSON ``{"message": ...}``, with ``error`` added where Grafana's development
builds add it and ``messageId``/``statusCode`` where Grafana's newer error type answers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from chgsync.testing.emulator import Emulator

TAG_PART_LIMIT = 100
DEFAULT_TAGS_LENGTH = 500
DEFAULT_DASHBOARDS: dict[str, int] = {"chgsync-changes": 1}
_ITEM = re.compile(r"^/api/annotations/([^/]+)$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GO_TYPES = {int: "int64", str: "string", list: "[]string", dict: "map[string]interface {}"}


class BadRequest(Exception):
    """A body Go's JSON binding would refuse: Grafana answers 400 ``bad request data``."""


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=dict(headers or {}), mimetype="application/json")


def _error(status: int, message: str, error: str | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if error:
        body["error"] = error
    return _json(body, status)


def _errutil(status: int, message_id: str, message: str) -> Response:
    """The body of Grafana's newer errors (``errutil``): public message, id and status."""
    return _json({"message": message, "messageId": message_id, "statusCode": status, "traceID": ""}, status)


def _query_int(request: Request, name: str) -> int:
    """Like Grafana's ``QueryInt64``: a missing or unparsable value reads as 0."""
    try:
        return int(request.args.get(name, "0"))
    except ValueError:
        return 0


def parse_tags(tags: list[str] | None) -> list[tuple[str, str]]:
    """Tags as Grafana's ``ParseTagPairs`` reads them: split at every ':', first two parts kept."""
    pairs: list[tuple[str, str]] = []
    for tag in tags or []:
        parts = tag.split(":")
        key = parts[0].strip(" ")
        value = parts[1].strip(" ") if len(parts) > 1 else ""
        if key and (key, value) not in pairs:
            pairs.append((key, value))
    return pairs


def join_tags(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{k}:{v}" if v else k for k, v in pairs]


def tags_length(tags: list[str]) -> int:
    items = [len(t.encode()) + 2 for t in tags]
    return 2 + sum(items) + max(0, len(items) - 1)


class GrafanaStandIn(Emulator):
    """Grafana's annotations for one service account token in one organisation (``org_id``)."""

    product: ClassVar[str] = "grafana"
    secret_label: ClassVar[str] = "token"
    default_user: ClassVar[str] = "sa-1-chgsync"
    default_secret: ClassVar[str] = "glsa_chgsyncStandInTokenAbCdEfGh0123456_5f0c2a9e"

    def __init__(self, *, org_id: int = 1, tags_length: int = DEFAULT_TAGS_LENGTH, **kwargs: Any) -> None:
        self.org_id = org_id
        self.tags_length = tags_length
        self._why = threading.local()  # why the current request's authentication failed
        super().__init__(**kwargs)

    # -- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.annotations: dict[int, dict[str, Any]] = {}
        self.dashboards: dict[str, int] = dict(DEFAULT_DASHBOARDS)
        self.service_account_id = 2
        self._next_id = 1

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"dashboards": {uid: id}, "annotations": [POST bodies, optionally with "id" and "orgId"]}``."""
        self.dashboards.update({str(uid): int(i) for uid, i in dict(data.get("dashboards", {})).items()})
        for body in data.get("annotations", []):
            self._store(dict(body), int(body.get("orgId", self.org_id)), annotation_id=body.get("id"))

    def annotation(self, annotation_id: int | str) -> dict[str, Any] | None:
        """One stored annotation as ``GET /api/annotations/{id}`` shows it."""
        item = self.annotations.get(int(annotation_id))
        return self._dto(item) if item is not None else None

    def annotations_tagged(self, *tags: str, org_id: int | None = None) -> list[dict[str, Any]]:
        """Stored annotations of ``org_id`` (default: the token's) carrying every one of ``tags``."""
        wanted = parse_tags(list(tags))
        org = self.org_id if org_id is None else org_id
        return [self._dto(a) for a in sorted(self.annotations.values(), key=lambda a: a["id"])
                if a["org_id"] == org and all(p in a["pairs"] for p in wanted)]

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "org_id": str(self.org_id)}

    # -- auth and errors ---------------------------------------------------------------------------
    def public_paths(self) -> tuple[str, ...]:
        return ("/api/health",)

    def authenticated_user(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = ""
        if header.startswith("Bearer "):
            token = header[len("Bearer "):]
        elif header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[len("Basic "):]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            token = password if user == "api_key" else ""  # Grafana takes a token as basic auth only so
        if not token:
            self._why.reason = "missing"
            return None
        if not hmac.compare_digest(token.encode(), self.secret.encode()):
            self._why.reason = "invalid"
            return None
        org = request.headers.get("X-Grafana-Org-Id", "")
        if org.strip().lstrip("-").isdigit() and int(org) not in (0, self.org_id):
            self._why.reason = "org"
            return None
        self._why.reason = None
        return self.user

    def unauthorized(self) -> Response:
        reason = getattr(self._why, "reason", "missing")
        if reason == "invalid":
            return _errutil(401, "api-key.invalid", "Invalid API key")
        if reason == "org":
            return _errutil(401, "api-key.organization-mismatch",
                            "API key does not belong to the requested organization")
        return _errutil(401, "auth.unauthorized", "Unauthorized")

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        return _json({"message": message}, status, headers)

    # -- routes ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if (request.method, path) == ("GET", "/api/health"):
            return _json({"commit": "stand-in", "database": "ok", "version": "12.0.0"})
        if path == "/api/annotations":
            if request.method == "GET":
                return self._find(request)
            if request.method == "POST":
                return self._post(request)
            return _error(405, "Method Not Allowed")
        match = _ITEM.match(path)
        if match:
            handler = {"GET": self._get_one, "PATCH": self._patch, "PUT": self._put,
                       "DELETE": self._delete}.get(request.method)
            if handler is None:
                return _error(405, "Method Not Allowed")
            try:
                annotation_id = int(match.group(1))
            except ValueError:
                return _error(400, "annotationId is invalid", f'strconv.ParseInt: parsing "{match.group(1)}": '
                              "invalid syntax")
            item = self.annotations.get(annotation_id)
            if item is None or item["org_id"] != self.org_id:
                return _error(404, "Annotation not found")
            return handler(request, item)
        return _error(404, "Not found")

    def _body(self, request: Request, fields: Mapping[str, type]) -> dict[str, Any]:
        """The JSON body with each known field checked for the Go type Grafana binds it to."""
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise BadRequest(f"invalid character in JSON body: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into Go value of type dtos.Cmd")
        for name, kind in fields.items():
            value = body.get(name)
            if value is None:
                continue
            ok = isinstance(value, kind) and not isinstance(value, bool)
            if kind is list:
                ok = ok and all(isinstance(t, str) for t in value)
            if not ok:
                raise BadRequest(f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                                 f".{name} of type {_GO_TYPES[kind]}")
        return body

    def _post(self, request: Request) -> Response:
        try:
            body = self._body(request, {"dashboardUID": str, "dashboardId": int, "panelId": int, "time": int,
                                        "timeEnd": int, "text": str, "tags": list, "data": dict})
        except BadRequest as exc:
            return _error(400, "bad request data", str(exc))
        if not body.get("text"):
            return _error(400, "Failed to save annotation", "text field should not be empty")
        problem = self._tag_problem(join_tags(parse_tags(body.get("tags"))))
        if problem is not None:
            return problem
        item = self._store(body, self.org_id)
        return _json({"message": "Annotation added", "id": item["id"]})

    def _patch(self, request: Request, item: dict[str, Any]) -> Response:
        try:
            body = self._body(request, {"time": int, "timeEnd": int, "text": str, "tags": list, "data": dict})
        except BadRequest as exc:
            return _error(400, "bad request data", str(exc))
        changed = dict(item)
        if body.get("tags") is not None:
            changed["pairs"] = parse_tags(body["tags"])
        if body.get("text"):
            changed["text"] = body["text"]
        if body.get("time", 0) > 0:
            changed["time"] = body["time"]
        if body.get("timeEnd", 0) > 0:
            changed["time_end"] = body["timeEnd"]
        if body.get("data") is not None:
            changed["data"] = body["data"]
        return self._save(item, changed, "Annotation patched")

    def _put(self, request: Request, item: dict[str, Any]) -> Response:
        try:
            body = self._body(request, {"time": int, "timeEnd": int, "text": str, "tags": list, "data": dict})
        except BadRequest as exc:
            return _error(400, "bad request data", str(exc))
        changed = {**item, "text": body.get("text") or "", "pairs": parse_tags(body.get("tags"))}
        if body.get("time"):
            changed["time"] = body["time"]
        if body.get("timeEnd"):
            changed["time_end"] = body["timeEnd"]
        if body.get("data") is not None:
            changed["data"] = body["data"]
        return self._save(item, changed, "Annotation updated")

    def _save(self, item: dict[str, Any], changed: dict[str, Any], message: str) -> Response:
        problem = self._tag_problem(join_tags(changed["pairs"]))
        if problem is not None:
            return problem
        if changed["time_end"] < changed["time"]:
            changed["time"], changed["time_end"] = changed["time_end"], changed["time"]
        changed["updated"] = self._now_ms()
        item.update(changed)
        return _json({"message": message})

    def _get_one(self, request: Request, item: dict[str, Any]) -> Response:
        return _json(self._dto(item))

    def _delete(self, request: Request, item: dict[str, Any]) -> Response:
        del self.annotations[item["id"]]
        return _json({"message": "Annotation deleted"})

    def _find(self, request: Request) -> Response:
        items = [a for a in self.annotations.values() if a["org_id"] == self.org_id]
        uid = request.args.get("dashboardUID", "")
        dashboard_id = _query_int(request, "dashboardId")
        if uid:
            if uid not in self.dashboards:
                return _error(400, "Invalid dashboard UID in annotation request", "Dashboard not found")
            dashboard_id = self.dashboards[uid]
        for name, value in (("dashboard_id", dashboard_id), ("panel_id", _query_int(request, "panelId")),
                            ("user_id", _query_int(request, "userId"))):
            if value:
                items = [a for a in items if a[name] == value]
        start, end = _query_int(request, "from"), _query_int(request, "to")
        if start > 0 and end > 0:
            items = [a for a in items if a["time"] <= end and a["time_end"] >= start]
        if request.args.get("type") == "alert":
            items = []  # the stand-in keeps no alert annotations
        wanted = parse_tags(request.args.getlist("tags"))
        if wanted:
            match_any = request.args.get("matchAny", "").lower() in ("true", "1")
            test = any if match_any else all
            items = [a for a in items if test(p in a["pairs"] for p in wanted)]
        items.sort(key=lambda a: (a["time_end"], a["time"]), reverse=True)
        limit = _query_int(request, "limit") or 100
        return _json([self._dto(a) for a in items[:limit]])

    # -- storage -----------------------------------------------------------------------------------
    def _tag_problem(self, tags: list[str]) -> Response | None:
        length = tags_length(tags)
        if length > self.tags_length:
            return _errutil(400, "annotations.tag-limit-exceeded", "Tags length exceeds the maximum allowed.")
        for tag in tags:
            key, _, value = tag.partition(":")
            if len(key) > TAG_PART_LIMIT or len(value) > TAG_PART_LIMIT:
                # Grafana's tag table holds 100 characters; the database refuses the row.
                return _error(500, "Failed to save annotation", f"value too long for tag {key!r}")
        return None

    def _now_ms(self) -> int:
        return (self.clock() - _EPOCH) // timedelta(milliseconds=1)

    def _store(self, body: Mapping[str, Any], org_id: int, annotation_id: int | None = None) -> dict[str, Any]:
        now = self._now_ms()
        start = body.get("time") or now
        end = body.get("timeEnd") or start
        start, end = min(start, end), max(start, end)
        uid = body.get("dashboardUID")
        dashboard_id = self.dashboards.get(uid, 0) if uid else int(body.get("dashboardId") or 0)
        new_id = int(annotation_id) if annotation_id is not None else self._next_id
        self._next_id = max(self._next_id, new_id + 1)
        item = {
            "id": new_id, "org_id": org_id, "dashboard_id": dashboard_id,
            "panel_id": int(body.get("panelId") or 0), "user_id": self.service_account_id,
            "time": start, "time_end": end, "text": body.get("text", ""),
            "pairs": parse_tags(body.get("tags")), "data": body.get("data") or {}, "created": now, "updated": now,
        }
        self.annotations[new_id] = item
        return item

    def _dto(self, item: Mapping[str, Any]) -> dict[str, Any]:
        uid = next((u for u, i in self.dashboards.items() if i == item["dashboard_id"]), None)
        return {
            "id": item["id"], "alertId": 0, "alertName": "", "dashboardId": item["dashboard_id"],
            "dashboardUID": uid if item["dashboard_id"] else None, "panelId": item["panel_id"],
            "userId": item["user_id"], "newState": "", "prevState": "", "created": item["created"],
            "updated": item["updated"], "time": item["time"], "timeEnd": item["time_end"], "text": item["text"],
            "tags": join_tags(item["pairs"]), "login": self.user, "email": "", "avatarUrl": "",
            "data": item["data"],
        }
