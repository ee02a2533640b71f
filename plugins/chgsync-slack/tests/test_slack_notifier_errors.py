"""How Slack's refusals and failures reach the outbox: retryable or not, with Slack's own words."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chgsync_slack.notifier import SlackApiFailure, SlackNotifier
from chgsync_slack.standin import SlackStandIn

from chgsync.errors import RateLimited, RemoteError
from chgsync.notify import Notification
from chgsync.testing import remote_failure


def test_429_becomes_rate_limited_with_slacks_retry_after(notifier: SlackNotifier, standin: SlackStandIn,
                                                          notice: Callable[..., Notification]) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        notifier.send(notice())

    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429 and caught.value.retryable
    assert "ratelimited" in str(caught.value)
    assert standin.roots("changes") == []


def test_after_a_rate_limit_the_retry_posts_once(notifier: SlackNotifier, standin: SlackStandIn,
                                                 notice: Callable[..., Notification]) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=1)
    with pytest.raises(RateLimited):
        notifier.send(notice())
    standin.faults.rate_limit(None)

    ts = notifier.send(notice())

    assert [m.ts for m in standin.roots("changes")] == [ts]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(notifier: SlackNotifier, standin: SlackStandIn,
                                     notice: Callable[..., Notification], status: int) -> None:
    standin.faults.fail_next(1, status=status)

    error = remote_failure(lambda: notifier.send(notice()), status=status, retryable=True)
    assert error.operation == "chat.postMessage"


def test_an_outage_is_retryable(notifier: SlackNotifier, standin: SlackStandIn,
                                notice: Callable[..., Notification]) -> None:
    standin.faults.outage()

    remote_failure(lambda: notifier.send(notice()), status=503, retryable=True, says="service_unavailable")


def test_no_answer_is_retryable(make_notifier: Callable[..., SlackNotifier], standin: SlackStandIn,
                                notice: Callable[..., Notification]) -> None:
    notifier = make_notifier()
    standin.stop()  # nothing listens on the port any more

    remote_failure(lambda: notifier.send(notice()), status=None, retryable=True, says="no answer from Slack")


def test_a_slow_answer_times_out_as_retryable(make_notifier: Callable[..., SlackNotifier], standin: SlackStandIn,
                                              notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(timeout=1)
    standin.faults.latency = 1.5

    remote_failure(lambda: notifier.send(notice()), status=None, retryable=True, says="no answer from Slack")


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable", "request_timeout"])
def test_slacks_transient_error_codes_are_retryable(notifier: SlackNotifier, standin: SlackStandIn,
                                                    notice: Callable[..., Notification], error: str) -> None:
    standin.refuse_next(error)

    with pytest.raises(SlackApiFailure) as caught:
        notifier.send(notice())

    assert caught.value.error == error and caught.value.retryable


def test_ratelimited_without_429_is_still_rate_limited(notifier: SlackNotifier, standin: SlackStandIn,
                                                       notice: Callable[..., Notification]) -> None:
    standin.refuse_next("ratelimited")

    with pytest.raises(RateLimited) as caught:
        notifier.send(notice())

    assert caught.value.retryable and caught.value.retry_after is None


def test_a_channel_the_bot_is_not_in_is_a_permanent_failure_with_advice(
        make_notifier: Callable[..., SlackNotifier], standin: SlackStandIn,
        notice: Callable[..., Notification]) -> None:
    standin.add_channel("cab", member=False)
    notifier = make_notifier(channel="#cab")

    with pytest.raises(SlackApiFailure) as caught:
        notifier.send(notice())

    assert caught.value.error == "not_in_channel" and not caught.value.retryable
    assert "invite the bot" in str(caught.value)


def test_an_unknown_channel_is_a_permanent_failure(make_notifier: Callable[..., SlackNotifier],
                                                   notice: Callable[..., Notification]) -> None:
    with pytest.raises(SlackApiFailure) as caught:
        make_notifier(channel="#nowhere").send(notice())

    assert caught.value.error == "channel_not_found" and not caught.value.retryable


def test_a_wrong_token_is_a_permanent_failure_that_does_not_show_the_token(
        make_notifier: Callable[..., SlackNotifier], standin: SlackStandIn,
        notice: Callable[..., Notification]) -> None:
    notifier = make_notifier(token="xoxb-not-the-right-one")

    with pytest.raises(SlackApiFailure) as caught:
        notifier.send(notice())

    assert caught.value.error == "invalid_auth" and not caught.value.retryable
    assert "token_env" in str(caught.value)
    assert "xoxb-not-the-right-one" not in str(caught.value)
    assert standin.roots("changes") == []


def test_a_vanished_root_message_is_a_permanent_failure(notifier: SlackNotifier, standin: SlackStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    with pytest.raises(SlackApiFailure) as caught:
        notifier.send(notice(thread="1700000000.000001"))

    assert caught.value.error == "thread_not_found" and not caught.value.retryable


def test_a_failed_reply_does_not_touch_the_root_card(notifier: SlackNotifier, standin: SlackStandIn,
                                                     notice: Callable[..., Notification]) -> None:
    root_ts = notifier.send(notice())
    standin.faults.fail_next(1)

    with pytest.raises(RemoteError):
        notifier.send(notice(key="k2", event="rollback", thread=root_ts))

    assert standin.replies("changes", root_ts) == []
    assert standin.roots("changes")[0].versions == []
    assert not any(c.method == "chat.update" for c in standin.calls)
