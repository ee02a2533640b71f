"""canonical → the exact JSON the adapter sends → canonical is the identity on every mapped field.

Pure property tests on the shipped mapping (no HTTP), one real-HTTP example, and the documented
losses: a rolled-back outcome reads back as unsuccessful; times keep whole seconds; an empty
description ("") reads back as none. People go out as sys_user sys_ids, which takes a lookup: the
pure tests give every address a user through a stand-in directory, and the instance answers the
reference with its dot-walked address, as a read asks for it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from chgsync_servicenow import routing
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import ServiceNowEmulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chgsync.lifecycle import EDGES, ChangeType, State
from chgsync.mapping import get_path
from chgsync.model import Change, Outcome
from chgsync.testing.samples import sample_change
from chgsync.testing.strategies import changes, moments

OFFLINE = ServiceNowAdapter("http://127.0.0.1:9")  # the shipped mapping; these tests never call it

# The shared strategies, less the documented losses: times keep whole seconds, and ServiceNow has no
# close code for a rolled-back outcome (empty text is no value there too: the shared text is never empty).
outcomes = st.none() | st.sampled_from([o for o in Outcome if o != Outcome.ROLLED_BACK])
servicenow_changes = changes(times=moments(timedelta(seconds=1)), parts={"outcome": outcomes})


PEOPLE: dict[str, str] = {}  # sys_id -> address, for every address the stand-in directory was asked about


def sys_id_of(email: str) -> str:
    """The stand-in directory: every address has a user."""
    sys_id = hashlib.md5(email.encode()).hexdigest()
    PEOPLE[sys_id] = email
    return sys_id


def stored(body: dict[str, str], **system: str) -> dict[str, str]:
    """What the instance answers after storing ``body``: the same strings, plus its own fields, and the
    address of each user a reference names (``<field>.email``, as the adapter's reads ask for it)."""
    wire = json.loads(json.dumps(body))  # exactly what goes over the wire
    assert all(isinstance(v, str) for v in wire.values()), "the Table API takes strings"
    walked = {f"{f.remote}.email": PEOPLE[wire[f.remote]] for f in OFFLINE.mapping.fields
              if f.is_user and wire.get(f.remote)}
    return {"sys_id": "f" * 32, "number": "CHG0030001", "state": "-5", "sys_mod_count": "0",
            "sys_updated_on": "2026-11-26 10:00:00", **wire, **walked, **system}


def assert_same_on_mapped_fields(adapter: ServiceNowAdapter, back: Change, change: Change) -> None:
    for f in adapter.mapping.fields:
        assert get_path(back, f.canonical) == get_path(change, f.canonical), f"{f.canonical} ({f.remote})"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(servicenow_changes)
def test_insert_body_round_trips(change: Change) -> None:
    back = OFFLINE.normalize(stored(OFFLINE.payload(change, users=sys_id_of)))
    assert_same_on_mapped_fields(OFFLINE, back, change)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(servicenow_changes, servicenow_changes)
def test_update_body_round_trips_including_clearing(before: Change, after: Change) -> None:
    """An update of every field over a record holding ``before`` (empty values clear) reads as ``after``."""
    record = stored(OFFLINE.payload(before, users=sys_id_of))
    record.update(stored(OFFLINE.payload(after, clear=True, users=sys_id_of)))
    assert_same_on_mapped_fields(OFFLINE, OFFLINE.normalize(record), after)


@given(st.sampled_from(list(State)))
def test_every_states_values_read_back_as_that_state(state: State) -> None:
    values = dict(OFFLINE.mapping.states[state].remote)
    assert OFFLINE.state_of(values) == state


def test_documented_losses() -> None:
    change = sample_change(ChangeType.NORMAL, outcome="rolled_back", description="")
    body = OFFLINE.payload(change, clear=True)
    assert body["close_code"] == "unsuccessful"  # ServiceNow has no "rolled back" close code
    back = OFFLINE.normalize(stored(body))
    assert back.outcome == Outcome.UNSUCCESSFUL and back.description is None
    moment = datetime(2026, 12, 8, 2, 0, 0, 999_999, tzinfo=UTC)
    timed = sample_change(ChangeType.NORMAL, start=moment)
    assert OFFLINE.normalize(stored(OFFLINE.payload(timed))).schedule.planned_start == moment.replace(microsecond=0)


def test_the_derived_risk_is_written_and_never_read() -> None:
    change = sample_change(ChangeType.NORMAL, risks=[{"risk": "Data loss", "likelihood": "high", "impact": "high"}])
    body = OFFLINE.payload(change)
    assert body["risk"] == "2"  # High
    assert OFFLINE.payload(change, ["title"]) == {"short_description": change.title}  # only with the risks
    assert OFFLINE.normalize(stored(body, risk="4")).overall_risk is not None  # derived from rows, not "risk"


@pytest.mark.parametrize("change_type", list(ChangeType), ids=str)
def test_every_lifecycle_edge_plans_to_moves_the_state_model_allows(change_type: ChangeType) -> None:
    """For each canonical move, the planned hops are edges of ServiceNow's model for that type."""
    mapping, model = OFFLINE.mapping, OFFLINE.record_settings.state_model[change_type]
    for source, targets in EDGES[change_type].items():
        start = mapping.status_of(source)
        if start not in model and start not in {"3", "4"}:
            continue  # a state this type never reaches on ServiceNow (a standard change in CAB review)
        for target in targets:
            sm = mapping.states[target]
            route = routing.plan(start, sm.remote["state"], sm.via, model)
            position = start
            for hop in route:
                assert hop in model.get(position, []), f"{change_type}: {source}->{target} plans {position}->{hop}"
                position = hop
            assert position == sm.remote["state"]


def test_a_tricky_change_round_trips_over_http(servicenow_emulator: ServiceNowEmulator,
                                               make_adapter: Any) -> None:
    adapter = make_adapter(servicenow_emulator)
    tricky = "Zürich ⚙ 100% \\n not a newline\n2. not a step\r\nTabs\there, commas, \"quotes\" and ^carets^"
    change = sample_change(ChangeType.EMERGENCY, id="CHG-x.1_2", start=datetime(2026, 3, 29, 1, 30, 1,
                                                                            tzinfo=timezone(timedelta(hours=1))),
                           description=tricky, close_notes=tricky,
                           implementation={"steps": [{"description": "1. Looks numbered", "command": "a\\b ^ c",
                                                      "owner": "Ops, night"}], "systems": ["a,b", "c\\d", "é\nf"]},
                           outcome="successful_with_issues")
    ref = adapter.create(change).ref
    assert_same_on_mapped_fields(adapter, adapter.get(ref).change, change)
    edited = sample_change(ChangeType.EMERGENCY, id="CHG-x.1_2", risks=[], rollback={}, justification={},
                           implementation={}, testing={}, schedule={"planned_start": None}, description=None)
    written = adapter.update(ref, edited, [f.canonical for f in adapter.mapping.fields])
    assert_same_on_mapped_fields(adapter, written.change, edited)
    assert_same_on_mapped_fields(adapter, adapter.get(ref).change, edited)
