"""The conformance suite every ticketing adapter passes.

Subclass :class:`AdapterConformance` in a plugin's tests and provide two fixtures: ``emulator`` (a
running :class:`chgsync.testing.emulator.Emulator` of the tool) and ``adapter`` (the plugin's
:class:`chgsync.adapter.Adapter`, connected to that emulator, with a retry policy whose sleeps
are short). Everything else is inherited::

    class TestMyToolAdapter(AdapterConformance):
        @pytest.fixture
        def emulator(self): ...
        @pytest.fixture
        def adapter(self, emulator): ...

"Equal" below means equal on every field the adapter's mapping maps: a tool cannot hold what its
mapping does not carry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..adapter import Adapter, RemoteRef
from ..errors import InputError, RemoteError
from ..lifecycle import ChangeType, State, happy_path
from ..model import Change, Outcome
from .emulator import Emulator
from .samples import sample_change


def mapped_view(adapter: Adapter, change: Change) -> dict[str, Any]:
    mapping = getattr(adapter, "mapping")
    return {f.canonical: v for f, v in zip(mapping.fields, mapping.encode(change).values(), strict=True)
            if f.canonical not in ("state",)}


class AdapterConformance:
    """Inherited tests; see the module docstring for the two fixtures to provide."""

    change_types: tuple[ChangeType, ...] = (ChangeType.NORMAL, ChangeType.STANDARD, ChangeType.EMERGENCY)

    @pytest.fixture
    def change(self) -> Change:
        return sample_change(ChangeType.NORMAL, id="CHG-900")

    @pytest.fixture
    def created(self, adapter: Adapter, change: Change) -> Iterator[RemoteRef]:
        yield adapter.create(change).ref

    def test_create_then_read_back_equal(self, adapter: Adapter, change: Change) -> None:
        record = adapter.create(change)
        assert record.ref.system == adapter.name
        assert record.change.state == State.DRAFT
        again = adapter.get(record.ref)
        assert mapped_view(adapter, again.change) == mapped_view(adapter, change)
        assert adapter.get(record.ref.key).ref.id == record.ref.id

    def test_find_by_change_id(self, adapter: Adapter, change: Change, created: RemoteRef) -> None:
        found = adapter.find(change.id)
        assert found is not None and found.ref.id == created.id
        assert adapter.find("CHG-DOES-NOT-EXIST") is None

    @pytest.mark.parametrize("change_type", list(ChangeType), ids=lambda t: t.value)
    def test_walks_the_whole_lifecycle(self, adapter: Adapter, change_type: ChangeType) -> None:
        change = sample_change(change_type, id=f"CHG-9{list(ChangeType).index(change_type)}")
        ref = adapter.create(change).ref
        start = change.schedule.planned_start
        for state in happy_path(change_type)[1:]:
            if state == State.IMPLEMENTED:
                change = change.model_copy(update={"outcome": Outcome.SUCCESSFUL, "schedule": change.schedule.model_copy(
                    update={"actual_start": start, "actual_end": start + timedelta(minutes=40)})})
            if state == State.CLOSED:
                change = change.model_copy(update={"close_notes": "Done; validation passed."})
            change = change.model_copy(update={"state": state})
            record = adapter.move(ref, change)
            assert record.change.state == state, f"moved to {state}, read back {record.change.state}"
            assert adapter.get(ref).change.state == state

    @pytest.mark.parametrize("ending", [State.CANCELLED], ids=["cancelled"])
    def test_reaches_an_ending_state(self, adapter: Adapter, change: Change, created: RemoteRef,
                                     ending: State) -> None:
        assert adapter.move(created, change.model_copy(update={"state": ending})).change.state == ending

    def test_update_writes_only_named_fields(self, adapter: Adapter, change: Change, created: RemoteRef) -> None:
        edited = change.model_copy(update={"title": "Upgrade orders-db, second attempt"})
        before = adapter.get(created)
        after = adapter.update(created, edited, ["title"])
        assert after.change.title == "Upgrade orders-db, second attempt"
        assert after.version != before.version
        assert mapped_view(adapter, after.change) == mapped_view(adapter, edited)

    def test_comment_and_link(self, adapter: Adapter, created: RemoteRef) -> None:
        assert adapter.find_comment(created, "Checked by the conformance suite.") is None
        comment_id = adapter.comment(created, "Checked by the conformance suite.")
        assert comment_id
        assert adapter.find_comment(created, "Checked by the conformance suite.") == comment_id
        assert adapter.find_comment(created, "Checked by the conformance suite, again.") is None
        other = RemoteRef(system="other", id="42", key="OTHER-42", url="http://127.0.0.1:9/OTHER-42")
        adapter.link(created, other)
        adapter.link(created, other)  # linking twice must not create a second link

    def test_fetch_changed_since(self, adapter: Adapter, change: Change) -> None:
        since = datetime.now(UTC) - timedelta(minutes=2)
        refs = {adapter.create(change.model_copy(update={"id": f"CHG-8{i}"})).ref.id for i in range(3)}
        seen = {r.ref.id for r in adapter.fetch_changed(since)}
        assert refs <= seen
        future = datetime.now(UTC) + timedelta(days=1)
        assert not refs & {r.ref.id for r in adapter.fetch_changed(future)}

    def test_calls_are_counted_per_operation(self, adapter: Adapter, change: Change, emulator: Emulator) -> None:
        adapter.calls.clear()
        emulator.requests.clear()
        ref = adapter.create(change).ref
        adapter.get(ref)
        assert adapter.calls["create"] >= 1 and adapter.calls["get"] >= 1
        assert sum(adapter.calls.values()) == len(emulator.requests)

    def test_server_errors_are_retried(self, adapter: Adapter, created: RemoteRef, emulator: Emulator) -> None:
        emulator.faults.fail_next(2, status=503)
        assert adapter.get(created).ref.id == created.id

    def test_rate_limit_is_honoured(self, adapter: Adapter, created: RemoteRef, emulator: Emulator) -> None:
        emulator.faults.rate_limit(1, per=60.0, retry_after=1)
        emulator.requests.clear()
        with pytest.raises(RemoteError) as info:
            adapter.get(created)
            adapter.get(created)
        assert info.value.status == 429
        assert emulator.requests.count(status=429) >= 2  # it retried before giving up

    def test_outage_fails_with_the_remote_message(self, adapter: Adapter, created: RemoteRef,
                                                   emulator: Emulator) -> None:
        emulator.faults.outage(True, status=503)
        with pytest.raises(RemoteError) as info:
            adapter.get(created)
        assert info.value.status == 503 and info.value.remote_message
        emulator.faults.outage(False)
        assert adapter.get(created).ref.id == created.id

    def test_normalize_a_record_offline(self, adapter: Adapter, change: Change, created: RemoteRef) -> None:
        record = adapter.get(created)
        again = adapter.normalize(dict(record.raw))
        assert mapped_view(adapter, again) == mapped_view(adapter, change)

    def test_mapping_matches_the_emulator(self, adapter: Adapter) -> None:
        assert adapter.check() == []

    def test_garbage_webhook_is_refused(self, adapter: Adapter) -> None:
        with pytest.raises(InputError):
            adapter.parse_webhook({"Content-Type": "application/json"}, b"{not json")
        with pytest.raises(InputError):
            adapter.parse_webhook({"Content-Type": "application/json"}, b"[]")
