"""Shared pieces of this package's tests: backfilled history, canned HTTP answers, a silent port.

The real servers come from the package's fixtures (``prometheus_stack``, ``prometheus_factory``,
``pushgateway_server``); the canned server covers answers a healthy Prometheus or Pushgateway
cannot be made to give on demand (429, 5xx from a proxy, 401 from an authenticating proxy).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_prometheus.fixtures import require_services, serving
from werkzeug.wrappers import Request, Response

from chgsync.markers import DeployMarker, MarkerPhase
from chgsync.testing.prometheus import PROMETHEUS, PROMTOOL, Prometheus, Series
from chgsync.testing.pytest_plugin import ReceivedRequest, WebhookReceiver

# -- history -----------------------------------------------------------------------------------------------
RATIO = ('sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / '
         'sum(rate(http_requests_total{service="checkout"}[5m]))')


@dataclass(frozen=True)
class History:
    """One hour of checkout traffic at 10 requests/s: 1 % errors, then 9 % from ``midpoint`` on."""

    prometheus: Prometheus
    ratio: str
    start: datetime
    midpoint: datetime
    end: datetime


def error_ratio_series(start: int, end: int, step: int = 15) -> list[Series]:
    midpoint = (start + end) // 2
    ok: list[tuple[float, float]] = []
    errors: list[tuple[float, float]] = []
    ok_total = err_total = 0.0
    for t in range(start, end + 1, step):
        ok.append((t, ok_total))
        errors.append((t, err_total))
        ratio = 0.01 if t < midpoint else 0.09
        err_total += 10 * step * ratio
        ok_total += 10 * step * (1 - ratio)
    labels = {"service": "checkout", "job": "web"}
    return [Series("http_requests_total", {**labels, "code": "200"}, ok, "counter"),
            Series("http_requests_total", {**labels, "code": "500"}, errors, "counter")]


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    require_services(PROMETHEUS, PROMTOOL)
    end = int(time.time()) // 60 * 60 - 60
    start = end - 3600
    server = Prometheus(tmp_path_factory.mktemp("history"))
    server.backfill(error_ratio_series(start, end))
    with server:
        yield History(server, RATIO, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp((start + end) // 2, UTC),
                      datetime.fromtimestamp(end, UTC))


# -- canned answers ----------------------------------------------------------------------------------------
class CannedServer(WebhookReceiver):
    """Records each request and answers with ``status``, ``body`` and ``headers`` (settable)."""

    def __init__(self) -> None:
        super().__init__()
        self.body: str = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}})
        self.headers: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        req = Request(environ)
        with self._cond:
            self.received.append(ReceivedRequest(req.method, req.path, dict(req.headers), req.get_data()))
            self._cond.notify_all()
        return Response(self.body, status=self.status, headers=self.headers,
                        mimetype="application/json")(environ, start_response)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    with serving(CannedServer()) as server:
        yield server


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) but never answers: a hung server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


# -- markers -----------------------------------------------------------------------------------------------
@pytest.fixture
def make_marker() -> Callable[..., DeployMarker]:
    """``make_marker("CHG-1", phase, services=..., environment=..., outcome=..., at=...)``."""

    def make(change_id: str, phase: MarkerPhase = MarkerPhase.STARTED, *, services: tuple[str, ...] = ("checkout",),
             environment: str = "prod", outcome: str | None = None, at: datetime | None = None) -> DeployMarker:
        at = at or datetime.now(UTC).replace(microsecond=0)
        started = None if phase == MarkerPhase.STARTED else at - timedelta(minutes=20)
        return DeployMarker(key=f"{change_id}:mark:{phase.value}", change_id=change_id, phase=phase, at=at,
                            services=services, environment=environment, outcome=outcome, title="Upgrade the cart",
                            started_at=started)

    return make
