"""The notifier against the stand-in over HTTP: root card, thread replies, card updates, no doubles."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from chgsync_slack.notifier import SlackNotifier
from chgsync_slack.standin import SlackStandIn

from chgsync.notify import Notification


def _texts(blocks: list[dict]) -> list[str]:
    """Every text a person can read in a layout, in order."""
    out: list[str] = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"]["text"] if isinstance(e.get("text"), dict) else e["text"] for e in block.get("elements", [])]
    return out


def test_first_notice_posts_a_root_card_and_returns_its_ts(notifier: SlackNotifier, standin: SlackStandIn,
                                                            notice: Callable[..., Notification]) -> None:
    ts = notifier.send(notice())

    [root] = standin.roots("#changes")
    assert ts == root.ts
    assert root.thread_ts is None
    assert root.text == "CHG-7: Upgrade the orders database to PostgreSQL 16 (Scheduled)"
    header = root.blocks[0]
    assert header == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                   "text": "CHG-7: Upgrade the orders database to PostgreSQL 16"}}
    texts = _texts(root.blocks)
    assert "The CAB approved CHG-7 for the window on 2026-03-01." in texts
    assert {"*State*\nScheduled", "*Type*\nnormal", "*Risk*\nhigh", "*Window*\n2026-03-01 02:00–03:00 UTC",
            "*Systems*\norders-db"} <= set(texts)
    assert not any(t.startswith("*Environment*") for t in texts), "empty facts are left out"
    [actions] = [b for b in root.blocks if b["type"] == "actions"]
    assert [(e["text"]["text"], e["url"]) for e in actions["elements"]] == [
        ("Open in jira", "https://acme.atlassian.net/browse/OPS-42")]
    context = root.blocks[-1]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == "*Cab decision* · servicenow: CHG0031337"
    assert root.metadata == {"event_type": "chgsync_change",
                             "event_payload": {"change_id": "CHG-7", "event": "cab_decision",
                                               "key": "CHG-7:cab_decision:1>slack"}}


def test_later_notices_reply_in_the_thread_and_update_the_root_card(
        notifier: SlackNotifier, standin: SlackStandIn, notice: Callable[..., Notification]) -> None:
    root_ts = notifier.send(notice())
    started = notice(key="CHG-7:implementation_started:2>slack", event="implementation_started",
                     text="Implementation of CHG-7 started.", thread=root_ts,
                     facts={"State": "Implementing", "Type": "normal", "Risk": "high"})
    reply_ts = notifier.send(started)

    assert [m.ts for m in standin.roots("changes")] == [root_ts], "no second top-level message"
    [reply] = standin.replies("changes", root_ts)
    assert reply.ts == reply_ts != root_ts
    assert reply.text == "Implementation of CHG-7 started."
    assert reply.reply_broadcast is True, "implementation_started is shown in the channel too"
    assert reply.as_json()["subtype"] == "thread_broadcast"

    [root] = standin.roots("changes")
    assert len(root.versions) == 1, "the root card was rewritten once"
    assert root.text == "CHG-7: Upgrade the orders database to PostgreSQL 16 (Implementing)"
    assert "*State*\nImplementing" in _texts(root.blocks)
    assert "Implementation of CHG-7 started." in _texts(root.blocks)
    assert root.metadata is not None and root.metadata["event_payload"]["event"] == "implementation_started"
    update = next(c for c in standin.calls if c.method == "chat.update")
    assert update.args["channel"] == standin.channel("changes").id, "chat.update is given the channel ID"


@pytest.mark.parametrize(("event", "broadcast"), [
    ("state_changed", False), ("deadline_due", False), ("validation_review_reminder", False),
    ("implementation_completed", True), ("rollback", True), ("rollback_recommended", True),
    ("validation_failed", True),
])
def test_only_events_people_act_on_are_broadcast_to_the_channel(
        notifier: SlackNotifier, standin: SlackStandIn, notice: Callable[..., Notification],
        event: str, broadcast: bool) -> None:
    root_ts = notifier.send(notice())
    notifier.send(notice(key=f"k-{event}", event=event, thread=root_ts))

    [reply] = standin.replies("changes", root_ts)
    assert reply.reply_broadcast is broadcast


def test_a_retried_key_is_not_posted_twice(notifier: SlackNotifier, standin: SlackStandIn,
                                           notice: Callable[..., Notification]) -> None:
    root_ts = notifier.send(notice())
    assert notifier.send(notice()) == root_ts
    reply = notice(key="k-reply", event="state_changed", thread=root_ts)
    reply_ts = notifier.send(reply)
    assert notifier.send(reply) == reply_ts

    assert len(standin.roots("changes")) == 1
    assert len(standin.replies("changes", root_ts)) == 1
    assert sum(c.method == "chat.postMessage" for c in standin.calls) == 2


def test_a_failed_card_update_after_the_reply_is_logged_not_raised(
        notifier: SlackNotifier, standin: SlackStandIn, notice: Callable[..., Notification],
        caplog: pytest.LogCaptureFixture) -> None:
    root_ts = notifier.send(notice())
    standin.edits_allowed = False
    reply = notice(key="k-reply", event="implementation_started", thread=root_ts)

    with caplog.at_level(logging.WARNING, logger="chgsync_slack"):
        reply_ts = notifier.send(reply)
        again = notifier.send(reply)

    assert again == reply_ts
    assert len(standin.replies("changes", root_ts)) == 1, "the reply went out exactly once"
    assert standin.roots("changes")[0].versions == [], "the card could not be rewritten"
    [record] = [r for r in caplog.records if "could not update its first message" in r.getMessage()]
    assert "edit_window_closed" in record.getMessage()


def test_the_next_notice_brings_a_stale_card_up_to_date(notifier: SlackNotifier, standin: SlackStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    root_ts = notifier.send(notice())
    standin.edits_allowed = False
    notifier.send(notice(key="k1", event="window_opening", thread=root_ts,
                         facts={"State": "Scheduled", "Window": "in 15 minutes"}))
    standin.edits_allowed = True
    notifier.send(notice(key="k2", event="implementation_completed", thread=root_ts,
                         facts={"State": "Review"}))

    [root] = standin.roots("changes")
    assert "*State*\nReview" in _texts(root.blocks)


def test_emergency_changes_are_flagged_in_the_header(notifier: SlackNotifier, standin: SlackStandIn,
                                                     notice: Callable[..., Notification]) -> None:
    notifier.send(notice(emergency=True, severity="critical"))

    [root] = standin.roots("changes")
    assert root.blocks[0]["text"]["text"].startswith(":rotating_light: CHG-7: ")
    assert "severity critical" in root.blocks[-1]["elements"][0]["text"]


def test_oversized_notices_are_cut_to_slacks_limits_not_refused(
        notifier: SlackNotifier, standin: SlackStandIn, notice: Callable[..., Notification]) -> None:
    facts = {f"Fact {i}": "v" * 2500 for i in range(25)}
    big = notice(subject="CHG-7: " + "s" * 300, text="t" * 5000, facts=facts,
                 recipients=("U012AB3CDE", "@release-manager", "ops@example.com"))
    notifier.send(big)

    [root] = standin.roots("changes")
    header = root.blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    sections = [b for b in root.blocks if b["type"] == "section" and "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10, 5]
    assert all(len(f["text"]) == 2000 for s in sections for f in s["fields"])
    assert "cc <@U012AB3CDE> @release-manager" in root.blocks[-1]["elements"][0]["text"]


def test_mrkdwn_control_characters_are_escaped(notifier: SlackNotifier, standin: SlackStandIn,
                                               notice: Callable[..., Notification]) -> None:
    notifier.send(notice(text="Fail-over <primary> & replica", facts={"State": "<b>"}))

    [root] = standin.roots("changes")
    texts = _texts(root.blocks)
    assert "Fail-over &lt;primary&gt; &amp; replica" in texts
    assert "*State*\n&lt;b&gt;" in texts
