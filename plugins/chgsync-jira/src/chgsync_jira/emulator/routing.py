"""The route table: which handler answers which Jira URL, and what each request carries.

Every product route is declared once with :func:`route`, naming the Cloud OpenAPI path it
implements (or ``None`` for product routes the description leaves out, such as the admin webhook
API). The spec-conformance test walks this table, so a route added without a conformance case
fails the suite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request

from .errors import JiraError
from .fields import View
from .model import User
from .timefmt import zone

if TYPE_CHECKING:
    from .app import JiraEmulator


class VersionConverter(BaseConverter):
    """``2``, ``3`` or ``latest`` (which Cloud serves as v2)."""

    regex = "(?:2|3|latest)"

    def to_python(self, value: str) -> int:
        return 2 if value == "latest" else int(value)

    def to_url(self, value: Any) -> str:
        return str(value)


@dataclass
class Reply:
    """What a handler answers: a JSON body (or none) and a status."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


NO_CONTENT = 204


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Reply]
    spec: str | None
    note: str = ""

    @property
    def name(self) -> str:
        return f"{'|'.join(self.methods)} {self.rule}"


ROUTES: list[Route] = []


def route(
    rule: str, *, methods: tuple[str, ...] = ("GET",), spec: str | None, note: str = ""
) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    """Register a handler. ``spec`` is the v3 OpenAPI path template, or None with a ``note`` saying why."""

    def register(fn: Callable[..., Reply]) -> Callable[..., Reply]:
        ROUTES.append(Route(rule, methods, fn, spec, note))
        return fn

    return register


_MAP: Map | None = None


def url_map() -> Map:
    """The werkzeug map over :data:`ROUTES` (built once the handler modules are imported)."""
    global _MAP
    if _MAP is None:
        from . import api  # noqa: F401  (registers the handlers)

        _MAP = Map(
            [Rule(r.rule, methods=list(r.methods), endpoint=r) for r in ROUTES],
            converters={"ver": VersionConverter},
            strict_slashes=False,
        )
    return _MAP


def match(method: str, path: str) -> tuple[Route, dict[str, Any]] | None:
    """The route that would answer ``method path``, for tests that map the request log to routes."""
    from werkzeug.exceptions import HTTPException

    try:
        endpoint, args = url_map().bind("emulator").match(path, method=method)
    except HTTPException:
        return None
    assert isinstance(endpoint, Route)
    return endpoint, dict(args)


class ApiRequest:
    """One request as a handler sees it: the caller, the API version, parsed parameters and body."""

    def __init__(self, emulator: JiraEmulator, request: Request, version: int, user: User | None) -> None:
        self.emulator = emulator
        self.site = emulator.site
        self.service = emulator.service
        self.request = request
        self.version = version
        self.user = user
        tz_name = user.time_zone if user is not None else self.site.settings.time_zone
        self.view = View(emulator.base_url, version, zone(tz_name))

    @property
    def actor(self) -> str:
        if self.user is None:
            raise JiraError(401, "Client must be authenticated to access this resource.")
        return self.user.account_id

    # -- body ----------------------------------------------------------------------------------------
    def json(self, *, required: bool = True) -> Any:
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            if required:
                raise JiraError(400, "No content to map due to end-of-input")
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise JiraError(400, f"The request body is not valid JSON: {exc}.") from None

    # -- query parameters ----------------------------------------------------------------------------
    def arg(self, name: str) -> str | None:
        return self.request.args.get(name)

    def arg_list(self, name: str) -> list[str] | None:
        """A list parameter given repeated (``a=1&a=2``), comma-separated, or both; None if absent."""
        values = self.request.args.getlist(name)
        if not values:
            return None
        return [part.strip() for v in values for part in v.split(",") if part.strip()]

    def arg_int(self, name: str, default: int, *, minimum: int | None = 0) -> int:
        raw = self.request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise JiraError(
                400, f"The value '{raw}' is not valid for parameter '{name}': it must be an integer."
            ) from None
        if minimum is not None and value < minimum:
            raise JiraError(
                400, f"The value '{raw}' is not valid for parameter '{name}': it must be {minimum} or more."
            )
        return value

    def arg_bool(self, name: str, default: bool = False) -> bool:
        raw = self.request.args.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise JiraError(
            400, f"The value '{raw}' is not valid for parameter '{name}': it must be true or false."
        )

    def expand(self, raw: Any = None) -> set[str]:
        """``expand`` as a set, from the query or a body value (string or list)."""
        value = raw if raw is not None else self.request.args.getlist("expand")
        if isinstance(value, str):
            value = [value]
        return {part.strip() for v in value or [] for part in str(v).split(",") if part.strip()}
