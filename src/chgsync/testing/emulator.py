"""The base every product emulator builds on: a real HTTP server on loopback, in a thread.

An emulator is a WSGI application (werkzeug) with a request log for counting API calls, switchable
faults (latency, bursts of 5xx, an outage, 429 under a rate limit) and an outbound webhook
dispatcher with its own faults (dropped, duplicated and reordered deliveries). Subclasses implement
the product: :meth:`Emulator.handle`, :meth:`Emulator.error_response` and :meth:`Emulator.load_seed`.

State is guarded by one lock per emulator, so concurrent clients see the serialised behaviour a
single product instance would give; latency is applied outside the lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import queue
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Self

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..registry import Component

log = logging.getLogger(__name__)


# -- request log ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    user: str | None
    started: float
    duration: float


class RequestLog:
    """Every request the emulator answered, in order. Thread-safe."""

    def __init__(self) -> None:
        self._items: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """Requests matching all given filters; ``path`` matches as a prefix."""
        return sum(
            1
            for r in self
            if (method is None or r.method == method.upper())
            and (path is None or r.path.startswith(path))
            and (status is None or r.status == status)
        )

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# -- faults --------------------------------------------------------------------------------------------
@dataclass
class WebhookFaults:
    """Outbound delivery faults. ``reorder`` holds deliveries and releases each batch reversed."""

    drop: int = 0
    duplicate: int = 0
    reorder: int = 0

    def drop_next(self, n: int = 1) -> None:
        self.drop += n

    def duplicate_next(self, n: int = 1) -> None:
        self.duplicate += n

    def reorder_next(self, batch: int = 2) -> None:
        self.reorder = batch

    def clear(self) -> None:
        self.drop = self.duplicate = self.reorder = 0


@dataclass(frozen=True)
class FaultResponse:
    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Faults:
    """Switchable server faults. All counters are thread-safe; ``clear()`` returns to normal."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.latency = 0.0
        self.webhooks = WebhookFaults()
        self._fail = 0
        self._fail_status = 503
        self._down_status: int | None = None
        self._limit: tuple[int, float, int | None] | None = None
        self._window_start = 0.0
        self._window_count = 0

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (a burst of 5xx)."""
        with self._lock:
            self._fail, self._fail_status = n, status

    def outage(self, down: bool = True, status: int = 503) -> None:
        """Answer every request with ``status`` until called with ``down=False``."""
        with self._lock:
            self._down_status = status if down else None

    def rate_limit(self, limit: int | None, per: float = 1.0, retry_after: int | None = None) -> None:
        """Allow ``limit`` requests per ``per`` seconds, then 429 with ``Retry-After`` (whole seconds)."""
        with self._lock:
            self._limit = None if limit is None else (limit, per, retry_after)
            self._window_start, self._window_count = self._clock(), 0

    def clear(self) -> None:
        with self._lock:
            self.latency = 0.0
            self._fail = 0
            self._down_status = None
            self._limit = None
        self.webhooks.clear()

    def before_auth(self) -> FaultResponse | None:
        with self._lock:
            if self._down_status is not None:
                return FaultResponse(self._down_status, "The service is unavailable (emulated outage).")
            if self._fail > 0:
                self._fail -= 1
                return FaultResponse(self._fail_status, "Internal server error (emulated fault).")
        return None

    def after_auth(self) -> FaultResponse | None:
        with self._lock:
            if self._limit is None:
                return None
            limit, per, retry_after = self._limit
            now = self._clock()
            if now - self._window_start >= per:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if self._window_count <= limit:
                return None
            wait = retry_after if retry_after is not None else max(1, math.ceil(per - (now - self._window_start)))
            return FaultResponse(429, "Rate limit exceeded.", {"Retry-After": str(int(wait))})


# -- webhooks ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    secret: str | None = None
    events: frozenset[str] | None = None
    name: str = ""

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


@dataclass(frozen=True)
class Delivery:
    subscription: Subscription
    event: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class DeliveryRecord:
    url: str
    event: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None
    outcome: str  # "delivered", "failed", "dropped"


Signer = Callable[[bytes, str], Mapping[str, str]]


def hub_signature(body: bytes, secret: str) -> dict[str, str]:
    """``X-Hub-Signature: sha256=<hex HMAC of the raw body>``, as Jira Cloud signs webhooks."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}"}


class WebhookDispatcher:
    """Delivers emitted events to subscribers from one background thread, applying webhook faults.

    Deliveries that fail (connection error or 5xx) are retried ``attempts`` times, then recorded as
    failed: like the products, an emulator does not queue forever.
    """

    def __init__(self, faults: WebhookFaults, signer: Signer | None = None, attempts: int = 3,
                 timeout: float = 5.0, user_agent: str = "chgsync-emulator") -> None:
        self.faults = faults
        self.signer = signer
        self.attempts = attempts
        self.timeout = timeout
        self.user_agent = user_agent
        self.subscriptions: dict[str, Subscription] = {}
        self.records: list[DeliveryRecord] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._held: list[Delivery] = []
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def subscribe(self, url: str, secret: str | None = None, events: set[str] | None = None,
                  name: str = "") -> Subscription:
        sub = Subscription(str(uuid.uuid4()), url, secret, frozenset(events) if events else None, name)
        self.subscriptions[sub.id] = sub
        return sub

    def unsubscribe(self, sub_id: str) -> bool:
        return self.subscriptions.pop(sub_id, None) is not None

    def emit(self, event: str, payload: Mapping[str, Any] | bytes, headers: Mapping[str, str] | None = None) -> int:
        """Queue ``payload`` for every subscriber that wants ``event``; returns how many were queued."""
        queued = 0
        for sub in list(self.subscriptions.values()):
            if not sub.wants(event):
                continue
            self.emit_to(sub, event, payload, headers)
            queued += 1
        return queued

    def emit_to(self, sub: Subscription, event: str, payload: Mapping[str, Any] | bytes,
                headers: Mapping[str, str] | None = None) -> None:
        """Queue one delivery to ``sub`` regardless of its event filter.

        For products that decide per subscriber (filters of their own, a delivery id per webhook):
        the caller chooses the subscribers, signing and faults still apply here.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json", "User-Agent": self.user_agent, **(headers or {})}
        if sub.secret and self.signer is not None:
            hdrs.update(self.signer(body, sub.secret))
        with self._idle:
            self._pending += 1
        self._queue.put(Delivery(sub, event, body, hdrs))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every emitted delivery was sent, dropped or failed (held reorders are flushed)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._held and self._queue.empty():
                    self._queue.put_nowait(_FLUSH)  # type: ignore[arg-type]
                self._idle.wait(min(remaining, 0.05))
        return True

    def _done(self, n: int = 1) -> None:
        with self._idle:
            self._pending -= n
            self._idle.notify_all()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item is _FLUSH:
                self._release_held()
                continue
            if self.faults.drop > 0:
                self.faults.drop -= 1
                self.records.append(DeliveryRecord(item.subscription.url, item.event, item.headers, item.body,
                                                   None, "dropped"))
                self._done()
                continue
            if self.faults.reorder > 1:
                self._held.append(item)
                if len(self._held) >= self.faults.reorder:
                    self.faults.reorder = 0
                    self._release_held()
                continue
            self._deliver_counted(item)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for d in reversed(held):
            self._deliver_counted(d)

    def _deliver_counted(self, item: Delivery) -> None:
        copies = 1
        if self.faults.duplicate > 0:
            self.faults.duplicate -= 1
            copies = 2
        for _ in range(copies):
            self._deliver(item)
        self._done()

    def _deliver(self, item: Delivery) -> None:
        status: int | None = None
        for attempt in range(self.attempts):
            try:
                resp = self._session.post(item.subscription.url, data=item.body, headers=dict(item.headers),
                                          timeout=self.timeout)
                status = resp.status_code
                if status < 500 and status != 429:
                    break
            except requests.RequestException as exc:
                log.debug("webhook to %s failed: %s", item.subscription.url, exc)
                status = None
            time.sleep(min(0.05 * 2**attempt, 1.0))
        outcome = "delivered" if status is not None and status < 400 else "failed"
        self.records.append(DeliveryRecord(item.subscription.url, item.event, item.headers, item.body, status, outcome))


_FLUSH = object()


# -- TLS -----------------------------------------------------------------------------------------------
def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a self-signed certificate valid for ``host``, ``localhost`` and 127.0.0.1; return (cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(alt))), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "emulator.crt", directory / "emulator.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _QuietHandler(WSGIRequestHandler):
    """Access lines go to the debug log, not stderr: the request log is the record."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path, code)


# -- the emulator --------------------------------------------------------------------------------------
class Emulator:
    """A product emulator served on loopback. Use as a context manager or call start()/stop().

    ``user``/``secret`` are the basic-auth credentials it accepts (for Jira an email and API token,
    for ServiceNow a user name and password); ``clock`` makes timestamps deterministic in tests.
    """

    product: ClassVar[str] = "emulator"
    secret_label: ClassVar[str] = "password"
    default_user: ClassVar[str] = "admin"
    default_secret: ClassVar[str] = "admin"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
        secret: str | None = None,
        tls: bool = False,
        seed: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.user = user or self.default_user
        self.secret = secret or self.default_secret
        self.tls = tls
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.requests = RequestLog()
        self.faults = Faults()
        self.webhooks = WebhookDispatcher(self.faults.webhooks, signer=self.webhook_signer(),
                                          user_agent=f"{self.product}-emulator")
        self.cert_path: Path | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.reset()
        if seed:
            self.load_seed(seed)

    # -- for subclasses --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Return to the default data set (called on construction)."""

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """Add initial records from a seed document (the format is the emulator's own)."""
        raise NotImplementedError

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        """An error in the product's own envelope."""
        return Response(json.dumps({"error": message}), status=status, headers=dict(headers or {}),
                        mimetype="application/json")

    def webhook_signer(self) -> Signer | None:
        return hub_signature

    def public_paths(self) -> tuple[str, ...]:
        """Path prefixes served without authentication."""
        return ()

    # -- auth ------------------------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return None
        ok_user = hmac.compare_digest(auth.username or "", self.user)
        ok_secret = hmac.compare_digest(auth.password or "", self.secret)
        return auth.username if ok_user and ok_secret else None

    # -- WSGI ------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)(environ, start_response)
        started = time.monotonic()
        user: str | None = None
        if self.faults.latency:
            time.sleep(self.faults.latency)
        fault = self.faults.before_auth()
        if fault is not None:
            response = self.error_response(fault.status, fault.message, fault.headers)
        else:
            user = self.authenticated_user(request)
            if user is None and not request.path.startswith(self.public_paths() or ("\0",)):
                response = self.unauthorized()
            else:
                fault = self.faults.after_auth()
                if fault is not None:
                    response = self.error_response(fault.status, fault.message, fault.headers)
                else:
                    try:
                        with self.lock:
                            response = self.handle(request)
                    except Exception:  # answer like a product would, and keep the trace for the developer
                        log.error("emulator %s failed on %s %s:\n%s", self.product, request.method,
                                  request.full_path, traceback.format_exc())
                        response = self.error_response(500, "Internal server error.")
        self.requests.append(RequestRecord(request.method, request.path, request.query_string.decode(),
                                           response.status_code, user, started, time.monotonic() - started))
        return response(environ, start_response)

    def _control(self, request: Request) -> Response:
        """Emulator-only endpoints under ``/_emulator/``: not part of any product, never faulted or logged."""
        if self.authenticated_user(request) is None:
            return self.unauthorized()
        what = request.path[len(CONTROL_PREFIX):].strip("/")
        body: dict[str, Any] = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return _json({"error": "The body must be a JSON object."}, 400)
        if what == "requests" and request.method == "GET":
            return _json([{"method": r.method, "path": r.path, "query": r.query, "status": r.status,
                           "user": r.user} for r in self.requests])
        if what == "requests" and request.method == "DELETE":
            self.requests.clear()
            return Response(status=204)
        if what == "faults" and request.method == "DELETE":
            self.faults.clear()
            return Response(status=204)
        if what == "faults" and request.method in ("POST", "PUT"):
            try:
                self._apply_faults(body)
            except (TypeError, ValueError, KeyError) as exc:
                return _json({"error": f"Unusable fault settings: {exc}"}, 400)
            return Response(status=204)
        if what == "webhooks" and request.method == "GET":
            return _json([{"id": s.id, "url": s.url, "events": sorted(s.events or []), "signed": bool(s.secret)}
                          for s in self.webhooks.subscriptions.values()])
        if what == "webhooks" and request.method == "POST":
            if not isinstance(body.get("url"), str):
                return _json({"error": "Field 'url' is required: the address to deliver webhooks to."}, 400)
            sub = self.webhooks.subscribe(body["url"], secret=body.get("secret"),
                                          events=set(body["events"]) if body.get("events") else None)
            return _json({"id": sub.id, "url": sub.url}, 201)
        if what.startswith("webhooks/") and request.method == "DELETE":
            found = self.webhooks.unsubscribe(what.split("/", 1)[1])
            return Response(status=204) if found else _json({"error": "No such webhook subscription."}, 404)
        if what == "reset" and request.method == "POST":
            with self.lock:
                self.reset()
            self.requests.clear()
            self.faults.clear()
            return Response(status=204)
        return _json({"error": f"No emulator control endpoint {request.method} {request.path}."}, 404)

    def _apply_faults(self, body: Mapping[str, Any]) -> None:
        if "latency" in body:
            self.faults.latency = float(body["latency"])
        if "outage" in body:
            self.faults.outage(bool(body["outage"]), int(body.get("outage_status", 503)))
        if "fail_next" in body:
            self.faults.fail_next(int(body["fail_next"]), int(body.get("fail_status", 503)))
        if "rate_limit" in body:
            rl = body["rate_limit"]
            if rl is None:
                self.faults.rate_limit(None)
            else:
                self.faults.rate_limit(int(rl["limit"]), float(rl.get("per", 1.0)), rl.get("retry_after"))
        hooks = body.get("webhooks") or {}
        self.faults.webhooks.drop_next(int(hooks.get("drop", 0)))
        self.faults.webhooks.duplicate_next(int(hooks.get("duplicate", 0)))
        if hooks.get("reorder"):
            self.faults.webhooks.reorder_next(int(hooks["reorder"]))

    def unauthorized(self) -> Response:
        resp = self.error_response(401, "Authentication required.")
        resp.headers["WWW-Authenticate"] = f'Basic realm="{self.product}"'
        return resp

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        ssl_context: tuple[str, str] | None = None
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"chgsync-{self.product}-tls-")
            cert, key = self_signed_certificate(Path(self._tmp.name), self.host)
            self.cert_path = cert
            ssl_context = (str(cert), str(key))
        self._server = make_server(self.host, self.requested_port, self, threaded=True,  # type: ignore[arg-type]
                                   ssl_context=ssl_context, request_handler=_QuietHandler)
        # Polling at 50 ms (werkzeug's default is 0.5 s) keeps stop(), paid once per test, cheap.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.product}-emulator", daemon=True)
        self._thread.start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"The {self.product} emulator is not running; call start() first.")
        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def basic_auth_header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.secret}".encode()).decode()

    def describe(self) -> dict[str, str]:
        """What a person needs to connect: printed by ``chgsync emulate``."""
        info = {"url": self.base_url, "user": self.user, self.secret_label: self.secret}
        if self.cert_path is not None:
            info["certificate"] = str(self.cert_path)
        return info


CONTROL_PREFIX = "/_emulator/"


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


EmulatorFactory = Callable[..., Emulator]


class EmulatorType(Component[EmulatorFactory]):
    kind = "emulator"

