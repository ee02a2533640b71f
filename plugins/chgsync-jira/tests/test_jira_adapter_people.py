"""People over real HTTP: the implementer is the Assignee and the requester the Reporter, written by
account id after a user search and read back by e-mail address; an address no Jira user has leaves
the field as it was and says so on the issue."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chgsync_jira.emulator import JiraEmulator

from chgsync.adapter import RemoteEvent
from chgsync.lifecycle import ChangeType
from chgsync.testing.conformance import mapped_view
from chgsync.testing.samples import sample_change

JSM = "jira-service-management"
SOFTWARE = "jira-software"


def searches(emulator: JiraEmulator) -> list[str]:
    return [r.query for r in emulator.requests if r.path.endswith("/user/search")]


def comments(emulator: JiraEmulator, key: str) -> list[str]:
    return [c.body.wiki() for c in emulator.issue(key).comments]


def account(emulator: JiraEmulator, email: str) -> str:
    user = emulator.site.user_by_email(email)
    assert user is not None
    return user.account_id


@pytest.mark.parametrize("mapping", [JSM, SOFTWARE])
def test_people_are_written_by_account_and_read_back_by_address(jira_emulator: JiraEmulator, make_adapter: Any,
                                                                mapping: str) -> None:
    adapter = make_adapter(jira_emulator, mapping)
    change = sample_change(ChangeType.NORMAL, id="CHG-801")  # requester dana@, implementer sam@
    record = adapter.create(change)
    stored = jira_emulator.issue(record.ref.key).values
    assert stored["assignee"] == account(jira_emulator, "sam@example.com")
    assert stored["reporter"] == account(jira_emulator, "dana@example.com")
    assert (record.change.implementer, record.change.requester) == ("sam@example.com", "dana@example.com")
    again = adapter.get(record.ref)
    assert mapped_view(adapter, again.change) == mapped_view(adapter, change)
    assert again.raw["fields"]["assignee"]["displayName"] == "Sam Okafor"
    assert adapter.normalize(dict(again.raw)).implementer == "sam@example.com"  # offline, from the user object
    assert not comments(jira_emulator, record.ref.key)


def test_lookups_are_made_once_per_address(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    for n in range(3):
        adapter.create(sample_change(ChangeType.NORMAL, id=f"CHG-81{n}"))
    assert sorted(searches(jira_emulator)) == ["query=dana%40example.com&maxResults=20",
                                               "query=sam%40example.com&maxResults=20"]
    assert sum(adapter.calls.values()) == len(jira_emulator.requests)  # the searches are counted too


def test_a_reassignment_in_jira_reads_as_the_new_implementer(jira_emulator: JiraEmulator,
                                                            make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-820")).ref
    session = jira_emulator.session()
    moved = session.put(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}/assignee",
                        json={"accountId": account(jira_emulator, "priya.shah@example.com")})
    assert moved.status_code == 204
    record = adapter.get(ref)
    assert record.change.implementer == "priya.shah@example.com"
    assert record.change.requester == "dana@example.com"
    history = record.raw["changelog"]["histories"][-1]
    event = RemoteEvent("jira", "d1", "jira:issue_updated", ref, raw={"changelog": history})
    assert adapter.changed(event) == {"implementer"}  # a webhook's changelog names the canonical field
    unassigned = session.put(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}/assignee", json={"accountId": None})
    assert unassigned.status_code == 204
    assert adapter.get(ref).change.implementer is None


def test_an_address_without_a_jira_user_is_left_unset_and_said_on_the_issue(
        jira_emulator: JiraEmulator, make_adapter: Any, caplog: pytest.LogCaptureFixture) -> None:
    adapter = make_adapter(jira_emulator)
    change = sample_change(ChangeType.NORMAL, id="CHG-830", implementer="nobody@example.com")
    with caplog.at_level(logging.WARNING, logger="chgsync_jira.adapter"):
        record = adapter.create(change)  # not an error: the change is created all the same
    assert record.change.implementer is None and record.change.requester == "dana@example.com"
    assert "assignee" not in jira_emulator.issue(record.ref.key).values
    [note] = jira_emulator.issue(record.ref.key).comments
    assert note.internal  # JSM: kept off the customer portal
    assert "- Assignee: nobody@example.com (the change's implementer)" in note.body.wiki()
    assert "assignee not set to nobody@example.com" in caplog.text

    # an update to someone unknown leaves the Jira field as it was; saying it again adds no second note
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-831")).ref
    before = len(searches(jira_emulator))
    for _ in range(2):
        after = adapter.update(ref, change.model_copy(update={"id": "CHG-831"}), ["implementer"])
        assert after.change.implementer == "sam@example.com"
    assert len(comments(jira_emulator, ref.key)) == 1
    assert len(searches(jira_emulator)) == before  # the miss is remembered: no search on the second write


def test_no_implementer_unassigns(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator)
    change = sample_change(ChangeType.NORMAL, id="CHG-840")
    ref = adapter.create(change).ref
    after = adapter.update(ref, change.model_copy(update={"implementer": None}), ["implementer"])
    assert after.change.implementer is None and "assignee" not in jira_emulator.issue(ref.key).values


def test_a_change_without_a_requester_gets_jiras_default_reporter(jira_emulator: JiraEmulator,
                                                                 make_adapter: Any) -> None:
    """Documented loss: Jira makes whoever creates an issue its Reporter, here the integration account."""
    adapter = make_adapter(jira_emulator)
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-850", requester=None, implementer=None))
    assert record.change.requester == jira_emulator.user and record.change.implementer is None
    assert searches(jira_emulator) == []


def test_a_hidden_address_is_known_by_account_once_looked_up(jira_emulator: JiraEmulator, make_adapter: Any,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    jira_emulator.load_seed({"users": [{"email": "sam@example.com", "emailVisible": False}]})
    adapter = make_adapter(jira_emulator)
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-860"))
    assert "emailAddress" not in record.raw["fields"]["assignee"]  # the profile hides it from others
    assert record.change.implementer == "sam@example.com"  # the search found Sam; the adapter remembers
    stranger = make_adapter(jira_emulator)  # never looked Sam up
    with caplog.at_level(logging.WARNING, logger="chgsync_jira.adapter"):
        assert stranger.get(record.ref).change.implementer is None
        stranger.get(record.ref)
    assert caplog.text.count("whose e-mail address Jira does not show") == 1


def test_check_names_a_user_field_on_a_field_that_holds_no_user(jira_emulator: JiraEmulator, make_adapter: Any,
                                                               tmp_path: Any) -> None:
    from chgsync.mapping import load_mapping, shipped_mapping

    text = shipped_mapping(JSM).read_text().replace("remote: assignee", "remote: customfield_10053")
    bad = tmp_path / "people.yaml"
    bad.write_text(text)
    adapter = make_adapter(jira_emulator, load_mapping(bad))
    [problem] = adapter.check()
    assert problem.endswith("(implementer → customfield_10053): the mapping writes it as user, but "
                            "'External change reference' is a field of type string.")
