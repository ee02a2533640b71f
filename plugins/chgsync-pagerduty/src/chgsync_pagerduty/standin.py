"""A PagerDuty Events API v2 stand-in: the change-events endpoint, checked like PagerDuty does.

Served on loopback (``chgsync emulate pagerduty``; tests build it directly). The Events API has no
auth header: the body's ``routing_key`` names the service and is the credential, so the stand-in
knows a set of integration keys, one per PagerDuty service (``secret`` is the first, named
"Default Service"; :meth:`PagerDutyStandIn.add_service` adds more). It answers:

- ``POST /v2/change/enqueue``: ``routing_key`` 32 letters and digits and known; ``payload`` an
  object with ``summary`` (required, non-blank, at most 1024 characters), optional ``source`` (a
  string), ``timestamp`` (ISO 8601; the stand-in also wants a zone, so an ambiguous time is caught
  in tests) and ``custom_details`` (an object); ``links`` a list of ``{"href": URL, "text"?}``;
  ``images`` a list of ``{"src": https URL, ...}``. Accepted: 202
  ``{"status": "success", "message": "Change event processed"}`` — no dedup key, no id.
  Refused: 400 ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``
  listing every problem (PagerDuty's own wording where known: "Length of 'routing_key' is
  incorrect (should be 32 characters)", "Invalid routing key"); a body that is not a JSON object
  gets PagerDuty's documented 400 ``{"status": "Unrecognized object", ...}``.
- Faults from :class:`chgsync.testing.emulator.Faults`: bursts of 5xx and outages (``{"status",
  "message"}``, the documented error shape) and 429 under a rate limit. PagerDuty documents no
  body and no ``Retry-After`` for a 429, so the stand-in sends neither advice by default
  (``send_retry_after = True`` adds the header, to test a sink that honours it).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from chgsync.errors import InputError, Problem
from chgsync.testing.emulator import Emulator

from .settings import key_problem

SUMMARY_LIMIT = 1024
CHANGE_PATH = "/v2/change/enqueue"
ACCEPTED = {"status": "success", "message": "Change event processed"}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$")


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _url(value: Any, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.netloc)


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 time with a zone (``2026-01-01T10:00:00.250Z``, ``…+0000``), or None."""
    if not _TIMESTAMP.match(value):
        return None
    text = value.replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads at most microseconds
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class PagerDutyStandIn(Emulator):
    product: ClassVar[str] = "pagerduty"
    secret_label: ClassVar[str] = "routing_key"
    default_user: ClassVar[str] = "chgsync"
    default_secret: ClassVar[str] = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

    send_retry_after: bool = False

    def __init__(self, **kwargs: Any) -> None:
        secret = kwargs.get("secret")
        problem = key_problem(secret) if secret is not None else None
        if problem:
            raise InputError(None, Problem("token", f"the PagerDuty stand-in's routing key: {problem}."))
        super().__init__(**kwargs)

    # -- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.services: dict[str, str] = {self.secret: "Default Service"}  # routing key -> service name

    def add_service(self, name: str, routing_key: str | None = None) -> str:
        """Make a PagerDuty service with an Events API v2 integration; return its integration key."""
        key = routing_key or uuid.uuid4().hex
        problem = key_problem(key)
        if problem:
            raise InputError(None, Problem(f"services.{name}", f"{problem}."))
        with self.lock:
            self.services[key] = name
        return key

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"services": {"Checkout": "<32-character integration key>", ...}}``."""
        unknown = sorted(set(data) - {"services"})
        if unknown:
            raise InputError(None, Problem(unknown[0], "unknown seed section for the PagerDuty stand-in; "
                                           "expected 'services'."))
        for name, key in dict(data.get("services") or {}).items():
            self.add_service(str(name), str(key))

    def events_for(self, service: str) -> list[dict[str, Any]]:
        """Accepted change events of the PagerDuty service named ``service``, oldest first."""
        return [e for e in self.events if e["service"] == service]

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["endpoint"] = f"{self.base_url}{CHANGE_PATH}"
        return info

    # -- auth and errors ---------------------------------------------------------------------------
    def public_paths(self) -> tuple[str, ...]:
        # No auth header anywhere: the routing key in the body is the credential, checked per request.
        # (The emulator's own /_emulator/ control endpoints still want basic auth.)
        return ("/",)

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        extra = dict(headers or {})
        if status == 429 and not self.send_retry_after:
            extra.pop("Retry-After", None)
        try:
            name = HTTPStatus(status).phrase
        except ValueError:
            name = "Error"
        if status == 429:
            name = "Request Limit Exceeded"  # the words of PagerDuty's rate-limit page
        resp = _json({"status": name, "message": message}, status)
        resp.headers.update(extra)
        return resp

    def invalid(self, errors: list[str]) -> Response:
        return _json({"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400)

    # -- routes ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        if route == ("POST", CHANGE_PATH):
            return self._change_event(request)
        if route == ("POST", "/v2/enqueue"):
            return self.error_response(404, "This stand-in serves change events only: POST /v2/change/enqueue.")
        return self.error_response(404, f"Not found: {request.method} {request.path}")

    def _change_event(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _json({"status": "Unrecognized object", "message": "Event object format is unrecognized",
                          "errors": ["JSON parse error"]}, 400)
        problems = self.problems(body)
        if problems:
            return self.invalid(problems)
        self.events.append({
            "routing_key": body["routing_key"], "service": self.services[body["routing_key"]],
            "payload": body["payload"], "links": body.get("links", []), "images": body.get("images", []),
            "received_at": self.clock().isoformat(),
        })
        return _json(ACCEPTED, 202)

    def problems(self, body: Mapping[str, Any]) -> list[str]:
        return self._routing_key_problems(body.get("routing_key")) + self._payload_problems(body.get("payload")) \
            + self._list_problems(body, "links", "href") + self._list_problems(body, "images", "src")

    def _routing_key_problems(self, key: Any) -> list[str]:
        if not isinstance(key, str) or not key:
            return ["'routing_key' is required and must be a string."]
        problems = []
        if len(key) != 32:
            problems.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not key.isascii() or not key.isalnum():
            problems.append("'routing_key' cannot contain non-alphanumeric characters.")
        if not problems and key not in self.services:
            problems.append("Invalid routing key")
        return problems

    def _payload_problems(self, payload: Any) -> list[str]:
        if not isinstance(payload, dict):
            return ["'payload' is required and must be an object."]
        problems = []
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problems.append("'payload.summary' is required and must be a non-blank string.")
        elif len(summary) > SUMMARY_LIMIT:
            problems.append(f"Length of 'payload.summary' is incorrect (should be at most {SUMMARY_LIMIT} "
                            f"characters, is {len(summary)})")
        if "source" in payload and not isinstance(payload["source"], str):
            problems.append("'payload.source' must be a string.")
        when = payload.get("timestamp")
        if when is not None and (not isinstance(when, str) or parse_timestamp(when) is None):
            problems.append(f"'payload.timestamp' must be an ISO 8601 time with a zone, got {when!r}.")
        if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
            problems.append("'payload.custom_details' must be an object.")
        return problems

    def _list_problems(self, body: Mapping[str, Any], name: str, required: str) -> list[str]:
        items = body.get(name)
        if items is None:
            return []
        if not isinstance(items, list):
            return [f"'{name}' must be a list of objects."]
        problems = []
        schemes = ("https",) if name == "images" else ("http", "https")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(f"'{name}[{i}]' must be an object.")
                continue
            if not _url(item.get(required), schemes):
                problems.append(f"'{name}[{i}].{required}' is required and must be an absolute "
                                f"{' or '.join(schemes)} URL.")
            for optional in ("text", "alt", "href") if name == "images" else ("text",):
                if optional in item and optional != required and not isinstance(item[optional], str):
                    problems.append(f"'{name}[{i}].{optional}' must be a string.")
        return problems
