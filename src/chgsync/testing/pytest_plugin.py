"""pytest fixtures for chgsync and its plugin authors (loaded through the ``pytest11`` entry point).

``chgsync_plugins``
    A :class:`chgsync.plugins.Plugins` with only the built-in plugins: installed third-party
    plugins never leak into a test. Register the plugin under test with ``chgsync_plugins.register``.
``store_url``
    Runs a test twice: on an SQLite file and on a fresh PostgreSQL schema (see
    :mod:`chgsync.testing.databases`).
``webhook_receiver``
    A loopback HTTP server that records every request it receives, for testing outbound webhooks.

Emulator fixtures (``jira_emulator``, ``servicenow_emulator``) come from the plugin packages that
ship the emulators, built with :func:`emulator_fixture`; :func:`closing_all` builds the fixtures
that hand a test a factory of notifiers or sinks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import pytest
from werkzeug.serving import make_server

from .emulator import _QuietHandler
from werkzeug.wrappers import Request, Response

from ..plugins import Plugins
from .databases import store_url
from .emulator import Emulator

__all__ = ["chgsync_plugins", "closing_all", "emulator_fixture", "store_url", "webhook_receiver"]

P = ParamSpec("P")
T = TypeVar("T")


@pytest.fixture
def chgsync_plugins() -> Plugins:
    return Plugins(load_entrypoints=False)


def emulator_fixture(factory: Callable[..., Emulator], **kwargs: Any) -> Any:
    """Build a function-scoped pytest fixture that serves a fresh emulator for each test."""

    @pytest.fixture
    def _fixture() -> Iterator[Emulator]:
        with factory(**kwargs) as emulator:
            yield emulator

    return _fixture


def closing_all(build: Callable[P, T]) -> Iterator[Callable[P, T]]:
    """For a fixture that hands a test a factory: ``yield from closing_all(build)``.

    The test builds as many notifiers or sinks as it likes; each is closed when the test ends, so
    no HTTP session outlives it holding a socket to a stand-in that is already gone.
    """
    made: list[T] = []

    def make(*args: P.args, **kwargs: P.kwargs) -> T:
        made.append(build(*args, **kwargs))
        return made[-1]

    yield make
    for item in made:
        close = getattr(item, "close", None)
        if callable(close):
            close()


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records requests; answers ``status`` (settable) so tests can make deliveries fail."""

    def __init__(self) -> None:
        self.received: list[ReceivedRequest] = []
        self.status = 200
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self, threaded=True,  # type: ignore[arg-type]
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        req = Request(environ)
        with self._cond:
            self.received.append(ReceivedRequest(req.method, req.path, dict(req.headers), req.get_data()))
            self._cond.notify_all()
        return Response("{}", status=self.status, mimetype="application/json")(environ, start_response)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Wait until at least ``count`` requests arrived; fail the test if they do not."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} webhook deliveries, got {len(self.received)}")
            return list(self.received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
