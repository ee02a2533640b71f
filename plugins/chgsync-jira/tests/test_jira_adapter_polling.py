"""``fetch_changed``: enhanced-search paging over more than a thousand issues, and a cursor that survives
JQL's minute precision in the integration user's own (non-UTC) time zone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from chgsync_jira.adapter import jql_minute
from chgsync_jira.emulator import JiraEmulator
from hypothesis import given, settings
from hypothesis import strategies as st

from chgsync.lifecycle import ChangeType
from chgsync.testing.samples import sample_change

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _issue(n: int, updated: datetime, project: str = "CHG") -> dict[str, Any]:
    fields: dict[str, Any] = {"customfield_10062": f"CHG-{n}"}
    if project == "CHG":
        fields["customfield_10040"] = {"value": "Normal"}
    return {"project": project, "issuetype": "Change" if project == "CHG" else "Task", "summary": f"Change {n}",
            "created": _ts(updated), "fields": fields}


def _searches(emulator: JiraEmulator) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in emulator.requests if r.path == "/rest/api/2/search/jql"]


def test_fetch_changed_pages_through_more_than_a_thousand_issues(make_adapter: Any) -> None:
    # Seeded, not created one by one: 1,050 changes seven minutes apart, plus OPS tasks that must not show.
    seed = {"issues": [_issue(n, BASE + timedelta(minutes=7 * n)) for n in range(1050)]
            + [_issue(5000 + n, BASE + timedelta(minutes=n), project="OPS") for n in range(20)]}
    with JiraEmulator(seed=seed) as emulator:
        adapter = make_adapter(emulator)
        adapter.connect()
        adapter.calls.clear()
        records = list(adapter.fetch_changed(None))
        assert len(records) == 1050 and len({r.ref.id for r in records}) == 1050
        assert [r.change.id for r in records] == [f"CHG-{n}" for n in range(1050)]  # ORDER BY updated ASC
        assert all(a.updated <= b.updated for a, b in itertools.pairwise(records))
        searches = _searches(emulator)
        assert len(searches) == 11  # 100 a page, the most Jira Cloud returns with fields
        assert "nextPageToken" not in searches[0] and all("nextPageToken" in s for s in searches[1:])
        assert searches[0]["jql"] == ['project = "CHG" AND issuetype = "10002" ORDER BY updated ASC, key ASC']
        assert adapter.calls == {"fetch_changed": 11 + 1}  # + GET /field, once per client

        since = BASE + timedelta(minutes=7 * 1000)
        later = list(adapter.fetch_changed(since))
        assert [r.change.id for r in later] == [f"CHG-{n}" for n in range(1000, 1050)]


def test_a_page_that_fails_is_retried_alone(make_adapter: Any, sleeps: list[float]) -> None:
    seed = {"issues": [_issue(n, BASE + timedelta(minutes=n)) for n in range(250)]}
    with JiraEmulator(seed=seed) as emulator:
        adapter = make_adapter(emulator)
        pages = adapter.fetch_changed(None)
        first = [next(pages) for _ in range(100)]
        emulator.faults.fail_next(1, status=502)
        rest = list(pages)
        assert len(first) + len(rest) == 250 and len(sleeps) == 1
        asked = [((parse_qs(r.query).get("nextPageToken") or [None])[0], r.status) for r in emulator.requests
                 if r.path == "/rest/api/2/search/jql"]
        (first_token, _), (second, failed), (again, ok), _third = asked
        assert first_token is None and second is not None  # the first page was not fetched again:
        assert (second, failed) == (again, 502) and ok == 200  # only the failed page, with its token


class Clock:
    """The emulator's clock, moved by the test: no sleeping to make time pass."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "America/New_York"])
def test_the_cursor_is_floored_to_the_minute_in_the_users_zone(make_adapter: Any, zone: str) -> None:
    clock = Clock(datetime(2026, 12, 8, 10, 44, 50, tzinfo=UTC))
    with JiraEmulator(clock=clock, seed={"users": [{"email": "chgsync@example.com", "timeZone": zone}]}) as emulator:
        adapter = make_adapter(emulator)
        made: dict[str, str] = {}
        for at in (datetime(2026, 12, 8, 10, 44, 50, tzinfo=UTC), datetime(2026, 12, 8, 10, 45, 10, tzinfo=UTC),
                   datetime(2026, 12, 8, 10, 45, 30, tzinfo=UTC), datetime(2026, 12, 8, 10, 45, 40, tzinfo=UTC)):
            clock.now = at
            made[at.strftime("%H:%M:%S")] = adapter.create(sample_change(ChangeType.NORMAL, id=f"CHG-{at.second}")).ref.key
        since = datetime(2026, 12, 8, 10, 45, 30, tzinfo=UTC)
        emulator.requests.clear()
        found = {r.ref.key for r in adapter.fetch_changed(since)}
        # at or after the cursor (10:45:30 exactly included); 10:45:10 is in the same minute: JQL returns
        # it and the adapter drops it; 10:44:50 is outside the floored minute
        assert found == {made["10:45:30"], made["10:45:40"]}
        (search,) = _searches(emulator)
        local = since.astimezone(ZoneInfo(zone))
        assert f'updated >= "{local:%Y/%m/%d %H:%M}"' in search["jql"][0]
        assert local.strftime("%H:%M") != "10:45"  # what a poller assuming UTC would have asked for
        answer = emulator.session().get(f"{emulator.base_url}/rest/api/2/search/jql",
                                        params={"jql": search["jql"][0], "fields": "summary"}).json()
        assert {i["key"] for i in answer["issues"]} == {made["10:45:10"], made["10:45:30"], made["10:45:40"]}


def test_a_poller_that_assumed_utc_would_miss_edits(make_adapter: Any) -> None:
    """Why the zone matters: in Berlin, "10:45" read as local time is 09:45 UTC, an hour too early;
    in New York it is 15:45 UTC, five hours too late, and edits in between are never seen."""
    clock = Clock(datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
    with JiraEmulator(clock=clock, seed={"users": [{"email": "chgsync@example.com",
                                                    "timeZone": "America/New_York"}]}) as emulator:
        adapter = make_adapter(emulator)
        key = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-1")).ref.key
        session = emulator.session()
        naive = session.get(f"{emulator.base_url}/rest/api/2/search/jql",
                            params={"jql": 'project = CHG AND updated >= "2026/12/08 10:45"'}).json()
        assert naive["issues"] == []
        assert [r.ref.key for r in adapter.fetch_changed(datetime(2026, 12, 8, 10, 45, tzinfo=UTC))] == [key]


# -- the literal itself, across clock changes ------------------------------------------------------------
def _readings(literal: str, zone: ZoneInfo) -> list[datetime]:
    naive = datetime.strptime(literal, "%Y/%m/%d %H:%M")
    return [naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)]


def test_the_repeated_hour_after_clocks_go_back() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 0, 30, 20, tzinfo=UTC)  # 02:30:20 CEST, the first 02:30
    second = datetime(2026, 10, 25, 1, 30, 20, tzinfo=UTC)  # 02:30:20 CET, the second
    assert jql_minute(first, berlin) == "2026/10/25 01:30"  # "02:30" could be read as the later one
    assert jql_minute(second, berlin) == "2026/10/25 02:30"
    assert jql_minute(datetime(2026, 3, 29, 1, 0, 59, tzinfo=UTC), berlin) == "2026/03/29 03:00"  # after the gap


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                           timezones=st.just(UTC)),
       zone=st.sampled_from(ZONES))
def test_the_literal_never_starts_after_the_cursor_nor_long_before(moment: datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    readings = _readings(jql_minute(moment, tz), tz)
    assert max(readings) <= moment  # however Jira reads it, nothing at or after the cursor is missed
    assert moment - min(readings) < timedelta(hours=1, minutes=1)  # and the overlap stays small


def test_the_literal_is_read_the_same_way_by_the_emulator(make_adapter: Any) -> None:
    clock = Clock(datetime(2026, 10, 25, 0, 30, 20, tzinfo=UTC))
    with JiraEmulator(clock=clock) as emulator:  # the default user is in Europe/Berlin
        adapter = make_adapter(emulator)
        key = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-1")).ref.key
        assert [r.ref.key for r in adapter.fetch_changed(clock.now)] == [key]
