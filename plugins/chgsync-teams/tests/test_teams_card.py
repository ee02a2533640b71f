"""What reaches the channel: the Workflows envelope, the card's parts, its colours and its size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chgsync_teams.card import BUDGET, SHORTENED
from chgsync_teams.notifier import TeamsNotifier
from chgsync_teams.standin import TeamsStandIn

from chgsync.errors import RemoteError
from chgsync.notify import Notification


def _texts(items: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item["type"] == "TextBlock":
            out.append(item["text"])
        out += _texts(item.get("items", []))
    return out


def test_a_notice_is_one_adaptive_card_in_the_workflows_envelope(
        notifier: TeamsNotifier, standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    assert notifier.send(notice()) is None

    [post] = standin.posts()
    assert post.content_type.startswith("application/json")
    assert post.message["type"] == "message"
    [attachment] = post.message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["msteams"] == {"width": "Full"}

    header, text, factset = card["body"]
    assert header["type"] == "Container" and header["style"] == "emphasis"
    assert _texts(header["items"]) == ["CAB decision", "CHG-7: Upgrade the orders database to PostgreSQL 16", "CHG-7"]
    assert text == {"type": "TextBlock", "text": "The CAB approved CHG-7 for the window on 2026-03-01.", "wrap": True}
    # Empty facts are left out; a reference that is not a URL is a fact, not a button.
    assert [(f["title"], f["value"]) for f in factset["facts"]] == [
        ("State", "Scheduled"), ("Type", "normal"), ("Risk", "high"), ("Window", "2026-03-01 02:00–03:00 UTC"),
        ("Systems", "orders-db"), ("ServiceNow", "CHG0031337")]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Jira",
                                "url": "https://acme.atlassian.net/browse/OPS-42"}]


@pytest.mark.parametrize(("changes", "style", "colour", "headline"), [
    ({}, "emphasis", "accent", "CAB decision"),
    ({"severity": "warning", "event": "deadline_due"}, "warning", "warning", "WARNING · Deadline due"),
    ({"severity": "critical", "event": "rollback_recommended"}, "attention", "attention",
     "CRITICAL · Rollback recommended"),
    ({"emergency": True, "event": "emergency_status", "status": "identified"}, "attention", "attention",
     "EMERGENCY CHANGE · Emergency status"),
    ({"emergency": True, "event": "emergency_resolved", "status": "resolved"}, "good", "good",
     "EMERGENCY CHANGE · Emergency resolved"),
    ({"event": "implementation_completed"}, "good", "good", "Implementation completed"),
])
def test_severity_and_emergency_colour_the_header(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                  notice: Callable[..., Notification], changes: dict[str, Any],
                                                  style: str, colour: str, headline: str) -> None:
    notifier.send(notice(**changes))

    [card] = standin.cards()
    header = card["body"][0]
    assert header["style"] == style and header["bleed"] is True
    assert header["items"][0]["color"] == colour
    assert header["items"][0]["text"] == headline


def test_an_emergency_notice_shows_its_status_and_the_affected_systems(
        notifier: TeamsNotifier, standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    notifier.send(notice(emergency=True, event="emergency_status", status="monitoring",
                         components=("checkout", "payments"), facts={"State": "Implement"}))

    [card] = standin.cards()
    assert card["body"][0]["items"][2]["text"] == "CHG-7 · monitoring"
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts == {"State": "Implement", "Status": "monitoring", "Affected": "checkout, payments",
                     "ServiceNow": "CHG0031337"}


def test_card_version_and_width_follow_the_settings(make_notifier: Callable[..., TeamsNotifier],
                                                    standin: TeamsStandIn,
                                                    notice: Callable[..., Notification]) -> None:
    make_notifier(card_version="1.5", full_width=False).send(notice())

    [card] = standin.cards()
    assert card["version"] == "1.5"
    assert "msteams" not in card


def test_without_text_facts_or_links_the_card_is_just_its_header(
        notifier: TeamsNotifier, standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    notifier.send(notice(text="", facts={}, links={}))

    [card] = standin.cards()
    assert [e["type"] for e in card["body"]] == ["Container"]
    assert "actions" not in card


def test_non_ascii_text_arrives_as_written(notifier: TeamsNotifier, standin: TeamsStandIn,
                                           notice: Callable[..., Notification]) -> None:
    notifier.send(notice(subject="CHG-7: Größere Puffer für Zürich ✓", text="Fenster: 02:00–03:00 Uhr"))

    [card] = standin.cards()
    assert "CHG-7: Größere Puffer für Zürich ✓" in _texts(card["body"])
    assert "Fenster: 02:00–03:00 Uhr" in _texts(card["body"])


def test_teams_gives_no_id_so_each_notice_is_a_card_of_its_own(
        notifier: TeamsNotifier, standin: TeamsStandIn, notice: Callable[..., Notification]) -> None:
    first = notifier.send(notice())
    # The daemon keeps what send returned; a thread from elsewhere is ignored rather than trusted.
    second = notifier.send(notice(key="CHG-7:implementation_started:1>teams", event="implementation_started",
                                  thread=first or "1700000000.000100"))

    assert first is None and second is None
    assert [c["body"][0]["items"][0]["text"] for c in standin.cards()] == ["CAB decision", "Implementation started"]


def test_a_redelivered_key_is_not_posted_twice(notifier: TeamsNotifier, standin: TeamsStandIn,
                                               notice: Callable[..., Notification]) -> None:
    notifier.send(notice())
    notifier.send(notice())

    assert len(standin.cards()) == 1
    assert standin.requests.count("POST") == 1


def test_a_post_that_failed_is_posted_once_by_the_retry(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    standin.faults.fail_next(1, status=503)
    with pytest.raises(RemoteError):
        notifier.send(notice())

    notifier.send(notice())

    assert len(standin.cards()) == 1
    assert standin.requests.count("POST", status=503) == 1


def test_a_long_text_is_shortened_to_fit_teams_limit(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                     notice: Callable[..., Notification]) -> None:
    root_cause = "Die Ursache: Größenüberlauf. " * 3000  # ~90 KB, some characters multi-byte

    notifier.send(notice(text=root_cause, event="emergency_resolved", emergency=True))

    [post] = standin.posts()
    assert post.size <= BUDGET
    text = post.card["body"][1]["text"]
    assert text.endswith(SHORTENED) and root_cause.startswith(text[: -len(SHORTENED)])
    assert len(text) > 20_000  # cut to fit, not cut to nothing
    assert post.card["body"][2]["type"] == "FactSet"  # the facts survive when the text alone was enough


def test_long_fact_values_are_cut_once_the_text_is_short(notifier: TeamsNotifier, standin: TeamsStandIn,
                                                         notice: Callable[..., Notification]) -> None:
    facts = {f"Host {i}": "x" * 2000 for i in range(20)}  # 40 KB of facts, little text

    notifier.send(notice(facts=facts))

    [post] = standin.posts()
    assert post.size <= BUDGET
    values = [f["value"] for f in post.card["body"][-1]["facts"]]
    assert values[0].endswith(SHORTENED) and len(values) >= 20  # every fact kept, each cut
