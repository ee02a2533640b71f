"""chgsync.testing.prometheus: the real servers as test fixtures, and the backfill format."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chgsync_prometheus.fixtures import require_services
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from chgsync.testing.prometheus import (
    Prometheus,
    ScrapeJob,
    Series,
    ServiceFailed,
    Stack,
    openmetrics_text,
)
from chgsync.testing.pytest_plugin import ReceivedRequest, WebhookReceiver


def deliveries(receiver: WebhookReceiver, alertname: str, status: str, timeout: float = 30.0) -> list[Any]:
    """Alertmanager payloads about ``alertname`` with ``status``, waiting until there is one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r.json() for r in list(receiver.received) if _about(r, alertname, status)]
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {status} webhook for {alertname} within {timeout:g} s")
        time.sleep(0.1)


def _about(req: ReceivedRequest, alertname: str, status: str) -> bool:
    body = req.json()
    return body.get("status") == status and body.get("groupLabels", {}).get("alertname") == alertname


def test_openmetrics_groups_families_and_sorts_samples() -> None:
    text = openmetrics_text([
        Series("req_total", {"code": "500", "path": 'a"b\\c'}, [(20, 2), (10, 1)], "counter"),
        Series("temp", {}, [(10, float("nan")), (11, float("inf"))]),
        Series("req_total", {"code": "200"}, [(10, 5)], "counter"),
    ])
    assert text == (
        "# TYPE req counter\n"
        'req_total{code="500",path="a\\"b\\\\c"} 1.0 10.000\n'
        'req_total{code="500",path="a\\"b\\\\c"} 2.0 20.000\n'
        'req_total{code="200"} 5.0 10.000\n'
        "# TYPE temp gauge\n"
        "temp NaN 10.000\n"
        "temp +Inf 11.000\n"
        "# EOF\n"
    )


def test_openmetrics_refuses_unusable_series() -> None:
    with pytest.raises(ValueError, match="_total"):
        openmetrics_text([Series("requests", {}, [(1, 1)], "counter")])
    with pytest.raises(ValueError, match="several types"):
        openmetrics_text([Series("x", {"a": "1"}, [(1, 1)], "gauge"), Series("x", {"a": "2"}, [(1, 1)], "unknown")])


def test_backfilled_history_is_queryable(prometheus_factory: Any) -> None:
    end = int(time.time()) - 120
    series = Series("demo_ratio", {"service": "cart"}, [(end - 600 + 60 * i, i / 10) for i in range(11)])
    server: Prometheus = prometheus_factory(backfill=[series])

    (got,) = server.query_range("demo_ratio", end - 600, end, timedelta(minutes=5))

    assert got["metric"] == {"__name__": "demo_ratio", "service": "cart"}
    assert [v for _, v in got["values"]] == ["0", "0.5", "1"]
    with pytest.raises(ServiceFailed, match="before starting"):
        server.backfill([series])


def test_alerts_posted_to_alertmanager_reach_the_webhook(prometheus_stack: Stack,
                                                         alertmanager_webhooks: WebhookReceiver) -> None:
    labels = {"alertname": "PostedHighErrorRate", "service": "cart"}
    prometheus_stack.alertmanager.post_alerts([{"labels": labels, "annotations": {"summary": "5xx above 5%"}}])

    (firing, *_) = deliveries(alertmanager_webhooks, "PostedHighErrorRate", "firing")
    assert firing["receiver"] == "chgsync" and firing["version"] == "4"
    assert firing["alerts"][0]["labels"] == labels
    assert firing["externalURL"] == prometheus_stack.alertmanager.url

    now = datetime.now(UTC)
    prometheus_stack.alertmanager.post_alerts([{"labels": labels, "startsAt": now - timedelta(minutes=1),
                                                "endsAt": now}])
    (resolved, *_) = deliveries(alertmanager_webhooks, "PostedHighErrorRate", "resolved")
    assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"


@pytest.fixture
def exporter() -> Iterator[tuple[str, Gauge]]:
    """A /metrics endpoint like the daemon's, with one gauge the test sets."""
    registry = CollectorRegistry()
    gauge = Gauge("chgsync_test_error_ratio", "An error ratio for the rule to watch.", registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}", gauge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.slow
def test_rule_alert_travels_from_scrape_to_webhook(prometheus_factory: Any, prometheus_stack: Stack,
                                                   alertmanager_webhooks: WebhookReceiver,
                                                   exporter: tuple[str, Gauge]) -> None:
    """A scraped target, a rule file and the alerting section all work together."""
    target, gauge = exporter
    gauge.set(0.09)
    rules = {"groups": [{"name": "chgsync-test", "rules": [
        {"alert": "ScrapedHighErrorRate", "expr": "chgsync_test_error_ratio > 0.05", "for": "0s",
         "labels": {"service": "cart"}}]}]}
    server: Prometheus = prometheus_factory(jobs=[ScrapeJob("daemon", [target])],
                                            alertmanager=prometheus_stack.alertmanager.address, rules=rules)

    (firing, *_) = deliveries(alertmanager_webhooks, "ScrapedHighErrorRate", "firing")
    alert = firing["alerts"][0]
    assert alert["labels"]["job"] == "daemon" and alert["labels"]["instance"] == target
    assert alert["generatorURL"].startswith(server.url)

    gauge.set(0.01)
    deliveries(alertmanager_webhooks, "ScrapedHighErrorRate", "resolved")


def test_stack_records_start_up_times(prometheus_stack: Stack) -> None:
    times = prometheus_stack.ready_after()
    assert set(times) == {"pushgateway", "alertmanager", "prometheus"}
    assert all(t is not None and t > 0 for t in times.values())
    assert {t["labels"]["job"]: t["health"] for t in prometheus_stack.prometheus.targets()} == {"pushgateway": "up"}


def test_missing_programs_skip_locally_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="prometheus-pushgateway.*tools/install-services"):
        require_services("prometheus-pushgateway")

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run these tests"):
        require_services("prometheus-pushgateway")


def test_a_server_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    require_services("prometheus")
    broken = Prometheus(tmp_path, interval="soon")  # not a duration: Prometheus refuses its config

    try:
        with pytest.raises(ServiceFailed, match="exited") as err:
            broken.start()
    finally:
        broken.stop()

    assert "soon" in str(err.value)  # the log tail says what was wrong
