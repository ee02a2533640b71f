"""Fixtures shared by this package's tests (the public ``servicenow_emulator`` comes from the plugin)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pysnow
import pytest
import requests
from chgsync_servicenow.adapter import ServiceNowAdapter, from_settings
from chgsync_servicenow.emulator import ServiceNowEmulator
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from chgsync.retry import RetryPolicy


class Clock:
    """A settable clock for the emulator, so timestamps and date queries are deterministic."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Api:
    """A thin requests wrapper for raw Table API calls against one emulator."""

    def __init__(self, emulator: ServiceNowEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.auth = (emulator.user, emulator.secret)
        self.session.headers.update({"Accept": "application/json"})

    def url(self, path: str) -> str:
        return f"{self.emulator.base_url}{path}"

    def table(self, table: str, sys_id: str = "") -> str:
        return self.url(f"/api/now/table/{table}" + (f"/{sys_id}" if sys_id else ""))

    def get(self, table: str, sys_id: str = "", **params: Any) -> requests.Response:
        return self.session.get(self.table(table, sys_id), params=params, timeout=10)

    def post(self, table: str, body: Any, **params: Any) -> requests.Response:
        return self.session.post(self.table(table), json=body, params=params, timeout=10)

    def patch(self, table: str, sys_id: str, body: Any, **params: Any) -> requests.Response:
        return self.session.patch(self.table(table, sys_id), json=body, params=params, timeout=10)

    def put(self, table: str, sys_id: str, body: Any, **params: Any) -> requests.Response:
        return self.session.put(self.table(table, sys_id), json=body, params=params, timeout=10)

    def delete(self, table: str, sys_id: str) -> requests.Response:
        return self.session.delete(self.table(table, sys_id), timeout=10)

    def query(self, table: str, query: str, **params: Any) -> list[dict[str, Any]]:
        resp = self.get(table, sysparm_query=query, **params)
        assert resp.status_code == 200, resp.text
        result: list[dict[str, Any]] = resp.json()["result"]
        return result

    def create_change(self, **fields: Any) -> dict[str, Any]:
        resp = self.post("change_request", {"short_description": "test change", **fields})
        assert resp.status_code == 201, resp.text
        record: dict[str, Any] = resp.json()["result"]
        return record


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def emulator(clock: Clock) -> Iterator[ServiceNowEmulator]:
    """Like ``servicenow_emulator`` but on the settable clock."""
    with ServiceNowEmulator(clock=clock) as emu:
        yield emu


@pytest.fixture
def api(emulator: ServiceNowEmulator) -> Api:
    return Api(emulator)


@pytest.fixture
def api_for() -> Callable[[ServiceNowEmulator], Api]:
    """Build an :class:`Api` for an emulator a test starts itself."""
    return Api


@pytest.fixture
def snow(emulator: ServiceNowEmulator) -> Iterator[pysnow.Client]:
    """The real pysnow client, pointed at the emulator over plain HTTP."""
    client = pysnow.Client(
        host=f"{emulator.host}:{emulator.port}", user=emulator.user, password=emulator.secret, use_ssl=False
    )
    yield client
    client.close()


def seed_change(emulator: ServiceNowEmulator, **fields: Any) -> str:
    """Put a change straight into any state (seeds bypass the state model); returns its sys_id."""
    before = {r["sys_id"] for r in emulator.find_records("change_request")}
    emulator.load_seed({"tables": {"change_request": [{"short_description": "seeded", **fields}]}})
    (new,) = {r["sys_id"] for r in emulator.find_records("change_request")} - before
    return new


@pytest.fixture
def make_change(emulator: ServiceNowEmulator) -> Callable[..., str]:
    return lambda **fields: seed_change(emulator, **fields)


# -- the adapter ------------------------------------------------------------------------------------------
class Sleeps(list[float]):
    """The adapter's ``sleep``: records each wait the retry policy asks for instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


#: Short backoff so retried 5xx bursts cost nothing; Retry-After is still honoured (and recorded).
FAST_RETRY = RetryPolicy(attempts=4, base=0.001, cap=0.01, max_retry_after=120.0, timeout=10.0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_adapter(sleeps: Sleeps) -> Callable[..., ServiceNowAdapter]:
    """``make_adapter(emulator, **settings)``: an adapter on that emulator through ``from_settings``."""

    def make(emu: ServiceNowEmulator, **settings: Any) -> ServiceNowAdapter:
        base = {"url": emu.base_url, "user": emu.user, "password": emu.secret, "sleep": sleeps, "retry": FAST_RETRY}
        return from_settings({**base, **settings})

    return make


@pytest.fixture
def adapter(emulator: ServiceNowEmulator, make_adapter: Callable[..., ServiceNowAdapter]) -> ServiceNowAdapter:
    return make_adapter(emulator)


class LossyProxy:
    """A loopback HTTP proxy in front of an emulator that can lose answers after the emulator acted.

    ``lose_next(method, path_part)`` forwards the next matching request to the emulator, then answers
    502 as a gateway whose upstream connection dropped would: the write landed, the client cannot tell.
    That is the ambiguous failure behind duplicate inserts and "X -> X" state writes on retry.
    """

    def __init__(self, emulator: ServiceNowEmulator) -> None:
        self.emulator = emulator
        self._lose: list[tuple[str, str]] = []
        self.lost: list[str] = []
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def lose_next(self, method: str, path_part: str = "") -> None:
        self._lose.append((method.upper(), path_part))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        match = next((m for m in self._lose if m[0] == method and m[1] in path), None)
        if match is None:
            return self.emulator(environ, start_response)
        self._lose.remove(match)
        body = b"".join(self.emulator(environ, lambda *a, **k: None))  # the emulator acts; the answer is lost
        del body
        self.lost.append(f"{method} {path}")
        return Response("<html><body>502 Bad Gateway</body></html>", status=502,
                        mimetype="text/html")(environ, start_response)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy(emulator: ServiceNowEmulator) -> Iterator[LossyProxy]:
    p = LossyProxy(emulator)
    p.start()
    try:
        yield p
    finally:
        p.stop()
