"""The Jira Cloud emulator: the base emulator's server, faults and webhooks, answering as Jira.

Configuration and data live in a :class:`Site` built from :mod:`defaults` and extended by seed
documents; requests are routed through :mod:`routing` to the handlers in :mod:`api`; writes go
through :class:`IssueService` and the events they produce are posted by :class:`JiraWebhooks`.
"""

from __future__ import annotations

import copy
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import requests
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from chgsync.testing.emulator import Emulator

from .defaults import default_document
from .errors import JiraError, envelope
from .issues import IssueEvent, IssueService
from .model import Issue, User
from .routing import ApiRequest, Reply, url_map
from .seed import apply_document
from .store import Site
from .webhooks import JiraWebhooks

JSON_TYPE = "application/json;charset=UTF-8"
RATE_LIMITED = "The request has been rate-limited. Please try again later."
UNAUTHENTICATED = "Client must be authenticated to access this resource."


class JiraEmulator(Emulator):
    """Jira Cloud on loopback: REST v2/v3, JQL search, workflows, webhooks, Jira's errors.

    Construct with the base's keyword arguments (``user`` an email, ``secret`` an API token,
    ``seed`` a seed document, ``clock`` for deterministic time); use as a context manager.
    """

    product: ClassVar[str] = "jira"
    secret_label: ClassVar[str] = "token"
    default_user: ClassVar[str] = "chgsync@example.com"
    default_secret: ClassVar[str] = "emulator-api-token"

    site: Site
    service: IssueService
    hooks: JiraWebhooks

    # -- data ----------------------------------------------------------------------------------------
    def reset(self) -> None:
        site = Site()
        apply_document(
            site,
            default_document(self.user),
            clock=self.clock,
            default_user=self.user,
            source="the default Jira site",
        )
        self._install(site)
        if getattr(self, "hooks", None) is None:
            self.hooks = JiraWebhooks(self.webhooks)
        else:
            self.hooks.clear()

    def load_seed(self, data: Mapping[str, Any], source: str | None = None) -> None:
        """Add or override data from a seed document; all or nothing (see :mod:`.seed` for the format)."""
        with self.lock:
            candidate = copy.deepcopy(self.site)
            apply_document(candidate, data, clock=self.clock, default_user=self.user, source=source)
            self._install(candidate)

    def _install(self, site: Site) -> None:
        self.site = site
        self.service = IssueService(site, self.clock)

    # -- conveniences for tests ----------------------------------------------------------------------
    def issue(self, key: str) -> Issue:
        """The stored issue (for assertions that should not go through the API)."""
        with self.lock:
            return self.site.issue(key)

    @property
    def account(self) -> User:
        """The integration user the emulator authenticates (``user``/``secret``)."""
        found = self.site.user_by_email(self.user)
        assert found is not None
        return found

    def session(self) -> requests.Session:
        """A ``requests`` session authenticated as the integration user, trusting the emulator's certificate.

        ``trust_env`` is off so that ``REQUESTS_CA_BUNDLE`` cannot override the certificate.
        """
        s = requests.Session()
        s.auth = (self.user, self.secret)
        s.trust_env = False
        s.headers.update({"Accept": "application/json"})
        if self.cert_path is not None:
            s.verify = str(self.cert_path)
        return s

    def advance(self, **delta: float) -> None:
        """Move an emulator built with the default clock forward (``advance(minutes=5)``)."""
        offset = timedelta(**delta)
        base = self.clock
        self.clock = lambda: base() + offset
        self.service = IssueService(self.site, self.clock)

    # -- auth ----------------------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        found = super().authenticated_user(request)
        if found is not None:
            return found
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return None
        user = self.site.user_by_email(auth.username)
        if user is None or user.token is None or not user.active:
            return None
        return auth.username if hmac.compare_digest(auth.password or "", user.token) else None

    def public_paths(self) -> tuple[str, ...]:
        return tuple(f"/rest/api/{v}/serverInfo" for v in ("2", "3", "latest"))

    # -- HTTP ----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            rule, args = url_map().bind("emulator").match(request.path, method=request.method)
        except NotFound:
            return self._json(
                envelope([f"null for uri: {self.base_url}{request.full_path.rstrip('?')}"]), 404
            )
        except MethodNotAllowed:
            return self._json(
                envelope([f"Method {request.method} is not supported for {request.path}."]), 405
            )
        args = dict(args)
        version = args.pop("version", 2)
        email = self.authenticated_user(request)
        user = self.site.user_by_email(email) if email else None
        try:
            api = ApiRequest(self, request, version, user)
            reply = rule.handler(api, **args)
        except JiraError as exc:
            return self._json(exc.body(), exc.status, exc.headers)
        return self._reply(reply)

    def publish(self, events: list[IssueEvent]) -> None:
        """Hand events to the webhook dispatcher (called by handlers after a successful write)."""
        self.hooks.publish(self.site, events, self.base_url)

    def _reply(self, reply: Reply) -> Response:
        if reply.body is None and reply.status == 204:
            return Response(status=204, headers=self._headers(reply.headers))
        return self._json(reply.body, reply.status, reply.headers)

    def _json(self, body: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body), status=status, headers=self._headers(headers), content_type=JSON_TYPE
        )

    @staticmethod
    def _headers(extra: Mapping[str, str] | None) -> dict[str, str]:
        return {"X-AREQUESTID": uuid.uuid4().hex[:12], **(extra or {})}

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        extra = dict(headers or {})
        if status == 429:
            message = RATE_LIMITED
            extra.setdefault("RateLimit-Reason", "jira-burst-based")
            retry = int(extra.get("Retry-After", "1"))
            reset = self.clock() + timedelta(seconds=retry)
            extra.setdefault("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%MZ"))
        elif status == 401:
            message = UNAUTHENTICATED
        return self._json(envelope([message]), status, extra)
