"""HTTP intake: webhooks in, health out.

A delivery is verified and parsed by its adapter (so a malformed or unsigned body is refused with
a JSON reason and never stored), written to the inbox, and only then answered 202. A redelivery
of a stored delivery id answers 202 too, without storing it twice.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..errors import WebhookRejected
from ..signals import SignalRejected, delivery_id, parse_alertmanager, parse_incident

if TYPE_CHECKING:
    from .runner import Daemon

log = logging.getLogger(__name__)


def _reject(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"status": "rejected", "reason": reason}, status_code=status)


def build_app(daemon: Daemon) -> FastAPI:
    app = FastAPI(title="chgsync", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/webhooks/{system}")
    async def webhook(system: str, request: Request) -> Response:
        adapter = daemon.adapters.get(system)
        if adapter is None:
            return _reject(404, f"No adapter named {system!r} is configured; known: {', '.join(daemon.adapters)}.")
        declared = request.headers.get("content-length")
        limit = daemon.config.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _reject(413, f"The body is larger than {limit} bytes.")
        body = await request.body()
        if len(body) > limit:
            return _reject(413, f"The body is larger than {limit} bytes.")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            event = adapter.parse_webhook(headers, body)
        except WebhookRejected as exc:
            daemon.metrics.webhook_rejected(system, exc.status)
            return _reject(exc.status, str(exc))
        except Exception as exc:  # any parse failure is the sender's problem, stated, not a 500
            daemon.metrics.webhook_rejected(system, 400)
            return _reject(400, f"The body is not a usable {system} webhook: {exc}")
        with daemon.store.begin() as conn:
            stored = daemon.store.add_inbox(conn, system, event.delivery_id, "webhook", headers, body)
        daemon.metrics.webhook_received(system, duplicate=not stored)
        daemon.wake()
        return JSONResponse({"status": "accepted", "delivery": event.delivery_id, "duplicate": not stored},
                            status_code=202)

    @app.post("/alerts/alertmanager")
    async def alertmanager(request: Request) -> Response:
        return await _signal(request, "alertmanager")

    @app.post("/incidents")
    async def incident(request: Request) -> Response:
        return await _signal(request, "incidents")

    async def _signal(request: Request, source: str) -> Response:
        """Alerts and incidents: checked, parsed, stored, then 202; correlated by the inbox worker."""
        if daemon.alerts_token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {daemon.alerts_token}".encode()):
                daemon.metrics.webhook_rejected(source, 401)
                return _reject(401, "A bearer token is required (Authorization: Bearer ...); the one given is "
                                    "missing or wrong.")
        body = await request.body()
        if len(body) > daemon.config.max_body_bytes:
            daemon.metrics.webhook_rejected(source, 413)
            return _reject(413, f"The body is larger than {daemon.config.max_body_bytes} bytes.")
        parse = parse_alertmanager if source == "alertmanager" else parse_incident
        try:
            signals = parse(body)
        except SignalRejected as exc:
            daemon.metrics.webhook_rejected(source, exc.status)
            return _reject(exc.status, str(exc))
        delivery = delivery_id(source, signals, body)
        if not signals:  # only resolved alerts: nothing new to correlate, nothing to store
            return JSONResponse({"status": "accepted", "delivery": delivery, "signals": 0}, status_code=202)
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
        with daemon.store.begin() as conn:
            stored = daemon.store.add_inbox(conn, source, delivery, "webhook", headers, body)
        daemon.metrics.webhook_received(source, duplicate=not stored)
        daemon.wake()
        return JSONResponse({"status": "accepted", "delivery": delivery, "signals": len(signals),
                             "duplicate": not stored}, status_code=202)

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        problems = daemon.readiness_problems()
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    def metrics() -> Response:
        # Not async: reading the depths queries the store, which must not block the event loop
        # (webhooks keep arriving while Prometheus scrapes); FastAPI runs this in its thread pool.
        body, content_type = daemon.metrics.render(lambda: daemon.metrics.refresh_from(daemon.store, daemon.clock()))
        return Response(body, media_type=content_type)

    return app
