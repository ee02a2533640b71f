"""A webhook receiver on loopback that holds deliveries to the contract a real receiver should keep.

It checks each delivery the way the README tells receivers to: the signature and timestamp with
:func:`chgsync_webhook.verify` (401 with the reason when either fails), then the body's shape
(400 naming each field at fault). A delivery whose ``X-Chgsync-Delivery`` it has seen before is
answered as the first one was (200, same id) and counted as a duplicate, not stored again.

Faults come from the emulator base: ``faults.fail_next(1, status=410)``, ``faults.outage()``,
``faults.rate_limit(0, retry_after=5)``, ``faults.latency``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from chgsync.testing.emulator import CONTROL_PREFIX, Emulator

from .signing import DEFAULT_TOLERANCE, DELIVERY_HEADER, SignatureError, verify

MAX_BODY = 1_048_576
SEVERITIES = ("info", "warning", "critical")

# field → (accepted types, may be null)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), False), "event": ((str,), False), "change_id": ((str,), False),
    "subject": ((str,), False), "text": ((str,), False), "facts": ((dict,), False), "links": ((dict,), False),
    "recipients": ((list,), False), "status": ((str,), True), "severity": ((str,), False),
    "emergency": ((bool,), False), "components": ((list,), False), "thread": ((str,), True),
    "sent_at": ((str,), False),
}


@dataclass(frozen=True)
class ReceivedDelivery:
    """One delivery as first received; ``reply_id`` is what the receiver answered with."""

    delivery: str
    reply_id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    timestamp: int


class WebhookReceiver(Emulator):
    """The ``webhook`` emulator. ``secret`` is the signing secret; ``tolerance`` the allowed clock skew."""

    product: ClassVar[str] = "webhook"
    secret_label: ClassVar[str] = "signing secret"
    default_secret: ClassVar[str] = "chgsync-webhook-standin-secret"

    def __init__(self, *, tolerance: float = DEFAULT_TOLERANCE, **kwargs: Any) -> None:
        self.tolerance = tolerance
        self._why = threading.local()  # why this request's signature failed, for the 401 body
        super().__init__(**kwargs)

    def reset(self) -> None:
        self.deliveries: list[ReceivedDelivery] = []
        self.duplicates: list[ReceivedDelivery] = []
        self.answer_ids = True
        self._by_key: dict[str, ReceivedDelivery] = {}

    # -- what tests read -----------------------------------------------------------------------------
    def received(self) -> list[ReceivedDelivery]:
        with self.lock:
            return list(self.deliveries)

    def replies_to(self, reply_id: str) -> list[ReceivedDelivery]:
        """Deliveries that name ``reply_id`` as their thread."""
        with self.lock:
            return [d for d in self.deliveries if d.payload.get("thread") == reply_id]

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/chgsync"

    # -- the product ---------------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        if request.path.startswith(CONTROL_PREFIX):
            return super().authenticated_user(request)  # the emulator's own endpoints: basic auth
        self._why.reason = None
        if (request.content_length or 0) > MAX_BODY:
            return "oversized"  # refused as 413 in handle(), before reading a byte
        try:
            verify(self.secret, dict(request.headers), request.get_data(), self.clock(), self.tolerance)
        except SignatureError as exc:
            self._why.reason = str(exc)
            return None
        return "chgsync"

    def unauthorized(self) -> Response:
        reason = getattr(self._why, "reason", None)
        if reason is None:
            return super().unauthorized()
        return self.error_response(401, reason)

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return self.error_response(405, "Deliveries are POSTed.", {"Allow": "POST"})
        if (request.content_length or 0) > MAX_BODY:
            return self.error_response(413, f"The body is larger than {MAX_BODY} bytes.")
        if request.mimetype != "application/json":
            return self.error_response(415, f"Expected Content-Type application/json, got {request.mimetype!r}.")
        if not request.headers.get("User-Agent", "").startswith("chgsync/"):
            return self.error_response(400, "Expected a User-Agent of chgsync/<version>.")
        try:
            body = json.loads(request.get_data())
        except ValueError as exc:
            return self.error_response(400, f"The body is not JSON: {exc}.")
        key = request.headers.get(DELIVERY_HEADER, "")
        problems = _problems(body, key)
        if problems:
            return _json({"error": "The delivery is not usable.", "problems": problems}, 400)
        seen = self._by_key.get(key)
        if seen is not None:
            self.duplicates.append(seen)
            return self._ok(seen)
        record = ReceivedDelivery(key, f"msg-{len(self.deliveries) + 1}", body, dict(request.headers),
                                  request.get_data(), int(request.headers["X-Chgsync-Timestamp"]))
        self.deliveries.append(record)
        self._by_key[key] = record
        return self._ok(record)

    def _ok(self, record: ReceivedDelivery) -> Response:
        return _json({"id": record.reply_id} if self.answer_ids else {"ok": True})


def _problems(body: Any, key: str) -> list[str]:
    """Each way ``body`` breaks the documented shape, as a sentence naming the field."""
    if not isinstance(body, dict):
        return ["The body must be a JSON object."]
    out: list[str] = []
    if not key:
        out.append(f"The {DELIVERY_HEADER} header is missing.")
    for name, (types, nullable) in _FIELDS.items():
        if name not in body:
            out.append(f"Field '{name}' is required.")
        elif not (isinstance(body[name], types) or (nullable and body[name] is None)):
            out.append(f"Field '{name}' must be {' or '.join(t.__name__ for t in types)}"
                       f"{' or null' if nullable else ''}.")
    if out:
        return out
    if body["id"] != key:
        out.append(f"Field 'id' must equal the {DELIVERY_HEADER} header.")
    if not body["change_id"].strip():
        out.append("Field 'change_id' must not be empty.")
    if body["severity"] not in SEVERITIES:
        out.append(f"Field 'severity' must be one of {', '.join(SEVERITIES)}.")
    for name in ("facts", "links"):
        if not all(isinstance(v, str) for v in body[name].values()):
            out.append(f"Field '{name}' must map names to strings.")
    for name in ("recipients", "components"):
        if not all(isinstance(v, str) for v in body[name]):
            out.append(f"Field '{name}' must be a list of strings.")
    if not _aware_time(body["sent_at"]):
        out.append("Field 'sent_at' must be an ISO 8601 time with a zone.")
    return out


def _aware_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _json(data: Mapping[str, Any] | list[Any], status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")
