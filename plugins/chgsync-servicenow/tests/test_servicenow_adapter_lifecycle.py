"""State moves on ServiceNow: every canonical lifecycle, the hops it takes, what it costs, how it fails.

All against the emulator over HTTP. "Equal" is equality on every field the mapping maps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.adapter import RemoteRef
from chgsync.errors import RemoteError
from chgsync.lifecycle import ChangeType, State, happy_path
from chgsync.model import Change, Outcome
from chgsync.testing.conformance import mapped_view
from chgsync.testing.samples import sample_change

START = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)

#: The raw (state, approval) ServiceNow shows for each canonical state on the way.
RAW = {
    State.DRAFT: ("-5", None),
    State.CAB_REVIEW: ("-3", "requested"),
    State.APPROVED: ("-3", "approved"),
    State.SCHEDULED: ("-2", "approved"),
    State.IMPLEMENTING: ("-1", "approved"),
    State.IMPLEMENTED: ("0", "approved"),
    State.CLOSED: ("3", "approved"),
}


def advance(change: Change, state: State) -> Change:
    """What chgsync knows when it moves a change to ``state``: actual times, outcome, close notes."""
    schedule = change.schedule
    if state == State.IMPLEMENTING:
        schedule = schedule.model_copy(update={"actual_start": START + timedelta(minutes=3)})
    if state == State.IMPLEMENTED:
        schedule = schedule.model_copy(update={"actual_end": START + timedelta(minutes=41)})
    update: dict[str, Any] = {"state": state, "schedule": schedule}
    if state == State.IMPLEMENTED:
        update["outcome"] = Outcome.SUCCESSFUL_WITH_ISSUES
    if state == State.CLOSED:
        update["close_notes"] = "Upgraded; one consumer restarted by hand."
    return change.model_copy(update=update)


def walk(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator, change_type: ChangeType) -> list[int]:
    """Create and walk the happy path, checking every step; returns the API calls each move took."""
    change = sample_change(change_type, id=f"CHG-{change_type.value}", start=START)
    ref = adapter.create(change).ref
    calls = []
    for state in happy_path(change_type)[1:]:
        change = advance(change, state)
        adapter.calls.clear()
        moved = adapter.move(ref, change)
        calls.append(adapter.calls["move"])
        assert moved.change.state == state
        again = adapter.get(ref)
        assert again.change.state == state
        assert mapped_view(adapter, again.change) == mapped_view(adapter, change), f"after moving to {state}"
        raw = emulator.get_record("change_request", ref.id)
        assert raw is not None
        expected_state, expected_approval = RAW[state]
        assert raw["state"] == expected_state
        if expected_approval is not None:
            assert raw["approval"] == expected_approval
    raw = emulator.get_record("change_request", ref.id)
    assert raw is not None
    assert (raw["work_start"], raw["work_end"]) == ("2026-12-08 02:03:00", "2026-12-08 02:41:00")
    assert (raw["close_code"], raw["active"]) == ("successful_issues", "false")
    return calls


@pytest.mark.parametrize(("change_type", "expected"), [
    (ChangeType.NORMAL, [3, 2, 2, 2, 2, 2]),   # New->Assess->Authorize, approve, Scheduled, Implement, Review, Closed
    (ChangeType.STANDARD, [2, 2, 2, 2]),       # New->Scheduled, Implement, Review, Closed
    (ChangeType.EMERGENCY, [3, 2, 2]),         # New->Scheduled->Implement, Review, Closed
], ids=lambda v: v.value if isinstance(v, ChangeType) else None)
def test_whole_lifecycle_reads_back_equal_at_every_step(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                        change_type: ChangeType, expected: list[int]) -> None:
    # Each move is one GET of the current state plus one PATCH per state passed.
    assert walk(adapter, emulator, change_type) == expected


def test_a_move_is_one_operation_counting_every_request(adapter: ServiceNowAdapter,
                                                        emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-1", start=START)
    ref = adapter.create(change).ref
    adapter.calls.clear()
    emulator.requests.clear()
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    assert dict(adapter.calls) == {"move": 3}
    assert [(r.method, r.status) for r in emulator.requests] == [("GET", 200), ("PATCH", 200), ("PATCH", 200)]
    assert emulator.find_records("sysapproval_approver", f"sysapproval={ref.id}^state=requested")  # CAB asked


def test_moving_to_the_current_state_writes_nothing(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    """ServiceNow refuses X -> X (403): the adapter reads the state and does not write it again."""
    change = sample_change(ChangeType.STANDARD, id="CHG-2", start=START).model_copy(update={"state": State.SCHEDULED})
    ref = adapter.create(change).ref
    adapter.move(ref, change)
    emulator.requests.clear()
    assert adapter.move(ref, change).change.state == State.SCHEDULED
    assert [r.method for r in emulator.requests] == ["GET"]


@pytest.mark.parametrize("from_state", [State.DRAFT, State.CAB_REVIEW, State.APPROVED, State.SCHEDULED])
def test_cancel_from_every_cancellable_state(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                             from_state: State) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-3", start=START)
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": from_state}))
    record = adapter.move(ref, change.model_copy(update={"state": State.CANCELLED}))
    assert record.change.state == State.CANCELLED
    raw = emulator.get_record("change_request", ref.id)
    assert raw is not None and raw["state"] == "4" and raw["approval"] != "rejected"


def test_cab_rejection_and_deferral(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-4", start=START)
    deferred = adapter.create(change).ref
    adapter.move(deferred, change.model_copy(update={"state": State.CAB_REVIEW}))
    assert adapter.move(deferred, change.model_copy(update={"state": State.DRAFT})).change.state == State.DRAFT
    assert emulator.get_record("change_request", deferred.id)["approval"] == "not requested"  # type: ignore[index]

    rejected = adapter.create(change.model_copy(update={"id": "CHG-5"})).ref
    adapter.move(rejected, change.model_copy(update={"state": State.CAB_REVIEW}))
    emulator.requests.clear()
    record = adapter.move(rejected, change.model_copy(update={"state": State.REJECTED}))
    assert record.change.state == State.REJECTED
    raw = emulator.get_record("change_request", rejected.id)
    assert raw is not None and (raw["state"], raw["approval"]) == ("4", "rejected")
    assert len(emulator.requests) == 2  # state and approval in one PATCH


def test_catching_up_passes_the_states_the_type_needs(adapter: ServiceNowAdapter,
                                                      emulator: ServiceNowEmulator) -> None:
    """A normal change chgsync already has in Scheduled goes New -> Assess -> Scheduled, approved."""
    change = sample_change(ChangeType.NORMAL, id="CHG-6", start=START)
    ref = adapter.create(change).ref
    emulator.requests.clear()
    assert adapter.move(ref, change.model_copy(update={"state": State.SCHEDULED})).change.state == State.SCHEDULED
    assert [r.method for r in emulator.requests] == ["GET", "PATCH", "PATCH"]


def test_an_emergency_change_skips_assess(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.EMERGENCY, id="CHG-7", start=START)
    ref = adapter.create(change).ref
    emulator.requests.clear()
    record = adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    assert record.change.state == State.CAB_REVIEW
    assert [r.method for r in emulator.requests] == ["GET", "PATCH"]  # New -> Authorize directly
    approved = adapter.move(ref, change.model_copy(update={"state": State.APPROVED}))
    assert approved.change.state == State.APPROVED
    implementing = advance(change, State.IMPLEMENTING)
    assert adapter.move(ref, implementing).change.state == State.IMPLEMENTING  # via Scheduled


def test_approved_from_new_fixes_up_the_approval_the_state_resets(adapter: ServiceNowAdapter,
                                                                  emulator: ServiceNowEmulator) -> None:
    """Entering Authorize sets approval=requested; the adapter writes approved after it."""
    change = sample_change(ChangeType.EMERGENCY, id="CHG-8", start=START)
    ref = adapter.create(change).ref
    emulator.requests.clear()
    assert adapter.move(ref, change.model_copy(update={"state": State.APPROVED})).change.state == State.APPROVED
    assert [r.method for r in emulator.requests] == ["GET", "PATCH", "PATCH"]


def test_a_refused_move_fails_with_servicenows_words(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.STANDARD, id="CHG-9", start=START)
    ref = adapter.create(change).ref
    for state in happy_path(ChangeType.STANDARD)[1:]:
        change = advance(change, state)
        adapter.move(ref, change)
    emulator.requests.clear()
    with pytest.raises(RemoteError) as info:
        adapter.move(ref, change.model_copy(update={"state": State.DRAFT}))
    assert info.value.status == 403 and not info.value.retryable
    assert "CHG0030001" in str(info.value) and "state 3 (Closed)" in str(info.value)
    assert "aborted by Business Rule 'Change Model: Check State Transition" in info.value.remote_message
    assert "record.state_model has no way from 3 to -5 for standard changes" in info.value.remote_message
    assert emulator.requests.count("PATCH") == 1  # tried once: a 403 is not retried


def test_closing_without_an_outcome_names_the_missing_fields(adapter: ServiceNowAdapter,
                                                             emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.STANDARD, id="CHG-10", start=START)
    ref = adapter.create(change).ref
    for state in (State.SCHEDULED, State.IMPLEMENTING, State.IMPLEMENTED):
        adapter.move(ref, change.model_copy(update={"state": state}))
    with pytest.raises(RemoteError) as info:
        adapter.move(ref, change.model_copy(update={"state": State.CLOSED}))
    assert "mandatory: Close code, Close notes" in info.value.remote_message


def test_states_servicenow_reaches_on_its_own(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                              api: Any) -> None:
    """Assess reads as CAB review (its via stop); approving the CAB row in ServiceNow reads as Scheduled.

    Approving in ServiceNow moves Authorize straight to Scheduled: chgsync then sees CAB review ->
    Scheduled without Approved in between (documented in the README as a fidelity limit).
    """
    change = sample_change(ChangeType.NORMAL, id="CHG-11", start=START)
    ref = adapter.create(change).ref
    assert api.patch("change_request", ref.id, {"state": "-4"}).status_code == 200
    assert adapter.get(ref).change.state == State.CAB_REVIEW
    (row,) = api.query("sysapproval_approver", f"sysapproval={ref.id}^state=requested")
    assert api.patch("sysapproval_approver", row["sys_id"], {"state": "approved"}).status_code == 200
    assert adapter.get(ref).change.state == State.CAB_REVIEW  # Authorize, CAB asked
    for cab_row in api.query("sysapproval_approver", f"sysapproval={ref.id}^state=requested")[:1]:
        api.patch("sysapproval_approver", cab_row["sys_id"], {"state": "approved"})
    assert adapter.get(ref).change.state == State.SCHEDULED


def test_a_lost_answer_mid_move_resumes_from_the_state_it_reached(emulator: ServiceNowEmulator, proxy: Any,
                                                                  make_adapter: Callable[..., ServiceNowAdapter],
                                                                  sleeps: list[float]) -> None:
    """The PATCH to Assess lands but its answer is lost: the move re-reads and carries on (no X -> X)."""
    adapter = make_adapter(emulator, url=proxy.base_url)
    change = sample_change(ChangeType.NORMAL, id="CHG-12", start=START)
    ref = adapter.create(change).ref
    proxy.lose_next("PATCH", ref.id)
    adapter.calls.clear()
    assert adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW})).change.state == State.CAB_REVIEW
    assert proxy.lost == [f"PATCH /api/now/table/change_request/{ref.id}"]
    assert adapter.calls["move"] == 4  # GET, PATCH (answer lost), GET (already Assess), PATCH Authorize
    assert emulator.requests.count(status=403) == 0 and len(sleeps) == 1


def test_a_lost_insert_answer_does_not_make_a_duplicate(emulator: ServiceNowEmulator, proxy: Any,
                                                        make_adapter: Callable[..., ServiceNowAdapter]) -> None:
    adapter = make_adapter(emulator, url=proxy.base_url)
    proxy.lose_next("POST", "/change_request")
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-13", start=START))
    assert record.change.id == "CHG-13"
    assert len(emulator.find_records("change_request", "u_chgsync_id=CHG-13")) == 1
    # two people looked up, the POST whose answer was lost, then the lookup that found the record
    assert adapter.calls["create"] == 2 + 2


def test_an_insert_refused_before_processing_is_posted_again(adapter: ServiceNowAdapter,
                                                             emulator: ServiceNowEmulator) -> None:
    emulator.faults.fail_next(1, status=503)
    # no people: the first request is the insert (a person would be looked up first)
    adapter.create(sample_change(ChangeType.NORMAL, id="CHG-14", start=START, requester=None, implementer=None))
    assert [(r.method, r.status) for r in emulator.requests] == [("POST", 503), ("GET", 200), ("POST", 201)]
    assert len(emulator.find_records("change_request", "u_chgsync_id=CHG-14")) == 1


@responses.activate
def test_a_state_write_answered_200_but_reverted_is_an_error() -> None:
    """Customised instances revert state in a business rule and still answer 200 (ansible #187/#257).

    The emulator has no such rule, so this one narrow case is scripted with ``responses``.
    """
    base = "https://example.service-now.com"
    sys_id = "a" * 32
    record = {"sys_id": sys_id, "number": "CHG0040001", "state": "-5", "type": "standard", "approval": "not requested",
              "short_description": "Patch", "sys_mod_count": "1", "sys_updated_on": "2026-12-01 10:00:00",
              "sys_updated_by": "svc", "u_chgsync_id": "CHG-15"}
    url = f"{base}/api/now/table/change_request/{sys_id}"
    responses.get(url, json={"result": record})
    responses.patch(url, json={"result": {**record, "sys_mod_count": "2"}})  # 200, still New
    adapter = ServiceNowAdapter(base, "svc", "pw", sleep=lambda s: None)
    change = sample_change(ChangeType.STANDARD, id="CHG-15", start=START).model_copy(update={"state": State.SCHEDULED})
    with pytest.raises(RemoteError) as info:
        adapter.move(RemoteRef("servicenow", sys_id, "CHG0040001"), change)
    assert info.value.status == 200 and not info.value.retryable
    assert "CHG0040001 is in state -5 (Draft), not state -2 (Scheduled)" in str(info.value)


def test_actual_times_are_written_with_the_move(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    """Implement stamps work_start with 'now' when empty; chgsync's own time goes in the same write."""
    change = sample_change(ChangeType.STANDARD, id="CHG-16", start=START)
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.SCHEDULED}))
    emulator.requests.clear()
    adapter.move(ref, advance(change, State.IMPLEMENTING))
    assert emulator.get_record("change_request", ref.id)["work_start"] == "2026-12-08 02:03:00"  # type: ignore[index]
    assert emulator.requests.count("PATCH") == 1
