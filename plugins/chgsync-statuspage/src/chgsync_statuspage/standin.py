"""A loopback stand-in for Atlassian Statuspage's Manage API (``https://api.statuspage.io/v1``).

Served by ``chgsync emulate statuspage``; tests build it directly. Paths are the real ones under
``/v1`` (a ``.json`` suffix is accepted, as Statuspage accepts it):

- ``GET /v1/pages/{page_id}/components`` (paginated: ``page``, ``per_page`` ≤ 100),
  ``GET``/``PATCH`` ``/v1/pages/{page_id}/components/{id}`` with ``{"component": {"status"}}``;
- ``GET /v1/pages/{page_id}/incidents`` (``q``, ``limit``, ``page``), ``.../incidents/unresolved``
  (paginated), ``POST .../incidents`` (201), ``GET``/``PATCH`` ``.../incidents/{id}``.

Incidents behave like Statuspage's: creating one records its first incident update, and a PATCH
with a ``body`` or a new ``status`` appends another (the list is newest first, as the API returns
it); ``components`` ``{id: status}`` changes the page's components and is recorded on the update as
``affected_components``; resolving does not touch components unless told to. ``metadata`` must be
an object whose top-level values are objects; a PATCH merges it at the top level.

Auth is ``Authorization: OAuth <key>`` or ``?api_key=`` (the emulator's secret). Answers: 401
``{"error": "Could not authenticate"}``, 404 for an unknown page, incident or component, 400 for a
body that is not an ``incident`` object, 422 ``{"error": "..."}`` naming every invalid value
(statuses, component ids and statuses, name, body length, metadata shape). Emulated rate limiting
answers 429 with ``Retry-After`` (``rate_limit_status = 420`` makes it answer 420, which Statuspage
also uses); ``lose_next_answer()`` performs a request and then drops the connection, like an answer
lost on the way back. Bodies may be JSON or form-encoded (``incident[name]=...``).
"""

from __future__ import annotations

import hmac
import json
import random
import re
import socket
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from chgsync.errors import InputError
from chgsync.testing.emulator import Emulator

REALTIME = ("investigating", "identified", "monitoring", "resolved")
SCHEDULED = ("scheduled", "in_progress", "verifying", "completed")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")
NAME_MAX = 255
BODY_MAX = 25_000
PER_PAGE_MAX = 100
DEFAULT_PAGE_ID = "chgsyncpage1"
DEFAULT_COMPONENTS = ("Checkout", "Payments", "Search", "Public API")

_IMPACT_OF = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor"}
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_PATH = re.compile(r"^/v1/pages/(?P<page>[^/]+)(?P<rest>(?:/[^/]+)*)/?$")
_NOT_FOUND = "The requested resource could not be found."
_FLAGS = frozenset({"deliver_notifications", "backfilled", "scheduled_remind_prior", "scheduled_auto_in_progress",
                    "scheduled_auto_completed", "auto_transition_to_maintenance_state",
                    "auto_transition_to_operational_state"})


class Refusal(Exception):
    """An error answer: ``status`` and Statuspage's ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass
class Component:
    id: str
    page_id: str
    name: str
    status: str = "operational"
    position: int = 1
    group: bool = False
    description: str | None = None
    created_at: str = ""
    updated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "page_id": self.page_id, "group_id": None, "created_at": self.created_at,
                "updated_at": self.updated_at, "group": self.group, "name": self.name,
                "description": self.description, "position": self.position, "status": self.status,
                "showcase": True, "only_show_if_degraded": False, "start_date": None,
                "automation_email": f"component+{self.id}@notifications.statuspage.io"}


@dataclass
class Page:
    id: str
    name: str
    components: dict[str, Component] = field(default_factory=dict)


@dataclass
class IncidentUpdate:
    id: str
    incident_id: str
    status: str
    body: str
    created_at: str
    affected_components: list[dict[str, Any]]
    deliver_notifications: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "incident_id": self.incident_id, "status": self.status, "body": self.body,
                "created_at": self.created_at, "updated_at": self.created_at, "display_at": self.created_at,
                "affected_components": self.affected_components or None,
                "deliver_notifications": self.deliver_notifications, "custom_tweet": None, "tweet_id": None}


@dataclass
class Incident:
    id: str
    page_id: str
    name: str
    status: str
    created_at: str
    updated_at: str
    component_ids: list[str] = field(default_factory=list)
    updates: list[IncidentUpdate] = field(default_factory=list)  # oldest first here; the API shows newest first
    metadata: dict[str, Any] = field(default_factory=dict)
    impact_override: str | None = None
    monitoring_at: str | None = None
    resolved_at: str | None = None
    scheduled_for: str | None = None
    scheduled_until: str | None = None

    @property
    def realtime(self) -> bool:
        return self.status in REALTIME

    @property
    def unresolved(self) -> bool:
        return self.realtime and self.status != "resolved"


@dataclass(frozen=True)
class Call:
    """One API call as received: method, path, decoded body and how it was encoded."""

    method: str
    path: str
    body: Any
    content_type: str


class StatuspageStandIn(Emulator):
    """Statuspage's Manage API for one organisation. The API key it accepts is ``secret``."""

    product: ClassVar[str] = "statuspage"
    secret_label: ClassVar[str] = "api_key"
    default_user: ClassVar[str] = "chgsync"
    default_secret: ClassVar[str] = "chgsync-standin-statuspage-key"

    # -- state -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.pages: dict[str, Page] = {}
        self.incidents: dict[str, Incident] = {}
        self.calls: list[Call] = []
        self.rate_limit_status = 429  # 420 to answer emulated rate limits the other way Statuspage does
        self._lose: list[str] = []
        self._rng = random.Random(20240611)
        self.add_page(DEFAULT_PAGE_ID, "chgsync stand-in", components=DEFAULT_COMPONENTS)

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"pages": [{"id": "...", "name": "...", "components": ["Checkout", {"name", "id", "status"}]}]}``."""
        pages = data.get("pages", [])
        if not isinstance(pages, list):
            raise InputError("seed", "'pages' must be a list of {id, name, components}.")
        for entry in pages:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise InputError("seed", f"page entry {entry!r} needs at least an 'id'.")
            self.add_page(entry["id"], str(entry.get("name", entry["id"])), components=entry.get("components", []))

    def add_page(self, page_id: str, name: str, components: Any = ()) -> Page:
        with self.lock:
            page = self.pages.setdefault(page_id, Page(page_id, name))
            for entry in components:
                if isinstance(entry, str):
                    self.add_component(page_id, entry)
                elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    self.add_component(page_id, entry["name"], entry.get("id"),
                                       status=entry.get("status", "operational"), group=bool(entry.get("group", False)))
                else:
                    raise InputError("seed", f"component entry {entry!r} needs at least a 'name'.")
            return page

    def add_component(self, page_id: str, name: str, component_id: str | None = None, *,
                      status: str = "operational", group: bool = False) -> str:
        """Add a component to a page; return its id."""
        if status not in COMPONENT_STATUSES:
            raise InputError("seed", f"component status {status!r} is not one of {', '.join(COMPONENT_STATUSES)}.")
        with self.lock:
            page = self.pages[page_id]
            cid = component_id or self._new_id()
            now = self._now()
            page.components[cid] = Component(cid, page_id, name, status, len(page.components) + 1, group,
                                             created_at=now, updated_at=now)
            return cid

    def lose_next_answer(self, n: int = 1, method: str = "POST") -> None:
        """Perform the next ``n`` ``method`` requests, then drop the connection instead of answering."""
        with self.lock:
            self._lose.extend([method.upper()] * n)

    # -- for assertions ----------------------------------------------------------------------------
    def component(self, ref: str, page_id: str = DEFAULT_PAGE_ID) -> Component:
        """A component by id or name (ignoring case)."""
        page = self.pages[page_id]
        found = page.components.get(ref) or next(
            (c for c in page.components.values() if c.name.casefold() == ref.casefold()), None)
        if found is None:
            raise KeyError(f"The stand-in's page {page_id} has no component {ref!r}.")
        return found

    def incidents_on(self, page_id: str = DEFAULT_PAGE_ID) -> list[Incident]:
        """The page's incidents, oldest first."""
        return [i for i in self.incidents.values() if i.page_id == page_id]

    def incident_json(self, incident_id: str) -> dict[str, Any]:
        """What ``GET .../incidents/{id}`` answers."""
        return self._incident_json(self.incidents[incident_id])

    # -- auth and errors ---------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "oauth":
            key = request.args.get("api_key", "")
        key = key.strip()
        return self.user if key and hmac.compare_digest(key, self.secret) else None

    def unauthorized(self) -> Response:
        return _answer({"error": "Could not authenticate"}, 401)

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        if status == 429:
            status = self.rate_limit_status
        response = _answer({"error": message}, status)
        response.headers.update(dict(headers or {}))
        return response

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["base_url"] = f"{self.base_url}/v1"
        for page in self.pages.values():
            info[f"page {page.id}"] = ", ".join(f"{c.name} ({c.id})" for c in page.components.values())
        return info

    # -- the API -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            body = _body(request)
            self.calls.append(Call(request.method, request.path, body, request.mimetype))
            match = _PATH.match(request.path.removesuffix(".json"))
            if match is None:
                raise Refusal(404, _NOT_FOUND)
            page = self.pages.get(match.group("page"))
            if page is None:
                raise Refusal(404, _NOT_FOUND)
            parts = [p for p in match.group("rest").split("/") if p]
            status, payload = self._route(request, page, parts, body)
            response = _answer(payload, status)
        except Refusal as refusal:
            response = _answer({"error": refusal.message}, refusal.status)
        if self._lose and self._lose[0] == request.method:
            self._lose.pop(0)
            _drop_connection(request)
        return response

    def _route(self, request: Request, page: Page, parts: list[str], body: Any) -> tuple[int, Any]:
        method = request.method
        if parts == ["components"] and method == "GET":
            return 200, self._paginate(request, [c.as_json() for c in page.components.values()])
        if len(parts) == 2 and parts[0] == "components" and method in ("GET", "PATCH", "PUT"):
            component = page.components.get(parts[1])
            if component is None:
                raise Refusal(404, _NOT_FOUND)
            if method != "GET":
                self._patch_component(component, body)
            return 200, component.as_json()
        if parts == ["incidents"] and method == "GET":
            return 200, self._list_incidents(request, page)
        if parts == ["incidents"] and method == "POST":
            return 201, self._incident_json(self._create(page, _wrapped(body, "incident")))
        if parts == ["incidents", "unresolved"] and method == "GET":
            found = [self._incident_json(i) for i in reversed(self.incidents_on(page.id)) if i.unresolved]
            return 200, self._paginate(request, found)
        if len(parts) == 2 and parts[0] == "incidents" and method in ("GET", "PATCH", "PUT"):
            incident = self.incidents.get(parts[1])
            if incident is None or incident.page_id != page.id:
                raise Refusal(404, _NOT_FOUND)
            if method != "GET":
                self._update(page, incident, _wrapped(body, "incident"))
            return 200, self._incident_json(incident)
        raise Refusal(404, _NOT_FOUND)

    # -- incidents ---------------------------------------------------------------------------------
    def _create(self, page: Page, fields: dict[str, Any]) -> Incident:
        problems = _check_incident(page, fields, creating=True)
        status = fields.get("status", "investigating")
        if status in SCHEDULED and not fields.get("scheduled_for"):
            problems.append("Scheduled for can't be blank for a scheduled maintenance")
        if problems:
            raise Refusal(422, "; ".join(problems))
        now = self._now()
        incident = Incident(self._new_id(), page.id, fields["name"], status, now, now,
                            metadata=dict(fields.get("metadata") or {}),
                            impact_override=fields.get("impact_override"),
                            scheduled_for=fields.get("scheduled_for"), scheduled_until=fields.get("scheduled_until"))
        self._stamp(incident, status, now)
        affected = self._apply_components(page, incident, fields)
        incident.updates.append(IncidentUpdate(self._new_id(), incident.id, status, fields.get("body") or "", now,
                                               affected, fields.get("deliver_notifications", True)))
        self.incidents[incident.id] = incident
        return incident

    def _update(self, page: Page, incident: Incident, fields: dict[str, Any]) -> None:
        problems = _check_incident(page, fields, creating=False)
        status = fields.get("status", incident.status)
        if "status" in fields and status in REALTIME + SCHEDULED and (status in REALTIME) != incident.realtime:
            kind = "realtime incident" if incident.realtime else "scheduled maintenance"
            problems.append(f"Status {status} is not valid for a {kind}")
        if problems:
            raise Refusal(422, "; ".join(problems))
        now = self._now()
        changed = status != incident.status
        incident.status = status
        if "name" in fields:
            incident.name = fields["name"]
        if "impact_override" in fields:
            incident.impact_override = fields["impact_override"]
        for key, value in (fields.get("metadata") or {}).items():
            incident.metadata[key] = value
        if changed:
            self._stamp(incident, status, now)
        affected = self._apply_components(page, incident, fields)
        if "body" in fields or changed:
            incident.updates.append(IncidentUpdate(self._new_id(), incident.id, status, fields.get("body") or "",
                                                   now, affected, fields.get("deliver_notifications", True)))
        incident.updated_at = now

    @staticmethod
    def _stamp(incident: Incident, status: str, now: str) -> None:
        if status == "monitoring":
            incident.monitoring_at = now
        if status == "resolved":
            incident.resolved_at = now

    def _apply_components(self, page: Page, incident: Incident, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Attach the listed components and set the statuses given; return what changed, per component."""
        statuses: Mapping[str, str] = fields.get("components") or {}
        for cid in [*(fields.get("component_ids") or []), *statuses]:
            if cid not in incident.component_ids:
                incident.component_ids.append(cid)
        affected = []
        now = self._now()
        for cid, new in statuses.items():
            component = page.components[cid]
            affected.append({"code": cid, "name": component.name, "old_status": component.status, "new_status": new})
            component.status, component.updated_at = new, now
        return affected

    def _incident_json(self, incident: Incident) -> dict[str, Any]:
        page = self.pages[incident.page_id]
        components = [page.components[cid] for cid in incident.component_ids if cid in page.components]
        worst = max((IMPACTS.index(_IMPACT_OF.get(c.status, "none")) for c in components), default=0)
        return {
            "id": incident.id, "page_id": incident.page_id, "name": incident.name, "status": incident.status,
            "impact": incident.impact_override or IMPACTS[worst], "impact_override": incident.impact_override,
            "created_at": incident.created_at, "updated_at": incident.updated_at, "started_at": incident.created_at,
            "monitoring_at": incident.monitoring_at, "resolved_at": incident.resolved_at,
            "shortlink": f"https://stspg.io/{incident.id[:6]}", "metadata": incident.metadata,
            "components": [c.as_json() for c in components],
            "incident_updates": [u.as_json() for u in reversed(incident.updates)],
            "postmortem_body": None, "scheduled_for": incident.scheduled_for,
            "scheduled_until": incident.scheduled_until,
        }

    def _list_incidents(self, request: Request, page: Page) -> list[dict[str, Any]]:
        query = request.args.get("q", "").casefold()
        limit = min(_int_arg(request, "limit", PER_PAGE_MAX), PER_PAGE_MAX)
        number = _int_arg(request, "page", 1)
        found = []
        for incident in reversed(self.incidents_on(page.id)):
            text = " ".join([incident.name, incident.status, *(u.body for u in incident.updates)]).casefold()
            if query in text:
                found.append(self._incident_json(incident))
        return found[(number - 1) * limit: number * limit]

    # -- components --------------------------------------------------------------------------------
    def _patch_component(self, component: Component, body: Any) -> None:
        fields = _wrapped(body, "component")
        status = fields.get("status", component.status)
        if status not in COMPONENT_STATUSES:
            raise Refusal(422, f"Status {status!r} is not included in the list: {', '.join(COMPONENT_STATUSES)}")
        if "name" in fields and (not isinstance(fields["name"], str) or not fields["name"].strip()):
            raise Refusal(422, "Name can't be blank")
        component.status = status
        component.name = fields.get("name", component.name)
        component.updated_at = self._now()

    # -- helpers -----------------------------------------------------------------------------------
    def _paginate(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        per_page = _int_arg(request, "per_page", PER_PAGE_MAX)
        if not 1 <= per_page <= PER_PAGE_MAX:
            raise Refusal(400, f"per_page must be between 1 and {PER_PAGE_MAX}")
        number = _int_arg(request, "page", 1)
        return items[(number - 1) * per_page: number * per_page]

    def _new_id(self) -> str:
        return "".join(self._rng.choice(string.ascii_lowercase + string.digits) for _ in range(12))

    def _now(self) -> str:
        return self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- checks ----------------------------------------------------------------------------------------
def _check_incident(page: Page, fields: Mapping[str, Any], *, creating: bool) -> list[str]:
    """Every reason Statuspage would refuse these incident fields, in its own manner of speaking."""
    problems: list[str] = []
    if creating or "name" in fields:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("Name can't be blank")
        elif len(name) > NAME_MAX:
            problems.append(f"Name is too long (maximum is {NAME_MAX} characters)")
    if "status" in fields and fields["status"] not in REALTIME + SCHEDULED:
        problems.append(f"Status {fields['status']!r} is not included in the list: {', '.join(REALTIME + SCHEDULED)}")
    body = fields.get("body")
    if body is not None and not isinstance(body, str):
        problems.append("Body must be a string")
    elif isinstance(body, str) and len(body) > BODY_MAX:
        problems.append(f"Body is too long (maximum is {BODY_MAX} characters)")
    ids = fields.get("component_ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append("Component ids must be a list of component id strings")
        else:
            problems += [f"Component {i!r} does not exist on this page" for i in ids if i not in page.components]
    statuses = fields.get("components")
    if statuses is not None:
        if not isinstance(statuses, dict):
            problems.append("Components must map component ids to component statuses")
        else:
            for cid, status in statuses.items():
                if cid not in page.components:
                    problems.append(f"Component {cid!r} does not exist on this page")
                elif page.components[cid].group:
                    problems.append(f"Component {cid!r} is a group; groups have no status of their own")
                elif status not in COMPONENT_STATUSES:
                    problems.append(f"Component status {status!r} is not included in the list: "
                                    f"{', '.join(COMPONENT_STATUSES)}")
    metadata = fields.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(v, dict) for v in metadata.values())):
        problems.append("Metadata must be an object whose top-level values are objects")
    if "deliver_notifications" in fields and not isinstance(fields["deliver_notifications"], bool):
        problems.append("Deliver notifications must be true or false")
    if fields.get("impact_override") is not None and fields["impact_override"] not in IMPACTS:
        problems.append(f"Impact override {fields['impact_override']!r} is not included in the list: "
                        f"{', '.join(IMPACTS)}")
    return problems


# -- decoding --------------------------------------------------------------------------------------
def _answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _body(request: Request) -> Any:
    """A JSON body, or a form body with Rails-style bracketed names made into the same shape."""
    if request.method in ("GET", "HEAD", "DELETE"):
        return None
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if body is None:
            raise Refusal(400, "The body is not valid JSON.")
        return body
    if request.mimetype in _FORMS:
        return _nest(request.form)
    if request.get_data():
        raise Refusal(400, "Send the body as JSON or form-encoded, with a matching Content-Type.")
    return {}


def _nest(form: MultiDict[str, str]) -> dict[str, Any]:
    """``incident[components][abc]=major_outage`` and ``incident[component_ids][]=abc`` as nested data."""
    out: dict[str, Any] = {}
    for key, value in form.items(multi=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if part == "[]":
                continue
            if last:
                node[part] = _scalar(part, value)
            elif nxt == "[]":
                node.setdefault(part, []).append(value)
                break
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise Refusal(400, f"Form field {key!r} mixes a value and nested fields.")
                node = child
    return out


def _scalar(name: str, value: str) -> Any:
    """Form values are strings; the flags Statuspage documents as ``t``/``f`` or ``true``/``false`` are not."""
    if name in _FLAGS:
        return {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}.get(value, value)
    return value


def _wrapped(body: Any, name: str) -> dict[str, Any]:
    inner = body.get(name) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise Refusal(400, f"param is missing or the value is empty: {name}")
    return inner


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise Refusal(400, f"{name} must be a positive integer")
    return int(raw)


def _drop_connection(request: Request) -> None:
    """Close the client's connection so the answer never arrives (werkzeug's dev server exposes it)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
