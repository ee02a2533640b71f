"""The pagerduty marker sink over real HTTP against the PagerDuty stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from chgsync_pagerduty.sink import DEFAULT_RETRY_AFTER, PagerDutySink
from chgsync_pagerduty.standin import PagerDutyStandIn
from werkzeug.wrappers import Request, Response

from chgsync.errors import RateLimited, RemoteError
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSink

MakeSink = Callable[..., PagerDutySink]
MakeMarker = Callable[..., DeployMarker]


def test_started_marker_is_one_change_event(standin: PagerDutyStandIn, make_sink: MakeSink,
                                            marker: MakeMarker) -> None:
    sink = make_sink()
    assert isinstance(sink, MarkerSink)

    assert sink.mark(marker()) is None  # change events have no id to thread on

    (event,) = standin.events
    assert event["service"] == "Default Service" and event["routing_key"] == standin.secret
    payload = event["payload"]
    assert payload["summary"] == "Change CHG-1001 started on checkout (production) — Upgrade the cart"
    assert payload["timestamp"] == "2026-03-02T14:01:07.250Z"
    assert payload["source"] == "chgsync"
    assert payload["custom_details"] == {
        "change_id": "CHG-1001", "phase": "started", "services": ["checkout"], "environment": "production",
        "change_type": "normal", "risk": "moderate", "title": "Upgrade the cart",
        "tickets": {"jira": "https://acme.atlassian.net/browse/CHG-1001", "servicenow": "CHG0031337"},
        "marker_key": "CHG-1001:mark:started"}
    # Only the ticket with a URL becomes a link; the bare key stays in the details.
    assert event["links"] == [{"href": "https://acme.atlassian.net/browse/CHG-1001", "text": "jira ticket"}]
    assert standin.requests.count("POST", "/v2/change/enqueue", status=202) == 1


def test_finished_marker_reports_outcome_and_duration(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                      marker: MakeMarker) -> None:
    make_sink(source="chgsync-prod").mark(marker(MarkerPhase.FINISHED, outcome="successful"))

    payload = standin.events[0]["payload"]
    assert payload["summary"] == "Change CHG-1001 finished on checkout (production): successful — Upgrade the cart"
    assert payload["source"] == "chgsync-prod"
    details = payload["custom_details"]
    assert (details["phase"], details["outcome"]) == ("finished", "successful")
    assert details["started_at"] == "2026-03-02T13:31:07.250Z"
    assert (details["duration"], details["duration_seconds"]) == ("30m 0s", 1800)


@pytest.mark.parametrize(("phase", "fields", "expected"), [
    (MarkerPhase.ROLLED_BACK, {"outcome": "rolled_back", "title": ""},
     "Change CHG-1001 rolled back on checkout (production)"),
    (MarkerPhase.FINISHED, {"outcome": "successful_with_issues", "title": ""},
     "Change CHG-1001 finished on checkout (production): successful with issues"),
    (MarkerPhase.FINISHED, {"outcome": None, "title": "", "environment": ""},
     "Change CHG-1001 finished on checkout: successful"),
    (MarkerPhase.STARTED, {"services": ("checkout", "payments"), "title": ""},
     "Change CHG-1001 started on checkout, payments (production)"),
])
def test_summary_per_phase(standin: PagerDutyStandIn, make_sink: MakeSink, marker: MakeMarker,
                           phase: MarkerPhase, fields: dict[str, object], expected: str) -> None:
    make_sink().mark(marker(phase, **fields))
    assert standin.events[0]["payload"]["summary"] == expected


def test_long_title_is_cut_to_pagerdutys_limit(standin: PagerDutyStandIn, make_sink: MakeSink,
                                              marker: MakeMarker) -> None:
    make_sink().mark(marker(title="x" * 2000))

    summary = standin.events[0]["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("x…")
    assert standin.events[0]["payload"]["custom_details"]["title"] == "x" * 2000


def test_timestamp_is_utc_whatever_the_markers_zone(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                    marker: MakeMarker) -> None:
    berlin = timezone(timedelta(hours=1))
    make_sink().mark(marker(at=datetime(2026, 3, 2, 15, 1, 7, tzinfo=berlin)))
    assert standin.events[0]["payload"]["timestamp"] == "2026-03-02T14:01:07.000Z"


def test_each_routed_service_gets_its_own_event(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                marker: MakeMarker) -> None:
    checkout, payments = standin.add_service("Checkout"), standin.add_service("Payments")
    sink = make_sink(services={"checkout": checkout, "payments": payments})

    sink.mark(marker(MarkerPhase.FINISHED, outcome="successful", title="",
                     services=("checkout", "payments", "search", "cart")))

    assert [e["service"] for e in standin.events] == ["Checkout", "Payments", "Default Service"]
    summaries = {e["service"]: e["payload"]["summary"] for e in standin.events}
    assert summaries == {
        "Checkout": "Change CHG-1001 finished on checkout (production): successful",
        "Payments": "Change CHG-1001 finished on payments (production): successful",
        "Default Service": "Change CHG-1001 finished on search, cart (production): successful"}
    # Each event still tells the whole change's reach.
    assert all(e["payload"]["custom_details"]["services"] == ["checkout", "payments", "search", "cart"]
               for e in standin.events)


def test_without_a_default_key_unrouted_services_send_nothing(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                              marker: MakeMarker) -> None:
    checkout = standin.add_service("Checkout")
    sink = make_sink(routing_key=None, services={"checkout": checkout})

    assert sink.mark(marker(services=("search",))) is None
    assert standin.events == [] and len(standin.requests) == 0

    sink.mark(marker(services=("search", "checkout")))
    (event,) = standin.events
    assert event["service"] == "Checkout"
    assert event["payload"]["summary"].startswith("Change CHG-1001 started on checkout (production)")


def test_services_sharing_a_key_share_one_event(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                marker: MakeMarker) -> None:
    shop = standin.add_service("Shop")
    sink = make_sink(services={"checkout": shop, "cart": shop, "search": standin.secret})

    sink.mark(marker(services=("checkout", "search", "cart", "ledger"), title=""))

    assert [(e["service"], e["payload"]["summary"]) for e in standin.events] == [
        ("Shop", "Change CHG-1001 started on checkout, cart (production)"),
        ("Default Service", "Change CHG-1001 started on search, ledger (production)")]


def test_change_without_services_goes_to_the_default_service(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                             marker: MakeMarker) -> None:
    make_sink().mark(marker(services=(), title=""))

    (event,) = standin.events
    assert event["payload"]["summary"] == "Change CHG-1001 started (production)"
    assert "services" not in event["payload"]["custom_details"]


def test_retry_reposts_only_the_services_that_failed(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                     marker: MakeMarker) -> None:
    """Checkout took the event, payments hit a 503: the outbox's retry must not repeat checkout's."""
    checkout, payments = standin.add_service("Checkout"), standin.add_service("Payments")
    answer = standin.handle
    failed: list[str] = []

    def flaky(request: Request) -> Response:
        if payments in request.get_data(as_text=True) and not failed:
            failed.append(payments)
            return standin.error_response(503, "Service unavailable")
        return answer(request)

    standin.handle = flaky  # type: ignore[method-assign]
    sink = make_sink(routing_key=None, services={"checkout": checkout, "payments": payments})
    done = marker(MarkerPhase.FINISHED, services=("checkout", "payments"))

    with pytest.raises(RemoteError) as err:
        sink.mark(done)
    assert err.value.status == 503 and err.value.retryable
    assert "on payments" in str(err.value) and "Service unavailable" in err.value.remote_message
    sink.mark(done)

    assert [e["service"] for e in standin.events] == ["Checkout", "Payments"]
    assert standin.requests.count("POST", "/v2/change/enqueue") == 3


def test_a_lost_answer_makes_pagerduty_show_the_change_twice(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                             marker: MakeMarker) -> None:
    """The documented trade-off: PagerDuty took the event, the answer timed out, the retry repeats it."""
    sink = make_sink(timeout=0.3)
    done = marker(MarkerPhase.FINISHED)
    standin.faults.latency = 0.8  # the stand-in stores the event after the client has given up

    with pytest.raises(RemoteError) as err:
        sink.mark(done)
    assert err.value.status is None and err.value.retryable
    standin.faults.latency = 0
    sink.mark(done)

    deadline = time.monotonic() + 3
    while len(standin.events) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(standin.events) == 2
    assert {e["payload"]["custom_details"]["marker_key"] for e in standin.events} == {done.key}


def test_unknown_routing_key_is_final(standin: PagerDutyStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    sink = make_sink(routing_key="f" * 32)

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status == 400 and not err.value.retryable
    assert err.value.remote_message == "Event object is invalid: Invalid routing key"
    assert "f" * 32 not in str(err.value)
    assert standin.events == []


def test_one_bad_key_does_not_silence_the_other_services(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                         marker: MakeMarker) -> None:
    checkout = standin.add_service("Checkout")
    sink = make_sink(services={"checkout": "e" * 32, "payments": checkout})

    with pytest.raises(RemoteError) as err:
        sink.mark(marker(services=("checkout", "payments")))

    assert err.value.status == 400 and "on checkout" in str(err.value)
    assert [e["service"] for e in standin.events] == ["Checkout"]


def test_a_retryable_failure_outranks_a_final_one(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                  marker: MakeMarker) -> None:
    """A revoked key on one service must not dead-letter a marker another service only has to wait for."""
    standin.faults.rate_limit(1, per=60)
    sink = make_sink(services={"checkout": "e" * 32})

    with pytest.raises(RateLimited) as err:
        sink.mark(marker(services=("checkout", "payments")))

    assert "on payments" in str(err.value)


def test_rate_limit_waits_as_pagerduty_advises(standin: PagerDutyStandIn, make_sink: MakeSink,
                                               marker: MakeMarker) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=17)

    with pytest.raises(RateLimited) as err:
        make_sink().mark(marker())

    # PagerDuty sends no Retry-After on the Events API; its docs say to retry about 30 s apart.
    assert err.value.retryable and err.value.status == 429
    assert err.value.retry_after == DEFAULT_RETRY_AFTER == 30.0
    assert err.value.remote_message == "Rate limit exceeded."


def test_rate_limit_honours_a_retry_after_header(standin: PagerDutyStandIn, make_sink: MakeSink,
                                                 marker: MakeMarker) -> None:
    standin.send_retry_after = True
    standin.faults.rate_limit(0, per=60, retry_after=17)

    with pytest.raises(RateLimited) as err:
        make_sink().mark(marker())

    assert err.value.retry_after == 17


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(standin: PagerDutyStandIn, make_sink: MakeSink, marker: MakeMarker,
                                     status: int) -> None:
    standin.faults.fail_next(1, status)
    sink = make_sink()

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status == status and err.value.retryable
    assert "Internal server error (emulated fault)." in err.value.remote_message
    sink.mark(marker())
    assert len(standin.events) == 1


def test_unreachable_pagerduty_is_retryable(standin: PagerDutyStandIn, make_sink: MakeSink,
                                            marker: MakeMarker) -> None:
    sink = make_sink(timeout=2)
    standin.stop()

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status is None and err.value.retryable
    assert str(err.value).startswith("PagerDuty change event for CHG-1001 (started) on checkout failed (no response)")


def test_wrong_base_url_is_final(standin: PagerDutyStandIn, marker: MakeMarker) -> None:
    from chgsync_pagerduty.sink import from_settings

    sink = from_settings({"routing_key": standin.secret, "base_url": f"{standin.base_url}/nested"})

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status == 404 and not err.value.retryable
