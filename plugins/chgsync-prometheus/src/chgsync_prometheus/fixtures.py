"""pytest fixtures running the real Prometheus servers (loaded through the ``pytest11`` entry point).

``prometheus_stack``
    Session-wide :class:`chgsync.testing.prometheus.Stack`: a Pushgateway, an Alertmanager that
    sends every alert to ``alertmanager_webhooks``, and a Prometheus scraping the gateway every
    second. Shared because Prometheus's first scrape takes about 5 s: tests keep apart by using
    their own label values (service names), never by restarting it.
``alertmanager_webhooks``
    The :class:`chgsync.testing.pytest_plugin.WebhookReceiver` behind the stack's Alertmanager.
``pushgateway_server``
    A fresh Pushgateway for one test (to stop it, or to fill it with conflicting groups).
``prometheus_factory``
    ``prometheus_factory(jobs=..., backfill=[Series...], rules=...)`` starts a Prometheus for one
    test (backfilled before start when asked) and stops it afterwards.

When a program is missing the tests are skipped with the reason, except under CI (``CI`` set),
where they fail: CI must run them (``tools/install-services`` installs the programs).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chgsync.testing.prometheus import (
    PROMETHEUS,
    PROMTOOL,
    PUSHGATEWAY,
    Prometheus,
    Pushgateway,
    Series,
    ServicesMissing,
    Stack,
    missing_programs,
)
from chgsync.testing.pytest_plugin import WebhookReceiver

R = TypeVar("R", bound=WebhookReceiver)


def require_services(*programs: str) -> None:
    """Skip (locally) or fail (under CI) when any of ``programs`` (default: all) is missing."""
    missing = missing_programs(*programs)
    if not missing:
        return
    reason = str(ServicesMissing(missing))
    if os.environ.get("CI"):
        pytest.fail(f"{reason} CI must run these tests.", pytrace=False)
    pytest.skip(reason)


@contextmanager
def serving(receiver: R) -> Iterator[R]:
    """A loopback receiver (or a subclass answering otherwise) running for the ``with`` block."""
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def alertmanager_webhooks() -> Iterator[WebhookReceiver]:
    with serving(WebhookReceiver()) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def prometheus_stack(tmp_path_factory: pytest.TempPathFactory,
                     alertmanager_webhooks: WebhookReceiver) -> Iterator[Stack]:
    require_services()
    with Stack(tmp_path_factory.mktemp("prometheus-stack"), webhook_url=alertmanager_webhooks.url) as stack:
        yield stack


@pytest.fixture
def pushgateway_server(tmp_path: Path) -> Iterator[Pushgateway]:
    require_services(PUSHGATEWAY)
    with Pushgateway(tmp_path) as gateway:
        yield gateway


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    started: list[Prometheus] = []

    def make(*, backfill: Iterable[Series] | None = None, **kwargs: Any) -> Prometheus:
        require_services(PROMETHEUS, PROMTOOL)
        server = Prometheus(tmp_path / f"p{len(started)}", **kwargs)
        started.append(server)
        if backfill is not None:
            server.backfill(backfill)
        return server.start()

    try:
        yield make
    finally:
        for server in started:
            server.stop()
