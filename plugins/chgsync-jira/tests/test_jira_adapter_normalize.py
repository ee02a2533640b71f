"""Reading issues people made or edited in Jira: adoption of a new issue, hand-written compositions,
statuses the mapping does not know, and records whose text cannot be read."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chgsync_jira.adapter import UnreadableRecord, updated_by, version_of
from chgsync_jira.emulator import JiraEmulator

from chgsync.errors import InputError
from chgsync.lifecycle import ChangeType, State
from chgsync.model import Step
from chgsync.testing.samples import sample_change


def issue_json(emulator: JiraEmulator, key: str) -> dict[str, Any]:
    return emulator.session().get(f"{emulator.base_url}/rest/api/2/issue/{key}").json()


def create_by_hand(emulator: JiraEmulator, fields: dict[str, Any]) -> str:
    resp = emulator.session().post(f"{emulator.base_url}/rest/api/2/issue", json={"fields": fields})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["key"])


def test_an_issue_made_in_the_jira_ui_can_be_adopted(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    key = create_by_hand(jira_emulator, {
        "project": {"key": "CHG"}, "issuetype": {"name": "Change"}, "summary": "Patch the kernel",
        "customfield_10040": {"value": "Emergency"},
        "customfield_10048": "Reboot into the previous kernel\nCheck uname -r",  # a backout plan in prose
    })
    adapter = make_adapter(jira_emulator)
    change = adapter.normalize(issue_json(jira_emulator, key))
    assert change.id == key  # no Change ID yet: the daemon assigns one when change.id == ref.key
    assert (change.type, change.state, change.title) == (ChangeType.EMERGENCY, State.DRAFT, "Patch the kernel")
    assert change.rollback.steps == [Step(description="Reboot into the previous kernel"),
                                     Step(description="Check uname -r")]  # every line kept as a step


def test_a_task_without_a_change_type_reads_as_normal(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    key = create_by_hand(jira_emulator, {"project": {"key": "OPS"}, "issuetype": {"name": "Task"},
                                         "summary": "Rotate certs", "labels": ["web%20tier", "edge"]})
    change = make_adapter(jira_emulator, "jira-software").normalize(issue_json(jira_emulator, key))
    assert (change.id, change.type, change.state) == (key, ChangeType.NORMAL, State.DRAFT)
    assert change.implementation.systems == ["web tier", "edge"]


def test_hand_edited_text_that_breaks_a_format_is_reported_not_guessed(jira_emulator: JiraEmulator,
                                                                      make_adapter: Any,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    adapter = make_adapter(jira_emulator)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-400")).ref
    jira_emulator.session().put(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}", json={"fields": {
        "customfield_10056": "1. Disk fills up\n   Likelihood: low, Impact: high"}})
    with pytest.raises(InputError) as info:
        adapter.normalize(issue_json(jira_emulator, ref.key))
    assert str(info.value) == (f"Unusable input: {ref.key}: customfield_10056 (risks): risk assessment line "
                               "'Likelihood: low, Impact: high' is not in the '1. risk / Likelihood: ...' format")
    with pytest.raises(UnreadableRecord) as unreadable:
        adapter.get(ref)
    assert unreadable.value.retryable  # the daemon tries again later: someone fixes the text
    assert str(unreadable.value) == f"jira get: {info.value}"
    with caplog.at_level(logging.WARNING, logger="chgsync_jira.adapter"):
        assert list(adapter.fetch_changed(None)) == []
    assert f"skipping {ref.key} in the poll" in caplog.text


def test_a_status_the_mapping_does_not_know(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-401")).ref
    raw = issue_json(jira_emulator, ref.key)
    raw["fields"]["status"] = {"id": "10999", "name": "Under investigation"}
    with pytest.raises(InputError, match="its status 'Under investigation' \\(id 10999\\) is not one the mapping names"):
        adapter.normalize(raw)
    offline = make_adapter(jira_emulator)  # never connected: statuses are matched by name
    with pytest.raises(InputError, match="status 'Under investigation' matches no state in the mapping's `states`"):
        offline.normalize(raw)


def test_failed_reads_like_completed_and_the_stage_decides_closed(jira_emulator: JiraEmulator,
                                                                  make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    raw = issue_json(jira_emulator, adapter.create(sample_change(ChangeType.NORMAL, id="CHG-402")).ref.key)
    raw["fields"]["status"] = {"id": "10106", "name": "Failed"}
    assert adapter.normalize(raw).state == State.IMPLEMENTED
    raw["fields"]["customfield_10054"] = {"id": "10163", "value": "Closed"}
    assert adapter.normalize(raw).state == State.CLOSED


@pytest.mark.parametrize("payload", [{}, {"key": "CHG-1"}, {"fields": {}}, {"issue": "CHG-1"},
                                     {"webhookEvent": "jira:issue_updated"}])
def test_what_is_not_an_issue_is_refused(jira_emulator: JiraEmulator, make_adapter: Any,
                                         payload: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="expected a Jira issue"):
        make_adapter(jira_emulator).normalize(payload)


def test_version_and_author_follow_every_write(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    change = sample_change(ChangeType.NORMAL, id="CHG-403")
    created = adapter.create(change)
    assert created.version.startswith("0:") and created.updated_by == "chgsync@example.com"
    assert adapter.get(created.ref).version == created.version  # stable while nobody writes
    jira_emulator.advance(seconds=1)
    alex = jira_emulator.site.user_by_email("alex.morgan@example.com")
    assert alex is not None
    alex.token = "alex-token"
    with jira_emulator.session() as s:
        s.auth = ("alex.morgan@example.com", "alex-token")
        s.post(f"{jira_emulator.base_url}/rest/api/2/issue/{created.ref.key}/comment", json={"body": "Looks good"})
    commented = adapter.get(created.ref)
    assert commented.version != created.version and commented.version.startswith("0:")  # only `updated` moved
    assert commented.updated_by == "alex.morgan@example.com"
    jira_emulator.advance(seconds=1)
    edited = adapter.update(created.ref, change.model_copy(update={"title": "Again"}), ["title"])
    assert edited.version.split(":")[0] != "0" and edited.updated_by == "chgsync@example.com"
    assert version_of(edited.raw) == edited.version and updated_by(edited.raw) == edited.updated_by
