"""Leases on singleton roles (the poller per system, the scheduler) on both backends.

Several replicas share one store; only the holder of a role's lease runs that role, a dead
holder's lease runs out and is taken over with the next generation, and a write fenced by an
older generation is refused even if its replica does not know it lost the role.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from chgsync.store import Fence, LeaseLost, Store
from chgsync.store.store import utcnow

LEASE = timedelta(seconds=30)


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


def test_one_holder_renews_others_wait_until_it_runs_out(store: Store, clock: Clock) -> None:
    assert store.acquire_lease("poller:jira", "a", LEASE) == 1
    assert store.acquire_lease("poller:jira", "b", LEASE) is None
    clock.now += LEASE - timedelta(seconds=1)
    assert store.acquire_lease("poller:jira", "a", LEASE) == 1  # renewed: same generation, later end
    clock.now += LEASE - timedelta(seconds=1)
    assert store.acquire_lease("poller:jira", "b", LEASE) is None  # still within the renewed lease
    clock.now += timedelta(seconds=2)
    assert store.acquire_lease("poller:jira", "b", LEASE) == 2  # a stopped renewing: taken over
    assert store.acquire_lease("poller:jira", "a", LEASE) is None
    assert store.lease_holders()["poller:jira"][:2] == ("b", 2)
    # Leases are independent of each other: another role is free.
    assert store.acquire_lease("poller:servicenow", "a", LEASE) == 1


def test_a_holder_whose_lease_ran_out_untaken_keeps_its_generation(store: Store, clock: Clock) -> None:
    assert store.acquire_lease("scheduler", "a", LEASE) == 1
    clock.now += LEASE * 3
    assert store.acquire_lease("scheduler", "a", LEASE) == 1  # nobody else wrote under another generation


def test_release_lets_another_replica_take_over_at_once(store: Store, clock: Clock) -> None:
    assert store.acquire_lease("poller:jira", "a", LEASE) == 1
    assert store.release_lease("poller:jira", "a")
    assert not store.release_lease("poller:jira", "b")  # only the holder can release
    assert store.acquire_lease("poller:jira", "b", LEASE) == 2


def test_the_cursor_moves_only_under_the_current_generation(store: Store, clock: Clock) -> None:
    first = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    gen = store.acquire_lease("poller:jira", "a", LEASE)
    assert gen is not None
    stale = Fence("poller:jira", "a", gen)
    with store.begin() as conn:
        store.set_cursor(conn, "jira", first, fence=stale)
    clock.now += LEASE * 2  # a paused: b takes over, polls and moves the cursor
    gen_b = store.acquire_lease("poller:jira", "b", LEASE)
    assert gen_b == gen + 1
    with store.begin() as conn:
        store.set_cursor(conn, "jira", first + timedelta(minutes=30), fence=Fence("poller:jira", "b", gen_b))
    # a wakes up and finishes its poll: its whole transaction is refused, b's cursor stands.
    with pytest.raises(LeaseLost, match="held by b .generation 2. now, not by a"), store.begin() as conn:
        store.add_inbox(conn, "jira", "poll:1:7", "poll", {}, b"{}")
        store.set_cursor(conn, "jira", first + timedelta(minutes=5), fence=stale)
    with store.begin() as conn:
        assert store.get_cursor(conn, "jira") == first + timedelta(minutes=30)
    assert store.inbox_counts() == {}
    # Fencing by generation, not by holder name: a restarted replica reusing a name is still stale.
    with pytest.raises(LeaseLost), store.begin() as conn:
        store.check_lease(conn, Fence("poller:jira", "b", gen_b - 1))
    with pytest.raises(LeaseLost, match="held by nobody"), store.begin() as conn:
        store.check_lease(conn, Fence("scheduler", "a", 1))


def test_replicas_racing_for_a_role_elect_exactly_one(store_url: str) -> None:
    """Eight replicas start at once (real clock, own connections): one wins each round, never two."""
    stores = [Store(store_url) for _ in range(8)]
    try:
        for round_ in range(3):
            name = f"race-{round_}"
            won: list[tuple[str, int | None]] = []
            start = threading.Barrier(len(stores))

            def contend(i: int, s: Store, name: str = name, won: list[tuple[str, int | None]] = won,
                        start: threading.Barrier = start) -> None:
                start.wait(10)
                won.append((f"r{i}", s.acquire_lease(name, f"r{i}", LEASE)))

            threads = [threading.Thread(target=contend, args=(i, s)) for i, s in enumerate(stores)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(30)
            winners = [(who, gen) for who, gen in won if gen is not None]
            assert len(won) == len(stores) and len(winners) == 1, won
            assert winners[0][1] == 1
            holder, generation, until = stores[0].lease_holders()[name]
            assert (holder, generation) == winners[0] and until > utcnow()
    finally:
        for s in stores:
            s.close()
