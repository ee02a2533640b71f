"""An emergency change on the status page: one incident, its updates, its components, no doubles."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import requests
from chgsync_statuspage.notifier import StatuspageNotifier
from chgsync_statuspage.standin import StatuspageStandIn

from chgsync.errors import RemoteError
from chgsync.notify import Notification


def _statuses(standin: StatuspageStandIn) -> dict[str, str]:
    return {name: standin.component(name).status for name in ("Checkout", "Payments", "Search", "Public API")}


def test_an_emergency_walk_is_one_incident_with_four_updates(notifier: StatuspageNotifier,
                                                             standin: StatuspageStandIn,
                                                             notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice())
    assert thread is not None
    assert _statuses(standin) == {"Checkout": "major_outage", "Payments": "major_outage", "Search": "operational",
                                  "Public API": "operational"}

    walk = [("identified", "The faulty gateway release is identified; rolling back."),
            ("monitoring", "Rolled back; watching payment success rates."),
            ("resolved", "Payments are back to normal.")]
    for n, (status, text) in enumerate(walk, start=1):
        assert notifier.send(notice(key=f"CHG-9:status:{n}", status=status, text=text, thread=thread)) == thread

    [incident] = standin.incidents_on()
    shown = standin.incident_json(incident.id)
    assert shown["id"] == thread and shown["status"] == "resolved" and shown["resolved_at"]
    assert shown["name"] == "CHG-9: Checkout payments failing"
    updates = list(reversed(shown["incident_updates"]))  # the API lists the newest first
    assert [u["status"] for u in updates] == ["investigating", "identified", "monitoring", "resolved"]
    assert updates[0]["body"] == "We are investigating failed card payments at checkout."
    assert updates[3]["body"] == "Payments are back to normal."
    assert all(u["deliver_notifications"] for u in updates)
    assert set(_statuses(standin).values()) == {"operational"}
    assert {(a["name"], a["new_status"]) for a in updates[3]["affected_components"]} == {
        ("Checkout", "operational"), ("Payments", "operational")}
    assert shown["metadata"]["chgsync"]["change_id"] == "CHG-9"
    assert standin.requests.count("POST") == 1 and standin.requests.count("PATCH") == 3


def test_the_create_request_has_statuspages_documented_shape(notifier: StatuspageNotifier,
                                                             standin: StatuspageStandIn,
                                                             notice: Callable[..., Notification]) -> None:
    notifier.send(notice())

    [post] = [c for c in standin.calls if c.method == "POST"]
    assert post.path == "/v1/pages/chgsyncpage1/incidents" and post.content_type == "application/json"
    sent = post.body["incident"]
    checkout, payments = standin.component("Checkout").id, standin.component("Payments").id
    assert sent == {
        "name": "CHG-9: Checkout payments failing", "status": "investigating",
        "body": "We are investigating failed card payments at checkout.", "deliver_notifications": True,
        "metadata": {"chgsync": {"change_id": "CHG-9", "keys": ["CHG-9:event:state:implementing:3>status"]}},
        "component_ids": [checkout, payments],
        "components": {checkout: "major_outage", payments: "major_outage"},
    }


@pytest.mark.parametrize(("severity", "expected"), [("critical", "major_outage"), ("warning", "partial_outage"),
                                                    ("info", "degraded_performance")])
def test_component_status_follows_severity(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                           notice: Callable[..., Notification], severity: str, expected: str) -> None:
    notifier.send(notice(severity=severity, components=("Checkout",)))

    assert standin.component("Checkout").status == expected
    assert standin.component("Payments").status == "operational"


def test_an_update_can_change_the_component_status(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                   notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice())
    notifier.send(notice(key="k2", status="identified", severity="warning", thread=thread))

    assert standin.component("Checkout").status == "partial_outage"
    [incident] = standin.incidents_on()
    assert len(incident.updates) == 2


def test_resolving_restores_every_component_the_incident_touched(notifier: StatuspageNotifier,
                                                                 standin: StatuspageStandIn,
                                                                 notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice())
    notifier.send(notice(key="done", status="resolved", components=(), thread=thread))  # names no system

    assert standin.component("Checkout").status == "operational"
    assert standin.component("Payments").status == "operational"


def test_non_emergency_notices_are_skipped_without_a_call(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                          notice: Callable[..., Notification]) -> None:
    assert notifier.send(notice(emergency=False)) is None
    assert notifier.send(notice(status=None)) is None
    assert notifier.send(notice(emergency=False, thread="abc123")) is None

    assert len(standin.requests) == 0
    assert standin.incidents_on() == []


def test_a_create_whose_answer_was_lost_is_not_repeated(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                        notice: Callable[..., Notification]) -> None:
    standin.lose_next_answer(method="POST")
    with pytest.raises(RemoteError) as caught:
        notifier.send(notice())
    assert caught.value.retryable and caught.value.status is None
    [incident] = standin.incidents_on()  # Statuspage did create it

    again = notifier.send(notice())  # the outbox's retry

    assert again == incident.id
    assert len(standin.incidents_on()) == 1 and len(incident.updates) == 1
    assert standin.requests.count("POST") == 1


def test_an_update_whose_answer_was_lost_is_not_repeated(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                         notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice())
    update = notice(key="k2", status="identified", text="Found it.", thread=thread)
    standin.lose_next_answer(method="PATCH")
    with pytest.raises(RemoteError) as caught:
        notifier.send(update)
    assert caught.value.retryable

    assert notifier.send(update) == thread

    [incident] = standin.incidents_on()
    assert [u.status for u in incident.updates] == ["investigating", "identified"]


def test_a_first_notice_for_a_change_with_an_open_incident_updates_it(make_notifier: Callable[...,
                                                                                           StatuspageNotifier],
                                                                      standin: StatuspageStandIn,
                                                                      notice: Callable[..., Notification]) -> None:
    opened = make_notifier().send(notice())
    # Another replica, or a daemon that lost the thread: its first notice is a different one.
    again = make_notifier().send(notice(key="other-first", status="identified", text="Identified."))

    assert again == opened
    [incident] = standin.incidents_on()
    assert [u.status for u in incident.updates] == ["investigating", "identified"]


def test_an_open_incident_named_after_the_change_is_reused(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                           notice: Callable[..., Notification]) -> None:
    headers = {"Authorization": f"OAuth {standin.secret}"}
    url = f"{standin.base_url}/v1/pages/chgsyncpage1/incidents"
    other = requests.post(url, json={"incident": {"name": "Search slow (CHG-90)", "status": "investigating"}},
                          headers=headers, timeout=5).json()
    by_hand = requests.post(url, json={"incident": {"name": "CHG-9 payments", "status": "investigating"}},
                            headers=headers, timeout=5).json()

    assert notifier.send(notice()) == by_hand["id"]
    assert len(standin.incidents_on()) == 2
    assert len(standin.incidents[other["id"]].updates) == 1


def test_a_resolved_incident_is_not_reused(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                           notice: Callable[..., Notification]) -> None:
    first = notifier.send(notice())
    notifier.send(notice(key="k2", status="resolved", thread=first))

    second = notifier.send(notice(key="CHG-9:reopened"))

    assert second != first and len(standin.incidents_on()) == 2


def test_components_come_from_the_settings_map(make_notifier: Callable[..., StatuspageNotifier],
                                               standin: StatuspageStandIn,
                                               notice: Callable[..., Notification]) -> None:
    search = standin.component("Search").id
    notifier = make_notifier(components={"Checkout": search})  # the map wins over the page's names

    notifier.send(notice(components=("checkout", "payments")))

    assert standin.component("Search").status == "major_outage"
    assert standin.component("Payments").status == "operational"
    assert standin.requests.count("GET", "/v1/pages/chgsyncpage1/components") == 0


def test_the_page_components_are_listed_once_and_matched_ignoring_case(notifier: StatuspageNotifier,
                                                                       standin: StatuspageStandIn,
                                                                       notice: Callable[..., Notification]) -> None:
    thread = notifier.send(notice(components=("CHECKOUT", "public api")))
    notifier.send(notice(key="k2", status="identified", components=("Checkout",), thread=thread))

    assert standin.component("Public API").status == "major_outage"
    assert standin.requests.count("GET", "/v1/pages/chgsyncpage1/components") == 1


def test_the_component_listing_is_paged(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                        notice: Callable[..., Notification]) -> None:
    for n in range(110):
        standin.add_component("chgsyncpage1", f"Edge {n}")

    notifier.send(notice(components=("Edge 105",)))

    assert standin.component("Edge 105").status == "major_outage"
    assert standin.requests.count("GET", "/v1/pages/chgsyncpage1/components") == 2


def test_unknown_systems_are_left_out_and_logged(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                 notice: Callable[..., Notification],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="chgsync_statuspage.notifier"):
        notifier.send(notice(components=("checkout", "mainframe")))

    [incident] = standin.incidents_on()
    assert incident.component_ids == [standin.component("Checkout").id]
    assert "'mainframe'" in caplog.text


def test_a_notice_without_systems_opens_an_incident_without_components(notifier: StatuspageNotifier,
                                                                       standin: StatuspageStandIn,
                                                                       notice: Callable[..., Notification]) -> None:
    notifier.send(notice(components=()))

    [post] = [c for c in standin.calls if c.method == "POST"]
    assert "components" not in post.body["incident"] and "component_ids" not in post.body["incident"]
    assert standin.requests.count("GET", "/v1/pages/chgsyncpage1/components") == 0


def test_subscriber_notifications_can_be_switched_off(make_notifier: Callable[..., StatuspageNotifier],
                                                      standin: StatuspageStandIn,
                                                      notice: Callable[..., Notification]) -> None:
    make_notifier(deliver_notifications=False).send(notice())

    [incident] = standin.incidents_on()
    assert incident.updates[0].deliver_notifications is False


def test_long_text_is_clipped_to_statuspages_limits(notifier: StatuspageNotifier, standin: StatuspageStandIn,
                                                    notice: Callable[..., Notification]) -> None:
    notifier.send(notice(subject="S" * 400, text="T" * 30_000))

    [incident] = standin.incidents_on()
    assert len(incident.name) == 255 and incident.name.endswith("…")
    assert len(incident.updates[0].body) == 25_000
