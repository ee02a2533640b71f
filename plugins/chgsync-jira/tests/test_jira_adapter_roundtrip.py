"""Round trips: canonical → the exact ``fields`` JSON the adapter sends → canonical is the identity on
every mapped field, for each shipped Jira mapping. Pure (no server), with one real-HTTP example each.

The strategies generate what the model allows *and Jira can hold*: a summary is one line of at most
255 characters, times have millisecond precision, and empty text is no value. They are
those of :mod:`chgsync.testing.strategies`, narrowed below where Jira holds less.

People go out as account ids, which takes a user search: the pure tests give every address an
account through a stand-in directory, and Jira's user objects (with the address) come back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from chgsync_jira.adapter import JiraAdapter, from_settings
from chgsync_jira.emulator import JiraEmulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.model import Change
from chgsync.testing.conformance import mapped_view
from chgsync.testing.strategies import changes, moments, text

MAPPINGS = ["jira-service-management", "jira-software"]
ADAPTERS: dict[str, JiraAdapter] = {
    name: from_settings({"url": "http://127.0.0.1:9", "mapping": load_mapping(shipped_mapping(name))})
    for name in MAPPINGS
}

# What a Jira field holds less of than the model allows: a short text field (the summary, the emergency
# authority) one line of at most 255 characters; times milliseconds; jira-software's deployment
# environment one of its select's three options.
one_line = text.filter(lambda s: "\n" not in s and "\r" not in s and len(s) <= 255)
jira_changes = changes(times=moments(timedelta(milliseconds=1)), parts={
    "title": one_line,
    "emergency.authorizer": st.none() | one_line,
    "schedule.environment": st.sampled_from(["development", "staging", "production"]),
})


ACCOUNT = "acct:"


def account_of(email: str) -> str:
    """The stand-in directory: every address has an account, whose id gives the address back."""
    return ACCOUNT + email


def as_read(adapter: JiraAdapter, sent: dict[str, Any], key: str = "CHG-1") -> dict[str, Any]:
    """An issue carrying exactly the sent fields (plus the status Jira adds): what normalize reads.

    A person comes back as Jira's user object, with the address.
    """
    status = adapter.mapping.status_of(next(iter(adapter.mapping.states)))
    fields = dict(sent)
    for f in adapter.wire.user_fields():
        if isinstance(fields.get(f.remote), dict):
            account = fields[f.remote]["accountId"]
            fields[f.remote] = {"accountId": account, "emailAddress": account[len(ACCOUNT):], "active": True}
    return {"id": "10001", "key": key, "fields": {**fields, "status": {"id": "1", "name": status}}}


@pytest.mark.parametrize("name", MAPPINGS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=jira_changes)
def test_canonical_to_sent_json_to_canonical_is_the_identity(name: str, change: Change) -> None:
    adapter = ADAPTERS[name]
    sent = adapter.encode_fields(change, users=account_of)
    assert set(sent) >= {f.remote for f in adapter.mapping.fields}
    back = adapter.normalize(as_read(adapter, sent))
    assert mapped_view(adapter, back) == mapped_view(adapter, change)
    for f in adapter.mapping.fields:  # field by field, for a readable failure
        assert adapter.wire.to_remote(back, [f.canonical]) == adapter.wire.to_remote(change, [f.canonical])


@pytest.mark.parametrize("name", MAPPINGS)
def test_the_wire_shapes_are_jiras(name: str) -> None:
    adapter = ADAPTERS[name]
    change = Change.model_validate({
        "id": "CHG-1", "title": "t", "type": "normal",
        "implementation": {"systems": ["orders db", "100%"]},
        "risks": [{"risk": "r", "likelihood": "high", "impact": "high"}],
        "schedule": {"planned_start": "2026-12-08T03:00:00.123456+01:00"},
    })
    sent = adapter.encode_fields(change)
    assert sent["customfield_10040"] == {"value": "Normal"}
    assert sent["customfield_10045"] == "2026-12-08T02:00:00.123+0000"  # UTC, milliseconds, no colon
    assert sent["customfield_10046"] is None  # unset: null clears the field
    assert sent["assignee"] is None and sent["reporter"] is None  # no one: null (unassigned)
    with_sam = change.model_copy(update={"implementer": "sam@example.com"})
    assert adapter.encode_fields(with_sam, users=account_of)["assignee"] == {"accountId": "acct:sam@example.com"}
    assert "assignee" not in adapter.encode_fields(with_sam)  # no directory to look Sam up: left out
    assert "assignee" not in adapter.encode_fields(with_sam, users=lambda _: None)  # no account: left out
    labels = "customfield_10051" if name == "jira-service-management" else "labels"
    assert sent[labels] == ["orders%20db", "100%25"]  # labels cannot hold spaces
    if name == "jira-service-management":
        assert sent["customfield_10041"] == {"value": "High"}  # the derived overall risk
        assert "customfield_10041" not in adapter.encode_fields(change, ["title"])
        assert adapter.encode_fields(change, ["risks"])["customfield_10041"] == {"value": "High"}


AWKWARD = {
    "id": "CHG-42.b_c",
    "title": "Tab\tand ünïcode — 'quotes' \"double\" <b>not html</b> {noformat}",
    "type": "emergency",
    "description": "Line one\n\n  indented line\n* not a list\ntrailing spaces   ",
    "justification": {"reason": "Because\nof reasons", "impact_if_not_done": "Outage: 100%"},
    "implementation": {"steps": [{"description": "Run it", "command": "kubectl rollout restart deploy/x -n \"a b\""},
                                 {"description": "Check\nit", "owner": "sam <sam@example.com>"}],
                       "systems": ["orders db", "tab\there", "per%cent", "ünï"],
                       "dependencies": ["payments-api", "a  b"]},
    "risks": [{"risk": "1. looks numbered", "likelihood": "high", "impact": "medium", "mitigation": "Likelihood: low"}],
    "rollback": {"trigger": {"description": "Errors", "condition": {"query": "sum(rate(x[5m])) by (le)", "op": ">=",
                                                                      "threshold": 0.5, "for": "PT2M"}},
                 "steps": ["Undo"], "expected_duration": "PT1H30M"},
    "testing": {"pre_production": "Staging run #12", "validation": ["Smoke", "Trailing backslash \\"]},
    "communication": {"stakeholders": [{"name": "Ops", "contact": "#ops"}, {"name": "Finance"}],
                      "channels": ["slack", "status_page"]},
    "schedule": {"environment": "staging", "planned_start": "2026-03-29T03:30:00.250+02:00",
                 "planned_end": "2026-03-29T05:00:00.999+02:00", "actual_start": "2026-03-29T03:31:00+02:00",
                 "actual_end": "2026-03-29T03:31:00+02:00"},
    "emergency": {"authorizer": "Priya Shah <priya@example.com>", "threshold": "production_down",
                  "retrospective_link": "https://wiki.example.com/retro/42"},
    "outcome": "successful_with_issues",
    "cab": {"approvals": [{"role": "change_manager", "approver": "cam@example.com", "decision": "approve",
                           "reason": "Low risk — rehearsed", "at": "2026-03-20T10:00:00Z"}]},
    "close_notes": "Done.\nOne retry needed.",
    "requester": "dana@example.com",
    "implementer": "sam@example.com",
}


@pytest.mark.parametrize("name", MAPPINGS)
def test_an_awkward_change_survives_real_http(jira_emulator: JiraEmulator, make_adapter: Any, name: str) -> None:
    adapter = make_adapter(jira_emulator, name)
    change = Change.model_validate(AWKWARD)
    record = adapter.create(change)
    again = adapter.get(record.ref)
    assert mapped_view(adapter, again.change) == mapped_view(adapter, change)
    # Jira renders times in the reader's zone (Europe/Berlin) with its own offset format
    assert again.raw["fields"]["customfield_10045"] == "2026-03-29T03:30:00.250+0200"
    edited = change.model_copy(update={"title": "Second title", "description": None})
    after = adapter.update(record.ref, edited, ["title", "description"])
    assert mapped_view(adapter, after.change) == mapped_view(adapter, edited)
