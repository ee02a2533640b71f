"""JQL as an integration uses it: clauses, dates in the searcher's zone with minute precision,
relative dates, ordering, and Jira's 400s for what it cannot parse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Europe/Berlin


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


SEED = {
    "users": [
        {
            "email": "utc.poller@example.com",
            "displayName": "UTC poller",
            "timeZone": "UTC",
            "token": "utc-token",
        }
    ],
    "issues": [
        {
            "project": "CHG",
            "issuetype": "Change",
            "summary": "Upgrade payments DB",
            "status": "Peer review",
            "created": "2026-11-26T08:00:00.000+0000",
            "fields": {
                "customfield_10040": {"value": "Normal"},
                "customfield_10041": {"value": "High"},
                "labels": ["db"],
                "customfield_10053": "CHG0031207",
            },
        },
        {
            "project": "CHG",
            "issuetype": "Change",
            "summary": "Rotate TLS certificates",
            "status": "Completed",
            "created": "2026-11-26T08:59:00.000+0000",
            "fields": {"customfield_10040": {"value": "Standard"}, "customfield_10041": {"value": "Low"}},
        },
        {
            "project": "CHG",
            "issuetype": "Change",
            "summary": "Emergency kernel patch",
            "created": "2026-11-26T09:00:00.000+0000",
            "reporter": "alex.morgan@example.com",
            "fields": {
                "customfield_10040": {"value": "Emergency"},
                "labels": ["kernel", "db"],
                "description": "Patch CVE-2026-0001 on all hosts.",
            },
        },
        {
            "project": "OPS",
            "issuetype": "Task",
            "summary": "Clean up dashboards",
            "created": "2026-11-26T09:30:00.000+0000",
            "fields": {"customfield_10016": 3},
        },
    ],
}


@pytest.fixture
def emulator(clock: Clock) -> Iterator[JiraEmulator]:
    with JiraEmulator(seed=SEED, clock=clock) as emu:
        yield emu


def search(emu: JiraEmulator, jql: str, *, as_utc_user: bool = False) -> requests.Response:
    session = emu.session()
    if as_utc_user:
        session.auth = ("utc.poller@example.com", "utc-token")
    return session.get(
        f"{emu.base_url}/rest/api/2/search/jql", params={"jql": jql, "fields": "key", "maxResults": 100}
    )


def keys(emu: JiraEmulator, jql: str, **kwargs: Any) -> list[str]:
    resp = search(emu, jql, **kwargs)
    assert resp.status_code == 200, resp.text
    return [i["key"] for i in resp.json()["issues"]]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = CHG ORDER BY key", ["CHG-1", "CHG-2", "CHG-3"]),
        ("project in (CHG, OPS) ORDER BY key DESC", ["OPS-1", "CHG-3", "CHG-2", "CHG-1"]),
        ('issuetype = "Change" AND status = "Peer review"', ["CHG-1"]),
        ("status in (Planning, Completed) ORDER BY key", ["CHG-2", "CHG-3"]),
        ("statusCategory != Done AND project = CHG ORDER BY key", ["CHG-1", "CHG-3"]),
        ("key in (CHG-1, CHG-3) ORDER BY key", ["CHG-1", "CHG-3"]),
        ("key = OPS-1 OR (project = CHG AND labels = kernel) ORDER BY key", ["CHG-3", "OPS-1"]),
        ("project = CHG AND NOT labels = db ORDER BY key", ["CHG-2"]),
        ("cf[10041] = High", ["CHG-1"]),
        ('"Change risk" != High', ["CHG-2"]),  # != never matches an empty field (CHG-3 has no risk)
        ('"Change type[Dropdown]" in (Normal, Emergency) ORDER BY key', ["CHG-1", "CHG-3"]),
        ('"External change reference" ~ "CHG003*"', ["CHG-1"]),
        ('"External change reference" is EMPTY AND project = CHG ORDER BY key', ["CHG-2", "CHG-3"]),
        ("text ~ cve-2026-0001", ["CHG-3"]),
        ('summary ~ "certificates"', ["CHG-2"]),
        ("reporter = currentUser() ORDER BY key", ["CHG-1", "CHG-2", "OPS-1"]),
        ('reporter = "alex.morgan@example.com"', ["CHG-3"]),
        ("resolution = Unresolved AND project = CHG ORDER BY key", ["CHG-1", "CHG-3"]),
        ("cf[10016] >= 3", ["OPS-1"]),
    ],
)
def test_clauses(emulator: JiraEmulator, jql: str, expected: list[str]) -> None:
    assert keys(emulator, jql) == expected


def test_absolute_dates_are_read_in_the_searchers_time_zone(emulator: JiraEmulator) -> None:
    # CHG-3 was created 09:00 UTC = 10:00 Berlin; CHG-2 at 08:59 UTC = 09:59 Berlin.
    jql = 'project = CHG AND updated >= "2026-11-26 10:00" ORDER BY key'
    assert keys(emulator, jql) == ["CHG-3"]  # the integration user lives in Europe/Berlin
    assert keys(emulator, jql, as_utc_user=True) == []  # 10:00 UTC is after every update
    assert keys(
        emulator, 'project = CHG AND updated >= "2026-11-26 09:00" ORDER BY key', as_utc_user=True
    ) == ["CHG-3"]


@pytest.mark.parametrize("literal", ["2026/11/26 10:00", "2026-11-26 10:00", '"2026/11/26"', "2026-11-26"])
def test_jira_date_formats(emulator: JiraEmulator, literal: str) -> None:
    value = literal if literal.startswith('"') else f'"{literal}"'
    assert keys(emulator, f"project = CHG AND created >= {value} ORDER BY key")[-1] == "CHG-3"


def test_seconds_are_not_a_jql_date_format(emulator: JiraEmulator) -> None:
    resp = search(emulator, 'updated >= "2026-11-26 10:00:30"')
    assert resp.status_code == 400
    assert resp.json() == {
        "errorMessages": [
            "Date value '2026-11-26 10:00:30' for field 'updated' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        ],
        "errors": {},
    }


def test_relative_dates_follow_the_clock(emulator: JiraEmulator, clock: Clock) -> None:
    clock.now = START + timedelta(hours=1, minutes=33)  # 09:33 UTC
    assert keys(emulator, "updated >= -5m") == ["OPS-1"]
    assert keys(emulator, "updated >= -1h ORDER BY updated ASC") == ["CHG-2", "CHG-3", "OPS-1"]
    assert keys(emulator, "created < -2h") == []
    assert keys(emulator, "project = CHG AND created >= startOfDay() ORDER BY created DESC") == [
        "CHG-3",
        "CHG-2",
        "CHG-1",
    ]


def test_ordering_by_updated_then_key(emulator: JiraEmulator, clock: Clock) -> None:
    clock.now = START + timedelta(hours=2)
    session = emulator.session()
    for key in ("CHG-2", "CHG-1"):
        resp = session.put(
            f"{emulator.base_url}/rest/api/2/issue/{key}", json={"fields": {"summary": f"{key} edited"}}
        )
        assert resp.status_code == 204
    assert keys(emulator, "project = CHG ORDER BY updated DESC, key ASC") == ["CHG-1", "CHG-2", "CHG-3"]
    assert keys(emulator, "project = CHG ORDER BY updated ASC, key DESC") == ["CHG-3", "CHG-2", "CHG-1"]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        (
            "project = ",
            "Error in the JQL Query: Expecting either a value, list or function before the end of the query.",
        ),
        (
            "project CHG",
            "Error in the JQL Query: Expecting operator but got 'CHG'. "
            "The valid operators are '=', '!=', '~', "
            "'<=', '>=', '>', '<', '!~', 'is', 'in', 'not in', 'was', 'was in', 'was not', 'was not in', "
            "'changed' or 'is not'. (line 1, character 9)",
        ),
        ("project = CHG ORDER BY", "Error in the JQL Query: Expecting a field name at the end of the query."),
        (
            'summary ~ "open',
            "Error in the JQL Query: The quoted string 'open' has not been completed. (line 1, character 11)",
        ),
        ("(project = CHG", "Error in the JQL Query: Expecting ')' before the end of the query."),
        (
            "project = CHG status = Planning",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 15)",
        ),
        ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("status = Approved", "The value 'Approved' does not exist for the field 'status'."),
        ("key = CHG-99", "An issue with key 'CHG-99' does not exist for field 'key'."),
        ('"Change risk" = Extreme', "The option 'Extreme' for field 'Change risk' does not exist."),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
        (
            "status WAS Planning",
            "The 'WAS' operator (issue history search) is not supported by the chgsync Jira emulator.",
        ),
    ],
)
def test_unusable_jql_answers_400_in_jiras_envelope(emulator: JiraEmulator, jql: str, message: str) -> None:
    resp = search(emulator, jql)
    assert resp.status_code == 400
    assert resp.json() == {"errorMessages": [message], "errors": {}}
