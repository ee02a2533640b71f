"""How Statuspage's refusals and failures reach the outbox: retryable or not, in Statuspage's own words."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chgsync_statuspage.notifier import StatuspageNotifier
from chgsync_statuspage.standin import StatuspageStandIn

from chgsync.errors import RateLimited, RemoteError
from chgsync.notify import Notification
from chgsync.testing import remote_failure


def test_a_wrong_key_is_permanent_and_never_shown(make_notifier: Callable[..., StatuspageNotifier],
                                                  standin: StatuspageStandIn,
                                                  notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(api_key="not-the-right-key")

    with pytest.raises(RemoteError) as caught:
        notifier.send(notice())

    assert caught.value.status == 401 and not caught.value.retryable
    assert "Could not authenticate" in caught.value.remote_message
    assert "api_key_env" in str(caught.value)
    assert "not-the-right-key" not in str(caught.value)
    assert standin.incidents_on() == []


@pytest.mark.parametrize("status", [429, 420])
def test_a_rate_limit_is_rate_limited_with_retry_after(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                       notice: Callable[..., Notification], status: int) -> None:
    standin.rate_limit_status = status
    standin.faults.rate_limit(0, per=60, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        notifier.send(notice())

    assert caught.value.retry_after == 7.0 and caught.value.retryable
    assert f"HTTP {status}" in caught.value.remote_message
    assert standin.incidents_on() == []


def test_after_a_rate_limit_the_retry_opens_one_incident(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                         notice: Callable[..., Notification]) -> None:
    standin.faults.rate_limit(2, per=60, retry_after=1)  # components and open incidents pass, the POST does not
    with pytest.raises(RateLimited):
        notifier.send(notice())
    standin.faults.rate_limit(None)

    thread = notifier.send(notice())

    assert [i.id for i in standin.incidents_on()] == [thread]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                     notice: Callable[..., Notification], status: int) -> None:
    standin.faults.fail_next(1, status=status)

    remote_failure(lambda: notifier.send(notice()), status=status, retryable=True, says="emulated fault")


def test_a_server_error_on_an_update_is_retryable_and_changes_nothing(notifier: StatuspageNotifier,
                                                                      standin: StatuspageStandIn,
                                                                      notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice())
    standin.faults.outage()

    remote_failure(lambda: notifier.send(notice(key="k2", status="resolved", thread=thread)), status=503,
                   retryable=True)
    [incident] = standin.incidents_on()
    assert incident.status == "investigating" and len(incident.updates) == 1


def test_a_refused_connection_is_retryable(make_notifier: Callable[..., StatuspageNotifier],
                                           standin: StatuspageStandIn,
                                           notice: Callable[..., Notification]) -> None:
    notifier = make_notifier()
    standin.stop()

    remote_failure(lambda: notifier.send(notice()), status=None, retryable=True,
                   says="no answer from Statuspage")


def test_a_slow_answer_times_out_as_retryable(make_notifier: Callable[..., StatuspageNotifier],
                                              standin: StatuspageStandIn,
                                              notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(timeout=0.3)
    standin.faults.latency = 0.6

    remote_failure(lambda: notifier.send(notice()), status=None, retryable=True, says="Timeout")


def test_an_invalid_status_is_a_permanent_422_naming_it(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    with pytest.raises(RemoteError) as caught:
        notifier.send(notice(status="on_fire"))

    assert caught.value.status == 422 and not caught.value.retryable
    assert "'on_fire'" in caught.value.remote_message
    assert standin.incidents_on() == []


def test_an_unknown_page_is_permanent_with_advice(make_notifier: Callable[..., StatuspageNotifier],
                                                  notice: Callable[..., Notification]) -> None:
    with pytest.raises(RemoteError) as caught:
        make_notifier(page_id="nosuchpage00").send(notice())

    assert caught.value.status == 404 and not caught.value.retryable
    assert "page_id" in str(caught.value) and "nosuchpage00" in str(caught.value)


def test_a_vanished_incident_is_permanent_with_advice(notifier: StatuspageNotifier,
                                                      notice: Callable[..., Notification]) -> None:
    with pytest.raises(RemoteError) as caught:
        notifier.send(notice(key="k2", status="identified", thread="gone00000000"))

    assert caught.value.status == 404 and not caught.value.retryable
    assert caught.value.operation == "read incident gone00000000"
    assert "deleted?" in str(caught.value)


def test_a_component_map_naming_a_missing_component_is_a_422(make_notifier: Callable[..., StatuspageNotifier],
                                                             notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(components={"checkout": "missing00000"})

    with pytest.raises(RemoteError) as caught:
        notifier.send(notice())

    assert caught.value.status == 422 and "'missing00000'" in caught.value.remote_message
