"""Changes walk the canonical lifecycle on both workflows, read back equal, and moves cost what they should.

Everything goes over real HTTP to the emulator; Jira's own state is checked through the emulator's
stored issue (status id, Change stage option, resolution), not through the adapter under test.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.emulator.defaults import CHANGE_WORKFLOW, default_document

from chgsync.adapter import RemoteRef
from chgsync.errors import MappingError, RemoteError
from chgsync.lifecycle import ChangeType, State, happy_path
from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.model import Change, Outcome
from chgsync.testing.conformance import mapped_view
from chgsync.testing.samples import sample_change

JSM = "jira-service-management"
SOFTWARE = "jira-software"
STAGE = "customfield_10054"

# Where each canonical state sits in Jira: (status, Change stage option or None).
EXPECTED = {
    JSM: {
        State.DRAFT: ("Planning", None),
        State.CAB_REVIEW: ("Awaiting CAB approval", None),
        State.APPROVED: ("Awaiting implementation", None),
        State.SCHEDULED: ("Awaiting implementation", "Scheduled"),
        State.IMPLEMENTING: ("Implementing", None),
        State.IMPLEMENTED: ("Completed", None),
        State.CLOSED: ("Completed", "Closed"),
        State.REJECTED: ("Declined", None),
        State.CANCELLED: ("Canceled", None),
    },
    SOFTWARE: {
        State.DRAFT: ("To Do", None),
        State.CAB_REVIEW: ("To Do", "CAB review"),
        State.APPROVED: ("To Do", "Approved"),
        State.SCHEDULED: ("To Do", "Scheduled"),
        State.IMPLEMENTING: ("In Progress", None),
        State.IMPLEMENTED: ("Done", None),
        State.CLOSED: ("Done", "Closed"),
        State.REJECTED: ("Done", "Rejected"),
        State.CANCELLED: ("Done", "Cancelled"),
    },
}


def jira_state(emulator: JiraEmulator, key: str) -> tuple[str, str | None]:
    issue = emulator.issue(key)
    status = emulator.site.statuses[issue.status_id].name
    option = issue.values.get(STAGE)
    stage = next((o.value for o in emulator.site.fields[STAGE].options if o.id == option), None)
    return status, stage


def step(change: Change, state: State) -> Change:
    """The change as chgsync would hold it on entering ``state`` along the happy path."""
    if state == State.IMPLEMENTED:
        start = change.schedule.planned_start
        assert start is not None
        change = change.model_copy(update={"outcome": Outcome.SUCCESSFUL, "schedule": change.schedule.model_copy(
            update={"actual_start": start, "actual_end": start + timedelta(minutes=40)})})
    if state == State.CLOSED:
        change = change.model_copy(update={"close_notes": "Done; validation passed."})
    return change.model_copy(update={"state": state})


@pytest.mark.parametrize("mapping", [JSM, SOFTWARE])
@pytest.mark.parametrize("change_type", list(ChangeType), ids=str)
def test_each_type_walks_its_lifecycle_and_reads_back_equal(jira_emulator: JiraEmulator, make_adapter: Any,
                                                            mapping: str, change_type: ChangeType) -> None:
    adapter = make_adapter(jira_emulator, mapping)
    change = sample_change(change_type, id=f"CHG-{700 + list(ChangeType).index(change_type)}")
    record = adapter.create(change)
    assert jira_state(jira_emulator, record.ref.key) == EXPECTED[mapping][State.DRAFT]
    for state in happy_path(change_type)[1:]:
        before, change = change, step(change, state)
        edited = [p for p in ("outcome", "schedule", "close_notes") if getattr(before, p) != getattr(change, p)]
        if edited:  # as the relay does: write what changed, then move
            adapter.update(record.ref, change, edited)
        moved = adapter.move(record.ref, change)
        again = adapter.get(record.ref)
        assert moved.change.state == again.change.state == state
        assert jira_state(jira_emulator, record.ref.key) == EXPECTED[mapping][state]
        assert mapped_view(adapter, again.change) == mapped_view(adapter, change), f"after moving to {state}"
        assert again.version == moved.version  # nothing wrote in between: the version is stable


@pytest.mark.parametrize("mapping", [JSM, SOFTWARE])
@pytest.mark.parametrize("ending", [State.REJECTED, State.CANCELLED], ids=str)
def test_endings_and_a_deferral(jira_emulator: JiraEmulator, make_adapter: Any, mapping: str,
                                ending: State) -> None:
    adapter = make_adapter(jira_emulator, mapping)
    change = sample_change(ChangeType.NORMAL, id="CHG-710")
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    # the CAB defers: back to draft (JSM takes "Back to planning"), then in review again
    assert adapter.move(ref, change.model_copy(update={"state": State.DRAFT})).change.state == State.DRAFT
    assert jira_state(jira_emulator, ref.key) == EXPECTED[mapping][State.DRAFT]
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    assert adapter.move(ref, change.model_copy(update={"state": ending})).change.state == ending
    assert jira_state(jira_emulator, ref.key) == EXPECTED[mapping][ending]
    issue = jira_emulator.issue(ref.key)
    resolution = jira_emulator.site.resolutions[issue.values["resolution"]].name
    if mapping == JSM:
        assert resolution == {State.REJECTED: "Declined", State.CANCELLED: "Won't Do"}[ending]


def test_moves_cost_one_request_per_hop_plus_two_reads(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    """The numbers behind the report: calls["move"] for each move of a normal change's whole walk."""
    adapter = make_adapter(jira_emulator, JSM)
    adapter.connect()
    change = sample_change(ChangeType.NORMAL, id="CHG-720")
    ref = adapter.create(change).ref
    per_move = {}
    for state in happy_path(ChangeType.NORMAL)[1:]:
        adapter.calls.clear()
        jira_emulator.requests.clear()
        change = step(change, state)
        adapter.move(ref, change)
        assert sum(adapter.calls.values()) == adapter.calls["move"] == len(jira_emulator.requests)
        per_move[state.value] = adapter.calls["move"]
    # GET the status, one POST per transition, a PUT when the Change stage changes, GET the result
    assert per_move == {"cab_review": 4, "approved": 3, "scheduled": 3, "implementing": 4, "implemented": 3,
                        "closed": 3}
    assert sum(per_move.values()) == 20


def test_operations_cost_what_they_should(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator, JSM)
    adapter.connect()
    assert adapter.calls == {"connect": 2}  # serverInfo, the project's statuses
    adapter.calls.clear()
    change = sample_change(ChangeType.NORMAL, id="CHG-721")
    ref = adapter.create(change).ref
    adapter.get(ref)
    adapter.update(ref, change.model_copy(update={"title": "Renamed"}), ["title"])
    adapter.comment(ref, "A note.")
    adapter.link(ref, ref.__class__("servicenow", "abc", "CHG0001", "https://snow.example.com/abc"))
    adapter.find("CHG-721")
    adapter.find("CHG-721")
    list(adapter.fetch_changed(None))
    list(adapter.fetch_changed(change.schedule.planned_start))
    assert dict(adapter.calls) == {
        "create": 2 + 2,     # a user search for each person (requester, implementer), POST, GET
        "get": 1,
        "update": 2,         # PUT, GET
        "comment": 1,
        "link": 1,
        "find": 1 + 2,       # GET /field once (the library's JQL name cache), then one search each
        "fetch_changed": 1 + 2,  # GET /myself once (the JQL time zone), then one page each
    }
    assert sum(adapter.calls.values()) == len(jira_emulator.requests) - 2  # less the two connect calls


def test_a_failed_change_ends_in_failed_with_the_outcomes_resolution(jira_emulator: JiraEmulator,
                                                                   make_adapter: Any) -> None:
    mapping = load_mapping(shipped_mapping(JSM))
    record = copy.deepcopy(mapping.record)
    record["resolution"]["outcomes"]["rolled_back"] = "Won't Do"
    adapter = make_adapter(jira_emulator, mapping.model_copy(update={"record": record}))
    change = sample_change(ChangeType.STANDARD, id="CHG-730")
    ref = adapter.create(change).ref
    for state in (State.SCHEDULED, State.IMPLEMENTING):
        adapter.move(ref, change := change.model_copy(update={"state": state}))
    change = change.model_copy(update={"state": State.IMPLEMENTED, "outcome": Outcome.ROLLED_BACK})
    assert adapter.move(ref, change).change.state == State.IMPLEMENTED
    assert jira_state(jira_emulator, ref.key) == ("Failed", None)  # took 81 "Mark as failed"
    issue = jira_emulator.issue(ref.key)
    assert jira_emulator.site.resolutions[issue.values["resolution"]].name == "Won't Do"
    closed = adapter.move(ref, change.model_copy(update={"state": State.CLOSED}))
    assert closed.change.state == State.CLOSED and jira_state(jira_emulator, ref.key) == ("Failed", "Closed")


def test_statuses_are_compared_by_id_so_a_renamed_status_still_reads(jira_emulator: JiraEmulator,
                                                                     make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator, JSM)
    change = sample_change(ChangeType.EMERGENCY, id="CHG-740")
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.IMPLEMENTING}))
    jira_emulator.site.statuses["10104"].name = "In implementation"  # an admin renames the status
    record = adapter.get(ref)
    assert record.raw["fields"]["status"]["name"] == "In implementation"
    assert record.change.state == State.IMPLEMENTING
    assert adapter.move(ref, change.model_copy(update={"state": State.IMPLEMENTED})).change.state == State.IMPLEMENTED


def test_an_unknown_status_name_fails_at_start_up_with_a_sentence(jira_emulator: JiraEmulator,
                                                                  make_adapter: Any) -> None:
    mapping = load_mapping(shipped_mapping(JSM))
    states = dict(mapping.states)
    states[State.REJECTED] = states[State.REJECTED].model_copy(update={"remote": {"status": "Rejected"}})
    adapter = make_adapter(jira_emulator, mapping.model_copy(update={"states": states}))
    with pytest.raises(MappingError) as info:
        adapter.get("CHG-1")
    assert str(info.value) == (
        f"{mapping.source} is not a usable mapping file: {mapping.source}: field 'states.rejected.remote.status': "
        "names status 'Rejected', which the Change workflow of project CHG does not have (it has: Planning, "
        "Peer review, Awaiting CAB approval, Declined, Awaiting implementation, Implementing, Completed, Failed, "
        "Canceled).")


def test_a_move_jira_accepts_but_does_not_make_is_an_error(make_adapter: Any) -> None:
    """A site whose "Approve" (41) loops back to Awaiting CAB approval: Jira answers 204 all the same."""
    workflow = copy.deepcopy(next(w for w in default_document("x")["workflows"] if w["name"] == CHANGE_WORKFLOW))
    for t in workflow["transitions"]:
        if t["id"] == "41":
            t["to"] = "Awaiting CAB approval"
    with JiraEmulator(seed={"workflows": [workflow]}) as emulator:
        adapter = make_adapter(emulator, JSM)
        change = sample_change(ChangeType.NORMAL, id="CHG-750")
        ref = adapter.create(change).ref
        adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
        with pytest.raises(RemoteError) as info:
            adapter.move(ref, change.model_copy(update={"state": State.APPROVED}))
        assert f"{ref.key} answered success but reads back as cab_review (status 'Awaiting CAB approval'), " \
               "not approved" in str(info.value)


def test_no_route_is_refused_before_any_write(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator, JSM)
    change = sample_change(ChangeType.EMERGENCY, id="CHG-760")
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.IMPLEMENTING}))
    jira_emulator.requests.clear()
    with pytest.raises(RemoteError) as info:
        adapter.move(ref, change.model_copy(update={"state": State.CANCELLED}))
    assert info.value.status == 409
    assert "no declared transition route from 'Implementing' to 'Canceled'" in info.value.remote_message
    assert jira_emulator.requests.count("POST") == 0


def test_a_transition_jira_refuses_carries_jiras_words(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    """The mapping claims 61 leaves Planning; the workflow disagrees and Jira says so (400, no retry)."""
    mapping = load_mapping(shipped_mapping(JSM))
    transitions = [t.model_copy(update={"from_": ["Planning"]}) if t.id == "61" else t for t in mapping.transitions]
    transitions = [t for t in transitions if t.id != "111"]
    adapter = make_adapter(jira_emulator, mapping.model_copy(update={"transitions": transitions}))
    change = sample_change(ChangeType.EMERGENCY, id="CHG-770")
    ref = adapter.create(change).ref
    with pytest.raises(RemoteError) as info:
        adapter.move(ref, change.model_copy(update={"state": State.IMPLEMENTING}))
    assert info.value.status == 400 and info.value.attempts == 1
    assert info.value.remote_message == "Transition id '61' is not valid for this issue."


def test_a_stale_stage_does_not_survive_a_move(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    """Someone drags a scheduled card to In Progress on the board: it reads as implementing; chgsync's
    next move clears the stage it left behind."""
    adapter = make_adapter(jira_emulator, SOFTWARE)
    change = sample_change(ChangeType.STANDARD, id="CHG-780")
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.SCHEDULED}))
    session = jira_emulator.session()
    session.post(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}/transitions", json={"transition": {"id": "21"}})
    assert adapter.get(ref).change.state == State.IMPLEMENTING
    assert jira_state(jira_emulator, ref.key) == ("In Progress", "Scheduled")
    adapter.move(ref, change.model_copy(update={"state": State.IMPLEMENTED}))
    assert jira_state(jira_emulator, ref.key) == ("Done", None)


def test_linking_twice_updates_one_remote_link(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-790")).ref
    other = RemoteRef("servicenow", "9d2c", "CHG0031207", "https://snow.example.com/change_request/9d2c")
    adapter.link(ref, other)
    adapter.link(ref, RemoteRef("servicenow", "9d2c", "CHG0031207", "https://snow.example.com/moved/9d2c"))
    (link,) = jira_emulator.issue(ref.key).remote_links
    assert link.global_id == "chgsync:servicenow:9d2c"
    assert link.object["title"] == "CHG0031207" and link.object["url"] == "https://snow.example.com/moved/9d2c"
