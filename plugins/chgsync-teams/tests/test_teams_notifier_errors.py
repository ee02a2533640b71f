"""How the trigger's refusals and failures reach the outbox: retryable or not, in its own words, and
never with the trigger URL's signature in them."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from chgsync_teams.notifier import TeamsNotifier, from_settings
from chgsync_teams.standin import DEFAULT_WORKFLOW, TeamsStandIn

from chgsync.errors import RateLimited, RemoteError
from chgsync.notify import Notification
from chgsync.testing import remote_failure


def _leaks(text: str, standin: TeamsStandIn) -> bool:
    return standin.secret in text or "invoke?" in text


def test_a_wrong_signature_is_permanent_and_does_not_show_the_url(
        standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    url = standin.workflow_url().replace(standin.secret, "not-the-flows-signature-0000")
    notifier = from_settings({"url": url, "timeout": 5})

    with pytest.raises(RemoteError) as caught:
        notifier.send(notice())

    error = caught.value
    assert error.status == 401 and not error.retryable
    assert "DirectApiInvalidAuthorizationSignature" in str(error)
    assert "url_env" in str(error)
    assert "not-the-flows-signature-0000" not in str(error) and not _leaks(str(error), standin)
    assert standin.cards() == []


def test_a_deleted_flow_is_permanent_with_advice(standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    url = standin.workflow_url().replace(DEFAULT_WORKFLOW, "0000deleted0000")

    with pytest.raises(RemoteError) as caught:
        from_settings({"url": url}).send(notice())

    assert caught.value.status == 404 and not caught.value.retryable
    assert "WorkflowNotFound" in caught.value.remote_message
    assert "deleted or turned off" in str(caught.value)


def test_the_triggers_own_400_reason_is_kept(standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    url = standin.workflow_url().replace("api-version=1&", "")

    with pytest.raises(RemoteError) as caught:
        from_settings({"url": url}).send(notice())

    assert caught.value.status == 400 and not caught.value.retryable
    assert caught.value.remote_message.startswith("MissingApiVersionParameter: The api-version query parameter")
    assert not _leaks(str(caught.value), standin)


def test_429_becomes_rate_limited_with_the_triggers_retry_after(
        notifier: TeamsNotifier, standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        notifier.send(notice())

    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429 and caught.value.retryable
    assert "TooManyRequests" in caught.value.remote_message
    assert standin.cards() == []

    standin.faults.rate_limit(None)
    notifier.send(notice())
    assert len(standin.cards()) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(notifier: TeamsNotifier, standin: TeamsStandIn,
                                     notice: Callable[..., Notification], status: int) -> None:
    standin.faults.fail_next(1, status=status)

    error = remote_failure(lambda: notifier.send(notice()), status=status, retryable=True,
                           says="emulated fault")
    assert error.system == "Teams" and error.operation == "workflow post"


def test_an_outage_is_retryable(notifier: TeamsNotifier, standin: TeamsStandIn,
                                notice: Callable[..., Notification]) -> None:
    standin.faults.outage()

    remote_failure(lambda: notifier.send(notice()), status=503, retryable=True, says="ServiceUnavailable")


def test_no_answer_is_retryable_and_masks_the_signature(make_notifier: Callable[..., TeamsNotifier],
                                                        standin: TeamsStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    notifier = make_notifier()
    standin.stop()  # nothing listens on the port any more

    error = remote_failure(lambda: notifier.send(notice()), status=None, retryable=True,
                           says=f"no answer from {notifier.origin}", hidden=[standin.secret])
    assert notifier.origin.startswith("http://127.0.0.1:")
    assert "ConnectionError" in str(error)


def test_a_slow_answer_times_out_as_retryable(make_notifier: Callable[..., TeamsNotifier], standin: TeamsStandIn,
                                              notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(timeout=0.3)
    standin.faults.latency = 0.6

    remote_failure(lambda: notifier.send(notice()), status=None, retryable=True, says="Timeout",
                   hidden=[standin.secret])


def test_a_card_teams_finds_too_large_is_permanent(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                   notice: Callable[..., Notification]) -> None:
    standin.max_bytes = 500  # stricter than the card budget assumes

    with pytest.raises(RemoteError) as caught:
        notifier.send(notice())

    assert caught.value.status == 413 and not caught.value.retryable
    assert "RequestEntityTooLarge" in str(caught.value) and "28 KB" in str(caught.value)


def test_a_card_that_cannot_be_shortened_enough_is_not_sent(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                            notice: Callable[..., Notification]) -> None:
    links = {f"tracker{i}": f"https://tracker.example.com/browse/{'X' * 80}-{i}" for i in range(300)}

    with pytest.raises(RemoteError) as caught:
        notifier.send(notice(links=links))

    assert caught.value.status == 413 and not caught.value.retryable
    assert "not sent" in str(caught.value)
    assert standin.requests.count("POST") == 0


def test_logs_never_carry_the_signature(make_notifier: Callable[..., TeamsNotifier], standin: TeamsStandIn,
                                        notice: Callable[..., Notification], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # another library (datadog's client) may have raised it
    notifier = make_notifier()

    notifier.send(notice())
    standin.faults.fail_next(1)
    with pytest.raises(RemoteError):
        notifier.send(notice(key="k2"))

    # The client's side only: the stand-in's own access log is the server's business.
    client = [r.getMessage() for r in caplog.records if r.name.startswith(("urllib3", "chgsync_teams"))]
    assert any("paths/invoke" in m and "sig=***" in m for m in client)  # urllib3 did log the request line
    assert not any(standin.secret in m for m in client)
    assert any(m.startswith("teams: posted CHG-7:cab_decision:1>teams (cab_decision) for CHG-7 to http://127.0.0.1")
               for m in client)
