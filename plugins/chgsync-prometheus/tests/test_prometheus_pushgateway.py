"""The pushgateway marker sink against a real Pushgateway scraped by a real Prometheus.

Each test uses its own service names: the stack is shared by the session.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import requests
from chgsync_prometheus.pushgateway import from_settings

from chgsync.errors import RemoteError
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSink
from chgsync.testing.prometheus import Pushgateway, Stack

MakeMarker = Callable[..., DeployMarker]


def one(result: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(result) == 1, result
    return result[0]


def group_labels(gateway: Pushgateway) -> list[dict[str, str]]:
    return [g["labels"] for g in gateway.groups()]


def test_marker_is_scraped_with_its_change_id(prometheus_stack: Stack, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": prometheus_stack.pushgateway.url})
    assert isinstance(sink, MarkerSink)
    m = make_marker("CHG-1001", services=("cart-a",))

    assert sink.mark(m) is None

    info = one(prometheus_stack.prometheus.wait_for('chgsync_deployment_info{service="cart-a"}'))
    assert info["metric"] == {"__name__": "chgsync_deployment_info", "job": "chgsync",
                              "service": "cart-a", "env": "prod", "change_id": "CHG-1001", "phase": "started"}
    at = one(prometheus_stack.prometheus.query('chgsync_deployment_timestamp_seconds{service="cart-a"}'))
    assert float(at["value"][1]) == m.at.timestamp()
    started = one(prometheus_stack.prometheus.query('chgsync_deployment_started_timestamp_seconds{service="cart-a"}'))
    assert float(started["value"][1]) == m.at.timestamp()  # a start marker starts now
    outcome = one(prometheus_stack.prometheus.query('chgsync_deployment_outcome{service="cart-a"}'))
    assert (outcome["metric"]["outcome"], outcome["value"][1]) == ("in_progress", "1")


def test_next_change_replaces_the_previous_one(prometheus_stack: Stack, make_marker: MakeMarker) -> None:
    """At most one live change_id per service and environment: the info series stays bounded."""
    sink = from_settings({"url": prometheus_stack.pushgateway.url})
    prom = prometheus_stack.prometheus
    sink.mark(make_marker("CHG-2001", services=("cart-b",)))
    prom.wait_for('chgsync_deployment_info{service="cart-b",change_id="CHG-2001"}')

    done = make_marker("CHG-2002", MarkerPhase.FINISHED, services=("cart-b",), outcome="successful")
    sink.mark(done)

    latest = prom.wait_for('chgsync_deployment_info{service="cart-b"}',
                           until=lambda r: [s["metric"]["change_id"] for s in r] == ["CHG-2002"])
    assert one(latest)["metric"]["phase"] == "finished"
    outcome = one(prom.query('chgsync_deployment_outcome{service="cart-b"}'))
    assert outcome["metric"]["outcome"] == "successful"
    started = one(prom.query('chgsync_deployment_started_timestamp_seconds{service="cart-b"}'))
    assert done.started_at is not None and float(started["value"][1]) == done.started_at.timestamp()
    groups = [g for g in group_labels(prometheus_stack.pushgateway) if g.get("service") == "cart-b"]
    assert groups == [{"job": "chgsync", "service": "cart-b", "env": "prod"}]


def test_rollback_marker_reports_its_outcome(prometheus_stack: Stack, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": prometheus_stack.pushgateway.url})
    sink.mark(make_marker("CHG-2101", MarkerPhase.ROLLED_BACK, services=("cart-r",)))

    outcome = one(prometheus_stack.prometheus.wait_for('chgsync_deployment_outcome{service="cart-r"}'))
    assert outcome["metric"]["outcome"] == "rolled_back"
    info = one(prometheus_stack.prometheus.query('chgsync_deployment_info{service="cart-r"}'))
    assert info["metric"]["phase"] == "rolled_back"


def test_one_group_per_service_and_environment(pushgateway_server: Pushgateway, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": pushgateway_server.url, "job": "deploys"})
    sink.mark(make_marker("CHG-3001", services=("cart", "payments"), environment="staging"))
    sink.mark(make_marker("CHG-3002", services=("cart",), environment="prod"))
    sink.mark(make_marker("CHG-3002", services=("cart",), environment="prod"))  # the outbox's retry

    labels = sorted(group_labels(pushgateway_server), key=lambda g: (g["service"], g["env"]))
    assert labels == [{"job": "deploys", "service": "cart", "env": "prod"},
                      {"job": "deploys", "service": "cart", "env": "staging"},
                      {"job": "deploys", "service": "payments", "env": "staging"}]


def test_service_names_with_slashes_are_encoded(pushgateway_server: Pushgateway, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": pushgateway_server.url})
    sink.mark(make_marker("CHG-3101", services=("shop/cart",), environment=""))

    (labels,) = group_labels(pushgateway_server)
    assert labels["service"] == "shop/cart"
    assert labels.get("env", "") == ""


def test_refused_push_is_not_retried(pushgateway_server: Pushgateway, make_marker: MakeMarker) -> None:
    """A group elsewhere holds the marker's metric name as a counter: the gateway refuses the gauge."""
    clash = "# TYPE chgsync_deployment_timestamp_seconds counter\nchgsync_deployment_timestamp_seconds 5\n"
    requests.put(f"{pushgateway_server.url}/metrics/job/other", data=clash, timeout=5).raise_for_status()
    sink = from_settings({"url": pushgateway_server.url})

    with pytest.raises(RemoteError) as err:
        sink.mark(make_marker("CHG-3201", services=("cart",)))

    assert err.value.status == 400 and not err.value.retryable
    assert "is not a COUNTER" in err.value.remote_message
    assert "CHG-3201" in str(err.value)


def test_stopped_gateway_is_retryable(pushgateway_server: Pushgateway, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": pushgateway_server.url, "timeout": 2})
    pushgateway_server.stop()

    with pytest.raises(RemoteError) as err:
        sink.mark(make_marker("CHG-3301"))

    assert err.value.status is None and err.value.retryable


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(canned: Any, make_marker: MakeMarker, status: int) -> None:
    canned.status, canned.body = status, "upstream unavailable"
    sink = from_settings({"url": canned.base_url})

    with pytest.raises(RemoteError) as err:
        sink.mark(make_marker("CHG-3401"))

    assert err.value.status == status and err.value.retryable
    assert err.value.remote_message == "upstream unavailable"


def test_basic_auth_is_sent_and_refusal_is_final(canned: Any, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": canned.base_url, "user": "chgsync", "password": "s3cret"})
    sink.mark(make_marker("CHG-3501", services=("cart",)))

    (req,) = canned.received
    assert req.method == "PUT"
    assert req.path == "/metrics/job/chgsync/env/prod/service/cart"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"chgsync:s3cret").decode()
    assert b'chgsync_deployment_info{change_id="CHG-3501",phase="started"} 1.0' in req.body

    canned.status, canned.body = 401, "Unauthorized"
    with pytest.raises(RemoteError) as err:
        sink.mark(make_marker("CHG-3502"))
    assert err.value.status == 401 and not err.value.retryable


def test_no_answer_is_retryable(silent_url: str, make_marker: MakeMarker) -> None:
    sink = from_settings({"url": silent_url, "timeout": 0.3})

    with pytest.raises(RemoteError) as err:
        sink.mark(make_marker("CHG-3601"))

    assert err.value.status is None and err.value.retryable
