"""The datadog marker sink, through the real datadog-api-client, against the Datadog stand-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chgsync_datadog.sink import DatadogSink, deployment_id, from_settings
from chgsync_datadog.standin import DatadogStandIn
from werkzeug.wrappers import Request, Response

from chgsync.errors import RateLimited, RemoteError
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSink
from chgsync.testing import assert_registers, config_problem

MakeSink = Callable[..., DatadogSink]
MakeMarker = Callable[..., DeployMarker]


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def test_started_marker_posts_one_event(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    sink = make_sink()
    assert isinstance(sink, MarkerSink)
    m = marker()

    made = sink.mark(m)

    (event,) = standin.events
    assert made == event["id_str"] == str(event["id"])
    assert event["title"] == "CHG-1001 started: Upgrade the cart"
    assert event["alert_type"] == "info" and event["source_type_name"] == "chgsync"
    assert event["aggregation_key"] == "CHG-1001"
    assert event["date_happened"] == int(m.at.timestamp())
    assert set(event["tags"]) == {"change_id:chg-1001", "env:prod", "source:chgsync", "phase:started",
                                  "service:checkout"}
    assert "Change CHG-1001 started on checkout in prod." in event["text"]
    assert "Jira: https://acme.atlassian.net/browse/CHG-1001" in event["text"]
    assert "related_event_id" not in event
    assert standin.deployments == {}  # a change that has only started is no deployment yet


def test_finished_marker_threads_its_event_and_records_deployments(standin: DatadogStandIn, make_sink: MakeSink,
                                                                   marker: MakeMarker) -> None:
    sink = make_sink()
    first = sink.mark(marker())
    done = marker(MarkerPhase.FINISHED, outcome="successful", services=("checkout", "payments"), previous=first)

    sink.mark(done)

    later = standin.events[1]
    assert later["related_event_id"] == int(str(first))
    assert later["title"] == "CHG-1001 finished (successful): Upgrade the cart"
    assert later["alert_type"] == "success"
    assert [e["id_str"] for e in standin.events_tagged("change_id:CHG-1001")] == [first, later["id_str"]]
    assert sorted(standin.deployments) == ["chgsync:CHG-1001:checkout", "chgsync:CHG-1001:payments"]
    dep = standin.deployments["chgsync:CHG-1001:checkout"]
    assert dep["service"] == "checkout" and dep["env"] == "prod"
    assert done.started_at is not None
    assert (dep["started_at"], dep["finished_at"]) == (ns(done.started_at), ns(done.at))
    assert {"change_id:chg-1001", "outcome:successful", "change_type:normal", "risk:moderate"} <= set(dep["custom_tags"])
    assert len(standin.deployments_tagged("change_id:chg-1001", "outcome:successful")) == 2


@pytest.mark.parametrize(("phase", "outcome", "alert", "title"), [
    (MarkerPhase.FINISHED, "successful_with_issues", "warning", "CHG-1001 finished (successful with issues)"),
    (MarkerPhase.FINISHED, "unsuccessful", "error", "CHG-1001 finished (unsuccessful)"),
    (MarkerPhase.ROLLED_BACK, "rolled_back", "error", "CHG-1001 rolled back"),
    (MarkerPhase.FINISHED, None, "success", "CHG-1001 finished (successful)"),
])
def test_outcome_decides_how_the_event_looks(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker,
                                             phase: MarkerPhase, outcome: str | None, alert: str, title: str) -> None:
    make_sink().mark(marker(phase, outcome=outcome, title=""))

    (event,) = standin.events
    assert (event["alert_type"], event["title"]) == (alert, title)
    (dep,) = standin.deployments.values()
    assert f"outcome:{outcome or 'successful'}" in dep["custom_tags"]


def test_retry_after_a_failed_event_overwrites_the_deployment(standin: DatadogStandIn, make_sink: MakeSink,
                                                              marker: MakeMarker) -> None:
    """The deployment landed, the event did not: the outbox's retry must not add a second deployment."""
    answer = standin.handle
    failed: list[str] = []

    def flaky(request: Request) -> Response:
        if request.path == "/api/v1/events" and not failed:
            failed.append(request.path)
            return standin.error_response(503, "Service unavailable")
        return answer(request)

    standin.handle = flaky  # type: ignore[method-assign]
    sink, done = make_sink(), marker(MarkerPhase.FINISHED, outcome="successful")

    with pytest.raises(RemoteError) as err:
        sink.mark(done)
    assert err.value.status == 503 and err.value.retryable
    sink.mark(done)

    assert len(standin.deployment_posts) == 2 and list(standin.deployments) == ["chgsync:CHG-1001:checkout"]
    assert len(standin.events) == 1


def test_late_marker_goes_out_undated(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    """Datadog refuses events dated more than 18 h back; the time moves into the text instead."""
    old = marker(at=datetime.now(UTC) - timedelta(hours=20))

    make_sink().mark(old)

    (event,) = standin.events
    assert event["date_happened"] >= int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    assert f"Happened at {old.at.isoformat()}" in event["text"]


def test_refused_event_is_not_retried(standin: DatadogStandIn, marker: MakeMarker) -> None:
    """A sink whose clock lags dates an old event; the stand-in refuses it like Datadog: 400, final."""
    old = marker(at=datetime.now(UTC) - timedelta(hours=20))
    settings = from_settings({"api_key": standin.secret, "host": standin.base_url}).settings
    sink = DatadogSink(settings, clock=lambda: old.at)

    with pytest.raises(RemoteError) as err:
        sink.mark(old)

    assert err.value.status == 400 and not err.value.retryable
    assert "more than 18 hours" in err.value.remote_message
    assert standin.events == []


def test_wrong_api_key_is_forbidden(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    with pytest.raises(RemoteError) as err:
        make_sink(api_key="not-the-key").mark(marker())

    assert err.value.status == 403 and not err.value.retryable
    assert err.value.remote_message == "Forbidden"


def test_rate_limit_carries_datadogs_reset(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=17)

    with pytest.raises(RateLimited) as err:
        make_sink().mark(marker())

    assert err.value.retry_after == 17 and err.value.retryable


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker,
                                     status: int) -> None:
    standin.faults.fail_next(1, status)

    with pytest.raises(RemoteError) as err:
        make_sink().mark(marker(MarkerPhase.FINISHED))

    assert err.value.status == status and err.value.retryable
    assert "DORA deployment of CHG-1001 on checkout" in str(err.value)


def test_unreachable_datadog_is_retryable(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    sink = make_sink(timeout=2)
    standin.stop()

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status is None and err.value.retryable


def test_deployment_ids_are_legal_stable_and_distinct() -> None:
    assert deployment_id("CHG0012345", "checkout") == "chgsync:CHG0012345:checkout"
    short = deployment_id("C1", "a")
    assert short.startswith("chgsync:C1:a.") and 16 <= len(short) <= 128
    odd = deployment_id("CHG 7/8", "shop/cart")
    assert odd.startswith("chgsync:CHG_7_8:shop_cart.") and odd == deployment_id("CHG 7/8", "shop/cart")
    assert odd != deployment_id("CHG_7_8", "shop_cart")
    long = deployment_id("X" * 200, "checkout")
    assert len(long) == 128 and long != deployment_id("X" * 201, "checkout")


def test_site_picks_the_api_host_and_gov_sites_skip_dora() -> None:
    eu = from_settings({"api_key": "k", "site": "datadoghq.eu"})
    assert eu.client.configuration.host == "https://api.datadoghq.eu"
    assert eu.settings.sends_dora
    gov = from_settings({"api_key": "k", "site": "ddog-gov.com"})
    assert not gov.settings.sends_dora
    assert from_settings({"api_key": "k", "site": "ddog-gov.com", "dora": True}).settings.sends_dora


def test_dora_can_be_switched_off(standin: DatadogStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    make_sink(dora=False).mark(marker(MarkerPhase.FINISHED))
    assert len(standin.events) == 1 and standin.deployments == {}


@pytest.mark.parametrize(("settings", "field"), [
    ({}, "api_key"),
    ({"api_key": "k", "site": "datadoghq.co"}, "site"),
    ({"api_key": "k", "host": "127.0.0.1:8126"}, "host"),
    ({"api_key": "k", "timeout": 0}, "timeout"),
    ({"api_key": "k", "app_key": "x"}, "app_key"),
    ({"api_key": "  "}, "api_key"),
])
def test_bad_settings_name_the_setting(settings: dict[str, Any], field: str) -> None:
    config_problem(lambda: from_settings(settings), field=field, component="datadog marker sink")


def test_api_key_env_is_read_when_the_sink_is_built_outside_the_daemon() -> None:
    sink = from_settings({"api_key_env": "DD_API_KEY"}, environ={"DD_API_KEY": "0123456789abcdef"})
    assert sink.settings.api_key == "0123456789abcdef"
    config_problem(lambda: from_settings({"api_key_env": "DD_API_KEY"}, environ={}), field="api_key_env",
                   says="it should hold a Datadog API key", component="datadog marker sink")


def test_registered_as_marker_sink_and_emulator() -> None:
    from chgsync_datadog import plugin

    plugins = assert_registers(plugin, marker_sinks=["datadog"], emulators=["datadog"])
    assert isinstance(plugins.emulators()["datadog"].factory(), DatadogStandIn)
