"""The store on both backends: idempotent intake, per-change outbox order, claims, leases, dead letters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from chgsync.adapter import RemoteRef
from chgsync.store import ConcurrentUpdate, SchemaMismatch, Store
from chgsync.store.migrate import head_revision
from chgsync.testing.samples import sample_change


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[Store]:
    s = Store(store_url, clock=clock)
    yield s
    s.close()


def test_changes_save_with_optimistic_versions(store: Store) -> None:
    change = sample_change()
    with store.begin() as conn:
        assert store.save_change(conn, change, None) == 1
        with pytest.raises(ConcurrentUpdate):
            store.save_change(conn, change, None)
    with store.begin() as conn:
        assert store.save_change(conn, change.model_copy(update={"title": "Second"}), 1) == 2
        with pytest.raises(ConcurrentUpdate, match="since version 1"):
            store.save_change(conn, change, 1)
    with store.begin() as conn:
        loaded, version = store.get_change(conn, change.id)  # type: ignore[misc]
    assert (loaded.title, version) == ("Second", 2)


def test_inbox_deduplicates_deliveries(store: Store) -> None:
    with store.begin() as conn:
        assert store.add_inbox(conn, "jira", "d-1", "webhook", {"a": "b"}, b"{}") is True
        assert store.add_inbox(conn, "jira", "d-1", "webhook", {}, b"{}") is False
        assert store.add_inbox(conn, "servicenow", "d-1", "webhook", {}, b"{}") is True
    assert store.inbox_counts() == {"pending": 2}


def test_outbox_keeps_per_change_order_and_runs_changes_in_parallel(store: Store) -> None:
    with store.begin() as conn:
        for key, change in [("a1", "CHG-A"), ("a2", "CHG-A"), ("b1", "CHG-B")]:
            store.enqueue(conn, key, change, "sync", "jira", {})
        assert store.enqueue(conn, "a1", "CHG-A", "sync", "jira", {}) is False  # idempotency key
    first = store.claim_outbox("w1", limit=10)
    assert [i.key for i in first] == ["a1", "b1"]
    assert store.claim_outbox("w2") == []  # a2 waits for a1
    store.fail_outbox(first[0].id, "remote down", None)  # a1 dead-lettered
    assert store.claim_outbox("w2") == []  # ...and still holds back a2
    assert store.retry_outbox() == 1
    again = store.claim_outbox("w2")
    assert [i.key for i in again] == ["a1"]
    assert store.complete_outbox(again[0].id, "w2")
    assert [i.key for i in store.claim_outbox("w2")] == ["a2"]


def test_expired_claims_are_taken_over_and_fenced(store: Store, clock: Clock) -> None:
    with store.begin() as conn:
        store.enqueue(conn, "k", "CHG-A", "sync", "jira", {})
    item = store.claim_outbox("dead-replica", lease=timedelta(minutes=1))[0]
    assert store.claim_outbox("w2") == []
    clock.now += timedelta(minutes=2)
    taken = store.claim_outbox("w2")
    assert [i.key for i in taken] == ["k"] and taken[0].attempts == 2
    assert store.complete_outbox(item.id, "dead-replica") is False  # the old holder lost its claim
    assert store.complete_outbox(item.id, "w2") is True


def test_concurrent_claims_never_hand_out_an_item_twice(store: Store) -> None:
    with store.begin() as conn:
        for i in range(60):
            store.enqueue(conn, f"k{i}", f"CHG-{i}", "sync", "jira", {})
    got: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while items := store.claim_outbox(name, limit=3):
            with lock:
                got.extend(i.key for i in items)
            for i in items:
                store.complete_outbox(i.id, name)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(f"k{i}" for i in range(60))


def test_links_cursors_echoes(store: Store) -> None:
    ref = RemoteRef("jira", "10001", "CHG-7", "http://x/CHG-7")
    with store.begin() as conn:
        store.link(conn, "CHG-1", ref, "v1", {"summary": "a"})
        store.link(conn, "CHG-1", ref, "v2", {"summary": "b"})
        assert store.get_link(conn, "jira", "10001")["remote_version"] == "v2"
        store.set_cursor(conn, "jira", datetime(2026, 12, 1, tzinfo=UTC))
        assert store.get_cursor(conn, "jira") == datetime(2026, 12, 1, tzinfo=UTC)
        store.record_echo(conn, "jira", "10001", "v3", {"summary": "c"})
        store.record_echo(conn, "jira", "10001", "v3", {"summary": "c"})
        assert store.is_echo(conn, "jira", "10001", "v3", {"summary": "c"})
        assert not store.is_echo(conn, "jira", "10001", "v3", {"summary": "edited"})
        assert not store.is_echo(conn, "jira", "10001", "v4", {"summary": "c"})


def test_a_newer_schema_is_refused_with_a_sentence(store_url: str) -> None:
    Store(store_url).close()
    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="newer chgsync"):
        Store(store_url)
    assert head_revision() != "9999"


def test_a_record_is_never_relinked_to_another_change(store: Store) -> None:
    """Two replicas adopting one record at once: the later adoption fails instead of stealing the link."""
    ref = RemoteRef("jira", "10001", "CHG-7", "http://x/CHG-7")
    with store.begin() as conn:
        store.link(conn, "CHG-1001", ref, "v1", {})
    with pytest.raises(ConcurrentUpdate, match="belongs to CHG-1001, not CHG-1002"), store.begin() as conn:
        store.link(conn, "CHG-1002", ref, "v1", {})
    with store.begin() as conn:
        assert store.get_link(conn, "jira", "10001")["change_id"] == "CHG-1001"
        store.link(conn, "CHG-1001", ref, "v2", {})  # the same change refreshes it as before
        assert store.get_link(conn, "jira", "10001")["remote_version"] == "v2"
