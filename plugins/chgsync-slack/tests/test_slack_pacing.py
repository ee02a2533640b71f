"""Posts to one channel are spaced by min_interval, and never held longer than that.

``clock`` is the conftest's fake monotonic clock: its ``sleep`` records the wait and moves time on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chgsync_slack.notifier import SlackNotifier
from chgsync_slack.pacing import ChannelPacer
from chgsync_slack.standin import SlackStandIn

from chgsync.notify import Notification


def _post(pacer: ChannelPacer, channel: str) -> None:
    with pacer.slot(channel):
        pass


def test_a_second_post_waits_out_the_interval(clock: Any) -> None:
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    _post(pacer, "#changes")
    clock.now += 0.25
    _post(pacer, "#changes")
    assert clock.sleeps == [0.75]


def test_no_wait_once_the_interval_has_passed_or_on_another_channel(clock: Any) -> None:
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    _post(pacer, "#changes")
    _post(pacer, "#general")
    clock.now += 1.5
    _post(pacer, "#changes")
    assert clock.sleeps == []


def test_a_clock_that_jumps_back_never_holds_a_post_longer_than_the_interval(clock: Any) -> None:
    pacer = ChannelPacer(2.0, clock=clock, sleep=clock.sleep)
    _post(pacer, "#changes")
    clock.now -= 3600
    _post(pacer, "#changes")
    assert clock.sleeps == [2.0]


def test_a_failed_post_still_counts(clock: Any) -> None:
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    try:
        with pacer.slot("#changes"):
            raise RuntimeError("Slack said no")
    except RuntimeError:
        pass
    _post(pacer, "#changes")
    assert clock.sleeps == [1.0]


def test_zero_disables_pacing(clock: Any) -> None:
    pacer = ChannelPacer(0.0, clock=clock, sleep=clock.sleep)
    _post(pacer, "#changes")
    _post(pacer, "#changes")
    assert clock.sleeps == []


def test_the_notifier_paces_posts_but_not_card_updates(
        make_notifier: Callable[..., SlackNotifier], standin: SlackStandIn,
        notice: Callable[..., Notification], clock: Any) -> None:
    notifier = make_notifier(min_interval=1.0)
    root_ts = notifier.send(notice())
    notifier.send(notice(key="k2", event="state_changed", thread=root_ts))
    notifier.send(notice(key="k3", event="state_changed", thread=root_ts))

    assert clock.sleeps == [1.0, 1.0], "two waits for three posts; the chat.update calls did not wait"
    assert len(standin.replies("changes", root_ts)) == 2
