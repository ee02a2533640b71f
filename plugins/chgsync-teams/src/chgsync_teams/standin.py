"""A loopback stand-in for a Teams Workflows webhook trigger ("When a Teams webhook request is received").

It serves trigger URLs shaped like the real ones, in both the Logic Apps form and the newer Power
Platform form::

    /workflows/<id>/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<sig>
    /powerautomate/automations/direct/workflows/<id>/triggers/manual/paths/invoke?...same query...

and answers like one: 202 Accepted with an empty body (no message id) when the message is taken;
errors in the Logic Apps envelope ``{"error": {"code", "message"}}``: 401 for a missing or wrong
signature, 404 for an unknown workflow, 400 for a missing ``api-version``, a body that is not JSON
or a message that is not a well-formed Adaptive Card message, 413 for a body over Teams' ~28 KB,
and 429 with ``Retry-After`` or 5xx through the emulator faults.

It is stricter than the real service on purpose. A real flow answers 202 as soon as the trigger
fires and fails the run later if the card cannot be posted, so a broken card is invisible to the
caller; here it is refused on the spot with the JSON pointer of each problem, so a test sees it.
Every accepted message is kept per workflow for assertions.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from chgsync.errors import InputError
from chgsync.testing.emulator import CONTROL_PREFIX, Emulator

from .adaptive import check_message

DEFAULT_WORKFLOW = "5d2c8a0e7f4b4c1e9a3b6d8f0e2a4c6b"
#: Teams' documented message limit ("about 28 KB"), applied to the request body.
MAX_BYTES = 28 * 1024
SP = "/triggers/manual/run"
_PATH = re.compile(r"^(?:/powerautomate/automations/direct)?/workflows/([A-Za-z0-9_-]{1,80})"
                   r"/triggers/manual/paths/invoke/?$")
_FAULT_CODES = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                503: "ServiceUnavailable", 504: "GatewayTimeout"}


@dataclass(frozen=True)
class Post:
    """One message a workflow accepted, as received."""

    seq: int
    workflow: str
    message: Mapping[str, Any]
    size: int
    content_type: str
    received: datetime

    @property
    def card(self) -> Mapping[str, Any]:
        """The first attachment's Adaptive Card (what a Workflows template posts to the channel)."""
        return self.message["attachments"][0]["content"]


@dataclass
class Workflow:
    id: str
    sig: str
    name: str = ""
    posts: list[Post] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


class TeamsStandIn(Emulator):
    """Workflows trigger URLs posting into stand-in channels. The default workflow's ``sig`` is ``secret``."""

    product: ClassVar[str] = "teams"
    secret_label: ClassVar[str] = "sig"
    default_user: ClassVar[str] = "workflows"
    default_secret: ClassVar[str] = "chgsync-standin-sig-3f9a1c7e5b2d4a6c"

    _refusal = threading.local()  # why the current request was refused before handle() (one thread per request)

    # -- state -----------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.workflows: dict[str, Workflow] = {}
        self.max_bytes = MAX_BYTES
        self._seq = 0
        self.add_workflow(DEFAULT_WORKFLOW, self.secret, name="changes")

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"workflows": [{"id": "ops01", "sig": "…", "name": "ops"}]}`` (``sig`` defaults to ``secret``)."""
        entries = data.get("workflows", [])
        if not isinstance(entries, list):
            raise InputError("seed", "'workflows' must be a list of {id, sig, name}.")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) \
                    or not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", entry["id"]):
                raise InputError("seed", f"workflow entry {entry!r} needs an 'id' of letters, digits, '-' or '_'.")
            self.add_workflow(entry["id"], str(entry.get("sig") or self.secret), name=str(entry.get("name", "")))

    def add_workflow(self, workflow_id: str, sig: str | None = None, *, name: str = "") -> Workflow:
        """A trigger accepting ``sig`` (default: ``secret``); returns it (its ``posts`` fill as messages arrive)."""
        with self.lock:
            flow = Workflow(workflow_id, sig or self.secret, name)
            self.workflows[workflow_id] = flow
            return flow

    def workflow_url(self, workflow_id: str = DEFAULT_WORKFLOW, *, power_platform: bool = False) -> str:
        """The trigger URL a flow would show, signature included."""
        flow = self.workflows[workflow_id]
        prefix = "/powerautomate/automations/direct" if power_platform else ""
        return (f"{self.base_url}{prefix}/workflows/{flow.id}/triggers/manual/paths/invoke"
                f"?api-version=1&sp={quote(SP, safe='')}&sv=1.0&sig={quote(flow.sig, safe='')}")

    def posts(self, workflow_id: str | None = None) -> list[Post]:
        """Accepted messages, oldest first: one workflow's, or every workflow's."""
        with self.lock:
            flows = [self.workflows[workflow_id]] if workflow_id else list(self.workflows.values())
            return sorted((p for f in flows for p in f.posts), key=lambda p: p.seq)

    def cards(self, workflow_id: str | None = None) -> list[Mapping[str, Any]]:
        """The Adaptive Cards that reached the channel, oldest first."""
        return [p.card for p in self.posts(workflow_id)]

    # -- auth and errors -------------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        self._refusal.value = None
        if request.path.startswith(CONTROL_PREFIX):
            sig = request.args.get("sig")
            if sig is not None and hmac.compare_digest(sig, self.secret):
                return self.user
            return super().authenticated_user(request)
        refusal, user = self._check_trigger(request)
        self._refusal.value = refusal
        return user

    def _check_trigger(self, request: Request) -> tuple[Refusal | None, str | None]:
        match = _PATH.match(request.path)
        if match is None:
            return Refusal(404, "NotFound", f"No trigger is served at '{request.path}'."), None
        flow = self.workflows.get(match.group(1))
        if flow is None:
            return Refusal(404, "WorkflowNotFound", f"The workflow '{match.group(1)}' could not be found."), None
        args = request.args
        if not args.get("api-version"):
            return Refusal(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests."), None
        present = [k for k in ("sp", "sv", "sig") if args.get(k)]
        if not present:
            return Refusal(401, "DirectApiAuthorizationRequired",
                           "The request must be authenticated only by Shared Access scheme."), None
        if len(present) < 3:
            return Refusal(401, "AuthorizationFailed", "Required parameters for shared access URL are permissions "
                           "('sp'), version ('sv'), and signature ('sig')."), None
        if not hmac.compare_digest(args["sig"], flow.sig):
            return Refusal(401, "DirectApiInvalidAuthorizationSignature",
                           "The provided authorization signature is not valid."), None
        if args["sp"] != SP:
            return Refusal(401, "AuthorizationFailed", "You do not have permissions to perform action 'run' on "
                           f"scope '{args['sp']}'."), None
        return None, f"workflow:{flow.id}"

    def unauthorized(self) -> Response:
        refusal: Refusal | None = getattr(self._refusal, "value", None)
        if refusal is None:  # a control endpoint without credentials
            response = self.error_response(401, "Authentication required: add ?sig=<the stand-in's sig>.")
            response.headers["WWW-Authenticate"] = f'Basic realm="{self.product}"'
            return response
        return _error(refusal.status, refusal.code, refusal.message)

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        response = _error(status, _FAULT_CODES.get(status, "RequestFailed"), message)
        response.headers.update(dict(headers or {}))
        return response

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["workflow_url"] = self.workflow_url()
        info["max_bytes"] = str(self.max_bytes)
        return info

    # -- the trigger -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        flow = self.workflows[_PATH.match(request.path).group(1)]  # type: ignore[union-attr]  # checked at auth
        if request.method != "POST":
            response = _error(405, "MethodNotAllowed", f"The trigger 'manual' accepts POST, not {request.method}.")
            response.headers["Allow"] = "POST"
            return response
        raw = request.get_data(cache=False)
        if len(raw) > self.max_bytes:
            return _error(413, "RequestEntityTooLarge", f"Request Entity too large: the message is {len(raw)} bytes; "
                          f"Teams takes about 28 KB ({self.max_bytes} bytes here).")
        if request.mimetype != "application/json":
            return _schema_mismatch([f"the body must be JSON sent as application/json, got "
                                     f"'{request.mimetype or 'no Content-Type'}'"])
        try:
            message = json.loads(raw.decode(request.mimetype_params.get("charset", "utf-8")))
        except (ValueError, LookupError) as exc:
            return _error(400, "InvalidRequestContent",
                          f"The request content is not valid and could not be deserialized: '{exc}'.")
        problems = check_message(message)
        if problems:
            return _schema_mismatch(problems)
        self._seq += 1
        flow.posts.append(Post(self._seq, flow.id, message, len(raw), request.content_type or "", self.clock()))
        return Response(status=202)


def _error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message}}), status=status,
                    mimetype="application/json")


def _schema_mismatch(problems: list[str]) -> Response:
    shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
    return _error(400, "TriggerInputSchemaMismatch", "The input body for trigger 'manual' of type 'Request' did not "
                  f"match its schema definition. Error details: '{shown}'.")
