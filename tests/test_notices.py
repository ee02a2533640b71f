"""What a move announces, and who hears it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chgsync.announcements import Mark, Notice, announce
from chgsync.lifecycle import ChangeType, State
from chgsync.markers import DeployMarker, MarkerPhase
from chgsync.model import Approval, Decision, Outcome
from chgsync.notify import Event, Notification
from chgsync.routing import Route, Router, Routing, recipients
from chgsync.testing.samples import sample_change

AT = datetime(2026, 12, 8, 2, 5, tzinfo=UTC)


def events(items: list[Notice | Mark]) -> list[str]:
    return [i.event.value if isinstance(i, Notice) else f"mark:{i.phase.value}" for i in items]


def test_starting_implementation_announces_the_start_and_a_started_marker() -> None:
    before = sample_change(state=State.SCHEDULED)
    after = before.moved(State.IMPLEMENTING, AT)
    got = announce(before, after, AT)
    assert events(got) == ["state_changed", "implementation_started", "mark:started"]
    start = next(i for i in got if isinstance(i, Notice) and i.event == Event.IMPLEMENTATION_STARTED)
    assert start.text.startswith(f"Change {after.id} starting: ")
    assert start.to == "sam@example.com"


def test_completion_says_all_green_or_the_outcome_and_marks_accordingly() -> None:
    running = sample_change(state=State.IMPLEMENTING)
    done = running.moved(State.IMPLEMENTED, AT)
    got = announce(running, done, AT)
    complete = next(i for i in got if isinstance(i, Notice) and i.event == Event.IMPLEMENTATION_COMPLETED)
    assert complete.text == f"Change {done.id} complete. All systems green."
    assert [i.phase for i in got if isinstance(i, Mark)] == [MarkerPhase.FINISHED]

    rolled = running.model_copy(update={"outcome": Outcome.ROLLED_BACK}).moved(State.IMPLEMENTED, AT)
    got = announce(running, rolled, AT)
    assert "rolled back" in next(i for i in got if isinstance(i, Notice) and i.event ==
                                 Event.IMPLEMENTATION_COMPLETED).text
    assert [(i.phase, i.outcome) for i in got if isinstance(i, Mark)] == [(MarkerPhase.ROLLED_BACK, "rolled_back")]
    assert Event.ROLLBACK in [i.event for i in got if isinstance(i, Notice)]


def test_a_rollback_recorded_later_marks_once() -> None:
    done = sample_change(state=State.IMPLEMENTED, outcome=Outcome.SUCCESSFUL)
    rolled = done.model_copy(update={"outcome": Outcome.ROLLED_BACK})
    got = announce(done, rolled, AT)
    assert events(got) == ["rollback", "mark:rolled_back"]
    assert announce(rolled, rolled, AT) == []  # nothing moved: nothing said


def test_cab_decisions_are_announced_one_each_and_keys_are_stable() -> None:
    before = sample_change(state=State.CAB_REVIEW)
    decision = Approval(role="technical_lead", approver="lee@example.com", decision=Decision.DEFER,
                        reason="Wait for the freeze to end", at=AT)
    after = before.model_copy(update={"cab": before.cab.model_copy(update={"approvals": [decision]})})
    got = announce(before, after, AT)
    assert events(got) == ["cab_decision"]
    assert "decided defer" in got[0].text and "Wait for the freeze" in got[0].text
    assert [i.key for i in announce(before, after, AT)] == [i.key for i in got]


def test_emergency_notices_carry_status_page_states_and_a_resolution_summary() -> None:
    before = sample_change(ChangeType.EMERGENCY, state=State.APPROVED)
    going = before.moved(State.IMPLEMENTING, AT)
    start = [i for i in announce(before, going, AT) if isinstance(i, Notice)]
    assert {i.status for i in start} == {"identified"}
    done = going.model_copy(update={"close_notes": "Restarted the pool."}).moved(State.IMPLEMENTED, AT)
    resolved = next(i for i in announce(going, done, AT) if isinstance(i, Notice) and i.event ==
                    Event.EMERGENCY_RESOLVED)
    assert resolved.status == "resolved"
    assert "Root cause: PostgreSQL 15 leaves support." in resolved.text and "Restarted the pool." in resolved.text


def test_entering_cab_review_requests_approval() -> None:
    before = sample_change()
    got = announce(before, before.moved(State.CAB_REVIEW, AT), AT)
    assert events(got) == ["state_changed", "approval_requested"]


# -- routing ---------------------------------------------------------------------------------------------
CHANNELS = {"team-slack": "slack", "mail": "email", "page": "statuspage"}


def test_without_routes_or_plan_every_channel_hears_everything() -> None:
    change = sample_change(communication={})
    assert set(Router(Routing(), CHANNELS).route(change, Event.STATE_CHANGED)) == set(CHANNELS)


def test_the_plan_picks_channels_by_kind_and_timing() -> None:
    change = sample_change()  # plan: slack and email, before and after
    router = Router(Routing(), CHANNELS)
    assert set(router.route(change, Event.APPROVAL_REQUESTED)) == {"team-slack", "mail"}  # before
    assert router.route(change, Event.IMPLEMENTATION_STARTED) == {}  # during: the plan did not ask


def test_routes_add_channels_by_event_type_and_environment() -> None:
    routing = Routing(routes=[Route(events=[Event.EMERGENCY_STATUS, Event.EMERGENCY_RESOLVED], channels=["page"],
                                    types=[ChangeType.EMERGENCY]),
                              Route(events=[Event.IMPLEMENTATION_STARTED], channels=["team-slack"],
                                    environments=["production"], to=["#oncall"])])
    router = Router(routing, CHANNELS)
    normal, emergency = sample_change(), sample_change(ChangeType.EMERGENCY)
    assert "page" not in router.route(normal, Event.EMERGENCY_STATUS)
    assert "page" in router.route(emergency, Event.EMERGENCY_STATUS)
    assert router.route(normal, Event.IMPLEMENTATION_STARTED) == {"team-slack": ("#oncall",)}
    staging = sample_change(schedule={"environment": "staging"})
    assert "team-slack" not in router.route(staging, Event.IMPLEMENTATION_STARTED)


def test_a_route_naming_an_unconfigured_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="not configured as notifiers: pager"):
        Router(Routing(routes=[Route(events=[Event.ROLLBACK], channels=["pager"])]), CHANNELS)


def test_recipients_are_the_plans_contacts_plus_extras_once_each() -> None:
    change = sample_change()
    assert recipients(change, ["#checkout", "sam@example.com", ""]) == ("#checkout", "sam@example.com")
    note = Notification(key="k", change_id="CHG-1", event="x", subject="s", text="t",
                        recipients=("#checkout", "sam@example.com", "@lee"))
    assert note.emails == ("sam@example.com",)


def test_obligation_notices_route_as_their_events() -> None:
    assert Event.of("retrospective_reminder") == Event.DEADLINE_DUE
    assert Event.of("postmortem_escalation") == Event.DEADLINE_MISSED
    assert Event.of("status_update") == Event.EMERGENCY_STATUS
    assert Event.of("implementation_started") == Event.IMPLEMENTATION_STARTED


def test_marker_tags_lower_case_the_change_id() -> None:
    marker = DeployMarker(key="k", change_id="CHG-1001", phase=MarkerPhase.FINISHED, at=AT,
                          services=("checkout",), environment="production", outcome="successful")
    assert set(marker.tags) >= {"change_id:chg-1001", "service:checkout", "env:production", "outcome:successful"}
