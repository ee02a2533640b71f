"""The ServiceNow emulator: the Table API on loopback, with ServiceNow's envelopes and headers.

Routes (``v1``/``v2`` optional; unversioned is the latest, which is ``v2``)::

    GET|HEAD /api/now[/v1|/v2]/table/{table}            list (encoded query, paging, Link, X-Total-Count)
    POST     /api/now[/v1|/v2]/table/{table}            insert -> 201 + Location
    GET|HEAD /api/now[/v1|/v2]/table/{table}/{sys_id}   one record, or 404 "No Record found"
    PUT|PATCH /api/now[/v1|/v2]/table/{table}/{sys_id}  partial update (PUT acts like PATCH, as on the product)
    DELETE   /api/now[/v1|/v2]/table/{table}/{sys_id}   204, empty body

The base class supplies basic auth, faults, the request log, webhook delivery and the
``/_emulator/...`` control endpoints. Everything here runs under the emulator's lock.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from chgsync.testing.emulator import Emulator, Signer

from . import dictionary
from . import seed as seed_module
from .defaults import default_seed
from .display import Renderer, parse_bool, parse_display_mode
from .errors import ApiError, not_found
from .notifications import shared_secret
from .query import Condition, Context, parse, run
from .records import Actor, Records, WriteOptions
from .schema import DICTIONARY_TABLES, Table
from .state_model import Settings
from .store import Record, Store
from .times import to_glide, zone

_ROUTE = re.compile(r"^/api/now(?:/(v1|v2))?/table/([^/]+)(?:/([^/]+))?/?$")
DEFAULT_LIMIT = 10000


class ServiceNowEmulator(Emulator):
    """A ServiceNow instance's Table API, change state model, approvals, journals and notifications.

    Extra keyword arguments (beyond the base class's) are the instance settings of
    :class:`~chgsync_servicenow.emulator.state_model.Settings`; a seed's ``settings`` section
    overrides them.
    """

    product = "servicenow"
    secret_label = "password"
    default_user = "admin"
    default_secret = "Emulat0r-Passw0rd"

    def __init__(
        self,
        *,
        time_zone: str = "America/Los_Angeles",
        strict_queries: bool = False,
        require_approval: bool = True,
        require_close_fields: bool = True,
        **kwargs: Any,
    ) -> None:
        zone(time_zone)
        self._initial_settings = Settings(
            time_zone=time_zone,
            strict_queries=strict_queries,
            require_approval=require_approval,
            require_close_fields=require_close_fields,
        )
        self.settings = Settings(**vars(self._initial_settings))
        self.store = Store()
        self._seeds: list[Mapping[str, Any]] = []
        self.records = Records(self.store, self._now, self._notify, self.settings)
        super().__init__(**kwargs)

    # -- Emulator hooks --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the default data and settings, then the seeds loaded so far, in order."""
        for key, value in vars(self._initial_settings).items():
            setattr(self.settings, key, value)
        self.store = Store()
        self.records = Records(self.store, self._now, self._notify, self.settings)
        seed_module.load(self.records, self.settings, default_seed(self.user), Actor("system"))
        dictionary.install(self.store, self._now())
        for data in self._seeds:
            seed_module.load(self.records, self.settings, data, self._actor(self.user))

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """Add records from a seed document (see :mod:`.seed`); raises ``SeedError`` naming the culprit."""
        with self.lock:
            seed_module.load(self.records, self.settings, data, self._actor(self.user))
            self._seeds.append(data)

    def webhook_signer(self) -> Signer | None:
        return shared_secret

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        if status == 401:
            return self._error(
                ApiError(401, "User Not Authenticated", "Required to provide Auth information"), headers
            )
        if status == 429:
            return self._error(
                ApiError(
                    429,
                    "Rate limit exceeded",
                    "The emulated rate limit rule for this user was exceeded; retry after "
                    f"{(headers or {}).get('Retry-After', '1')} seconds.",
                ),
                headers,
            )
        return self._error(ApiError(status, message.rstrip("."), ""), headers)

    def unauthorized(self) -> Response:
        resp = self.error_response(401, "")
        resp.headers["WWW-Authenticate"] = 'BASIC realm="Service-now"'
        resp.headers["X-Is-Logged-In"] = "false"
        return resp

    # -- helpers ---------------------------------------------------------------------------------------
    def _now(self) -> str:
        return to_glide(self.clock())

    def _notify(self, event: str, payload: dict[str, Any]) -> None:
        self.webhooks.emit(event, payload)

    def _actor(self, user_name: str) -> Actor:
        user = self.store.user_by_name(user_name)
        return Actor(user_name, user["sys_id"] if user else "")

    def _zone(self, user_name: str) -> tzinfo:
        user = self.store.user_by_name(user_name)
        return zone((user or {}).get("time_zone") or self.settings.time_zone)

    def _error(self, error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
        body = {"error": {"message": error.message, "detail": error.detail}, "status": "failure"}
        resp = Response(json.dumps(body), status=error.status, headers=dict(headers or {}))
        self._decorate(resp)
        return resp

    def _decorate(self, resp: Response) -> None:
        """The headers every Table API answer carries on a real instance."""
        resp.headers["Content-Type"] = "application/json;charset=UTF-8"
        resp.headers.setdefault("X-Is-Logged-In", "true")
        resp.headers["X-Transaction-ID"] = secrets.token_hex(6)
        resp.headers["Pragma"] = "no-store,no-cache"
        resp.headers["Cache-control"] = "no-cache,no-store,must-revalidate,max-age=-1"
        resp.headers["Expires"] = "0"
        if self.tls:
            resp.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"

    def _json(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        resp = Response(json.dumps(data), status=status, headers=dict(headers or {}))
        self._decorate(resp)
        return resp

    # -- the Table API ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except ApiError as error:
            return self._error(error)

    def _route(self, request: Request) -> Response:
        m = _ROUTE.match(request.path)
        if not m:
            raise ApiError(400, "Requested URI does not represent any resource", None)
        version, table_name, sys_id = m.groups()
        method = request.method.upper()
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if method == "POST" and override:
            method = override
        if method == "HEAD":
            method = "GET"
        table = self.store.schema(table_name)
        user = self.authenticated_user(request) or self.user
        if table.name in DICTIONARY_TABLES and method in ("POST", "PUT", "PATCH", "DELETE"):
            raise ApiError(
                403,
                "Operation Failed",
                f"The emulator serves {table.name} read-only: its dictionary is generated from its fixed "
                "schema (on an instance, an administrator writing this table changes the schema).",
            )
        if sys_id is None:
            if method == "GET":
                return self._list(request, table, user, version)
            if method == "POST":
                return self._create(request, table, user)
        else:
            if method == "GET":
                record = self.store.get(table.name, sys_id)
                if record is None:
                    raise not_found()
                return self._json({"result": self._render(request, table, user, record)})
            if method in ("PUT", "PATCH"):
                body = self._body(request)
                record = self.records.update(
                    table.name, sys_id, body, self._actor(user), self._write_options(request, user)
                )
                return self._written(request, table, user, record, 200)
            if method == "DELETE":
                self.records.delete(table.name, sys_id)
                resp = Response(status=204)
                self._decorate(resp)
                del resp.headers["Content-Type"]
                return resp
        allowed = "GET, POST" if sys_id is None else "GET, PUT, PATCH, DELETE"
        raise ApiError(405, "Method not Supported", f"{request.method} is not supported here; use {allowed}.")

    def _write_options(self, request: Request, user: str) -> WriteOptions:
        return WriteOptions(
            input_display_value=parse_bool(request.args.get("sysparm_input_display_value")),
            tz=self._zone(user),
        )

    def _body(self, request: Request) -> Mapping[str, Any]:
        raw = request.get_data()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(
                400, "Exception while reading request", f"The payload is not valid JSON: {exc}."
            ) from exc
        if isinstance(data, list):  # the product processes only the first element of an array body
            data = data[0] if data else {}
        if not isinstance(data, Mapping):
            raise ApiError(400, "Exception while reading request", "The payload must be a JSON object.")
        return data

    def _create(self, request: Request, table: Table, user: str) -> Response:
        record = self.records.create(
            table.name, self._body(request), self._actor(user), self._write_options(request, user)
        )
        location = f"{request.host_url.rstrip('/')}/api/now/table/{table.name}/{record['sys_id']}"
        return self._written(request, table, user, record, 201, {"Location": location})

    def _written(
        self,
        request: Request,
        table: Table,
        user: str,
        record: Record,
        status: int,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if parse_bool(request.headers.get("X-no-response-body")):
            resp = Response(status=status, headers=dict(headers or {}))
            self._decorate(resp)
            return resp
        return self._json({"result": self._render(request, table, user, record)}, status, headers)

    def _renderer(self, request: Request, user: str) -> Renderer:
        return Renderer(
            self.store,
            request.host_url.rstrip("/"),
            mode=parse_display_mode(request.args.get("sysparm_display_value")),
            exclude_links=parse_bool(request.args.get("sysparm_exclude_reference_link")),
            tz=self._zone(user),
        )

    def _fields(self, request: Request, table: Table) -> list[str] | None:
        raw = request.args.get("sysparm_fields", "")
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if not names:
            return None
        return [n for n in dict.fromkeys(names) if self.store.resolve_path(table, n) is not None]

    def _render(self, request: Request, table: Table, user: str, record: Record) -> dict[str, Any]:
        return self._renderer(request, user).record(table, record, self._fields(request, table))

    def _list(self, request: Request, table: Table, user: str, version: str | None) -> Response:
        args = request.args
        actor = self._actor(user)
        query = parse(args.get("sysparm_query", ""), lambda p: self.store.resolve_path(table, p) is not None)
        for key, value in args.items(multi=True):  # plain field=value filters, and-ed to every group
            if not key.startswith("sysparm_") and self.store.resolve_path(table, key) is not None:
                for group in query.groups:
                    group.append([Condition(key, "=", value)])
        ctx = Context(self.store, table, self._zone(user), self.clock(), actor.sys_id, actor.user_name)
        rows = run(query, self.store.all(table.name), ctx, strict=self.settings.strict_queries)
        total = len(rows)
        limit = _int(args.get("sysparm_limit"), DEFAULT_LIMIT)
        limit = limit if limit > 0 else DEFAULT_LIMIT
        offset = max(0, _int(args.get("sysparm_offset"), 0))
        page = rows[offset : offset + limit]
        if version == "v1" and not page:
            raise not_found()  # Table API v1 answered an empty result with 404; v2/latest with []
        renderer = self._renderer(request, user)
        fields = self._fields(request, table)
        headers: dict[str, str] = {}
        if not parse_bool(args.get("sysparm_no_count")):
            headers["X-Total-Count"] = str(total)
        if not parse_bool(args.get("sysparm_suppress_pagination_header")):
            headers["Link"] = _link_header(request, offset, limit, total)
        return self._json({"result": [renderer.record(table, r, fields) for r in page]}, 200, headers)

    # -- conveniences for tests ------------------------------------------------------------------------
    def get_record(self, table: str, sys_id: str) -> dict[str, str] | None:
        """A stored record's raw values (a copy), bypassing the API: for assertions in tests."""
        with self.lock:
            record = self.store.get(table, sys_id)
            return dict(record) if record is not None else None

    def find_records(self, table: str, query: str = "") -> list[dict[str, str]]:
        """Raw copies of the records an encoded query selects, evaluated as the admin user would."""
        with self.lock:
            schema = self.store.schema(table)
            actor = self._actor(self.user)
            parsed = parse(query, lambda p: self.store.resolve_path(schema, p) is not None)
            ctx = Context(
                self.store, schema, self._zone(self.user), self.clock(), actor.sys_id, actor.user_name
            )
            return [
                dict(r) for r in run(parsed, self.store.all(table), ctx, strict=self.settings.strict_queries)
            ]


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError:
        return default


def _link_header(request: Request, offset: int, limit: int, total: int) -> str:
    """first/prev/next/last as the product writes them: prev may be negative; no next on the last page."""
    base = f"{request.host_url.rstrip('/')}{request.path}"
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("sysparm_limit", "sysparm_offset")]

    def url(at: int) -> str:
        return f"{base}?{urlencode([*kept, ('sysparm_limit', limit), ('sysparm_offset', at)])}"

    last = ((total - 1) // limit) * limit if total > 0 else 0
    links = [f'<{url(0)}>;rel="first"', f'<{url(offset - limit)}>;rel="prev"']
    if offset + limit < total:
        links.append(f'<{url(offset + limit)}>;rel="next"')
    links.append(f'<{url(last)}>;rel="last"')
    return ",".join(links)
