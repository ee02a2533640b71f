"""The prometheus metric backend against a real Prometheus holding an hour of backfilled traffic."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_prometheus.backend import QueryRejected, from_settings

from chgsync.errors import InputError, RateLimited, RemoteError
from chgsync.model import MetricCondition
from chgsync.testing.prometheus import Prometheus
from chgsync.triggers import MetricBackend, TriggerState, judge, window

STEP = timedelta(minutes=1)


def condition(query: str, threshold: float = 0.05, hold: str = "PT10M") -> MetricCondition:
    return MetricCondition.model_validate({"query": query, "op": ">", "threshold": threshold, "for": hold})


def test_trigger_holds_after_the_error_ratio_rose(history: Any) -> None:
    backend = from_settings({"url": history.prometheus.url})
    assert isinstance(backend, MetricBackend)
    cond = condition(history.ratio)
    start, end = window(cond, history.end, STEP)

    samples = backend.series(cond.query, start, end, STEP)

    assert [t for t, _ in samples] == [start + n * STEP for n in range(11)]
    assert all(v == pytest.approx(0.09, abs=0.002) for _, v in samples)
    verdict = judge(cond, samples, history.end)
    assert verdict.state == TriggerState.HOLDS
    assert verdict.value == pytest.approx(0.09, abs=0.002)


def test_trigger_is_clear_before_the_midpoint(history: Any) -> None:
    backend = from_settings({"url": history.prometheus.url})
    cond = condition(history.ratio)
    now = history.midpoint - timedelta(minutes=2)

    samples = backend.series(cond.query, *window(cond, now, STEP), STEP)

    assert samples and all(v == pytest.approx(0.01, abs=0.002) for _, v in samples)
    assert judge(cond, samples, now).state == TriggerState.CLEAR


def test_the_rise_is_seen_across_the_midpoint(history: Any) -> None:
    backend = from_settings({"url": history.prometheus.url})
    samples = backend.series(history.ratio, history.midpoint - timedelta(minutes=10),
                             history.midpoint + timedelta(minutes=10), STEP)

    values = [v for _, v in samples]
    assert values[0] == pytest.approx(0.01, abs=0.002) and values[-1] == pytest.approx(0.09, abs=0.002)
    assert values == sorted(values)  # the 5m rate window slides from one level to the other


def test_several_series_fold_into_the_largest(history: Any) -> None:
    query = 'rate(http_requests_total{service="checkout"}[5m])'
    start, end = history.end - timedelta(minutes=5), history.end
    backend = from_settings({"url": history.prometheus.url})

    samples = backend.series(query, start, end, STEP)

    raw = history.prometheus.query_range(query, start, end, STEP)
    assert len(raw) == 2
    per_time: dict[float, list[float]] = {}
    for s in raw:
        for ts, v in s["values"]:
            per_time.setdefault(ts, []).append(float(v))
    assert samples == [(datetime.fromtimestamp(ts, UTC), max(vs)) for ts, vs in sorted(per_time.items())]
    assert all(v == pytest.approx(9.1, abs=0.05) for _, v in samples)  # the 200s, not the 500s


def test_no_data_and_nan_leave_the_trigger_unknown(history: Any) -> None:
    backend = from_settings({"url": history.prometheus.url})
    start, end = history.end - timedelta(minutes=3), history.end
    cond = condition('sum(rate(http_requests_total{service="gone"}[5m]))')

    assert backend.series(cond.query, start, end, STEP) == []
    assert judge(cond, [], end).state == TriggerState.UNKNOWN

    nan = backend.series("vector(0) / vector(0)", start, end, STEP)
    assert len(nan) == 4 and all(math.isnan(v) for _, v in nan)
    assert judge(cond, nan, end).state == TriggerState.UNKNOWN

    inf = backend.series("vector(1) / vector(0)", start, end, STEP)
    assert all(v == math.inf for _, v in inf)
    assert judge(condition("vector(1) / vector(0)"), inf, end).state == TriggerState.HOLDS


def test_malformed_query_is_an_input_error_naming_it(history: Any) -> None:
    backend = from_settings({"url": history.prometheus.url})

    with pytest.raises(QueryRejected) as err:
        backend.series("sum(rate(http_requests_total[5m]", history.start, history.end, STEP)

    assert isinstance(err.value, InputError) and not isinstance(err.value, RemoteError)
    assert err.value.query == "sum(rate(http_requests_total[5m]"
    assert err.value.error_type == "bad_data"
    assert "'sum(rate(http_requests_total[5m]'" in str(err.value) and "parse error" in str(err.value)


def test_query_that_cannot_run_is_not_retried(history: Any) -> None:
    """422: parses, but many-to-many matching fails the same way on every try."""
    backend = from_settings({"url": history.prometheus.url})
    query = 'http_requests_total{service="checkout"} / on(service) http_requests_total{service="checkout"}'

    with pytest.raises(RemoteError) as err:
        backend.series(query, history.end - STEP, history.end, STEP)

    assert err.value.status == 422 and not err.value.retryable
    assert "many-to-many" in err.value.remote_message


def test_stopped_server_is_retryable(prometheus_factory: Any) -> None:
    server: Prometheus = prometheus_factory()
    backend = from_settings({"url": server.url, "timeout": 2})
    now = datetime.now(UTC)
    assert [v for _, v in backend.series("vector(1)", now - STEP, now, STEP)] == [1.0, 1.0]

    server.stop()
    with pytest.raises(RemoteError) as err:
        backend.series("vector(1)", now - STEP, now, STEP)

    assert err.value.status is None and err.value.retryable


def test_no_answer_is_retryable(silent_url: str) -> None:
    backend = from_settings({"url": silent_url, "timeout": 0.3})
    now = datetime.now(UTC)

    with pytest.raises(RemoteError) as err:
        backend.series("vector(1)", now - STEP, now, STEP)

    assert err.value.status is None and err.value.retryable and "0.3 s" in err.value.remote_message


@pytest.mark.parametrize(("status", "body"), [
    (503, {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}),
    (500, {"status": "error", "errorType": "internal", "error": "storage unavailable"}),
    (502, "<html>Bad Gateway</html>"),
])
def test_server_side_failures_are_retryable(canned: Any, status: int, body: Any) -> None:
    canned.status, canned.body = status, body if isinstance(body, str) else json.dumps(body)
    backend = from_settings({"url": canned.base_url})
    now = datetime.now(UTC)

    with pytest.raises(RemoteError) as err:
        backend.series("vector(1)", now - STEP, now, STEP)

    assert err.value.status == status and err.value.retryable


def test_rate_limit_carries_retry_after(canned: Any) -> None:
    canned.status, canned.headers = 429, {"Retry-After": "7"}
    canned.body = json.dumps({"status": "error", "errorType": "unavailable", "error": "too many queries"})
    backend = from_settings({"url": canned.base_url})
    now = datetime.now(UTC)

    with pytest.raises(RateLimited) as err:
        backend.series("vector(1)", now - STEP, now, STEP)

    assert err.value.retry_after == 7 and err.value.retryable


def test_request_shape_and_bearer_token(canned: Any) -> None:
    canned.body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"pod": "a"}, "values": [[1800000000, "0.5"], [1800000060, "NaN"]]},
        {"metric": {"pod": "b"}, "values": [[1800000000, "0.25"], [1800000060, "+Inf"]]}]}})
    backend = from_settings({"url": canned.base_url + "/prom/", "token": "t0ken", "timeout": 4})
    start = datetime.fromtimestamp(1800000000, UTC)

    samples = backend.series("up", start, start + STEP, STEP)

    assert samples == [(start, 0.5), (start + STEP, math.inf)]
    (req,) = canned.received
    assert (req.method, req.path) == ("POST", "/prom/api/v1/query_range")
    assert req.headers["Authorization"] == "Bearer t0ken"
    form = dict(pair.split("=", 1) for pair in req.body.decode().split("&"))
    assert form == {"query": "up", "start": "1800000000.000", "end": "1800000060.000", "step": "60", "timeout": "4"}


def test_basic_auth_and_refusal(canned: Any) -> None:
    backend = from_settings({"url": canned.base_url, "user": "grafana", "password": "pw"})
    now = datetime.now(UTC)
    backend.series("up", now - STEP, now, STEP)
    assert canned.received[0].headers["Authorization"] == "Basic " + base64.b64encode(b"grafana:pw").decode()

    canned.status, canned.body = 401, "Unauthorized"
    with pytest.raises(RemoteError) as err:
        backend.series("up", now - STEP, now, STEP)
    assert err.value.status == 401 and not err.value.retryable
