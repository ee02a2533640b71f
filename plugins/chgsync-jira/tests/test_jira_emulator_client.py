"""The emulator driven by the real ``jira`` library, the way the adapter will drive Jira Cloud."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator
from jira import JIRA, JIRAError

CHANGE_PATH = ["Submit for review", "Approve", "Approve", "Start implementation", "Complete"]
STATUS_PATH = ["Peer review", "Awaiting CAB approval", "Awaiting implementation", "Implementing", "Completed"]


def test_client_sees_a_cloud_site_and_a_user_with_a_time_zone(
    jira_client: JIRA, jira_emulator: JiraEmulator
) -> None:
    info = jira_client.server_info()
    assert info["deploymentType"] == "Cloud"
    assert jira_client._is_cloud
    me = jira_client.myself()
    assert me["emailAddress"] == jira_emulator.user
    assert me["timeZone"] == "Europe/Berlin"
    assert me["accountId"].startswith("712020:")


def test_create_read_and_update_a_change(
    jira_client: JIRA, new_change: Any, jira_emulator: JiraEmulator
) -> None:
    issue = new_change(
        description="Swap the primary.\nThen fail back.",
        labels=["db", "payments"],
        customfield_10041={"value": "High"},
        customfield_10045="2026-12-01T22:00:00.000+0000",
        customfield_10050=[{"id": "4a1c2b9e-6f0d-4c57-9d10-1b7f2c3e5a01"}],
        customfield_10048="Restore the snapshot.",
    )
    assert issue.key == "CHG-1"
    assert issue.id.isdigit()
    assert issue.self == f"{jira_emulator.base_url}/rest/api/2/issue/{issue.id}"
    fields = issue.fields
    assert fields.status.name == "Planning" and fields.status.statusCategory.key == "new"
    assert fields.issuetype.name == "Change" and fields.project.key == "CHG"
    assert fields.description == "Swap the primary.\nThen fail back."
    assert fields.labels == ["db", "payments"]
    assert fields.customfield_10040.value == "Normal"
    assert fields.customfield_10041.value == "High"
    # rendered in the reader's zone (Europe/Berlin), Jira's format
    assert fields.customfield_10045 == "2026-12-01T23:00:00.000+0100"
    assert issue.raw["fields"]["customfield_10050"] == [
        {"id": "4a1c2b9e-6f0d-4c57-9d10-1b7f2c3e5a01", "name": "Payments API"}
    ]
    assert fields.customfield_10048 == "Restore the snapshot."
    assert fields.reporter.accountId == jira_client.myself()["accountId"]
    created = datetime.strptime(fields.created, "%Y-%m-%dT%H:%M:%S.%f%z")
    assert fields.priority.name == "Medium"

    jira_emulator.advance(minutes=3)
    issue.update(
        fields={"summary": "Patch the payments database (v2)", "customfield_10041": {"value": "Low"}},
        update={"labels": [{"add": "cab"}, {"remove": "db"}]},
    )
    assert issue.fields.summary == "Patch the payments database (v2)"
    assert issue.fields.customfield_10041.value == "Low"
    assert issue.fields.labels == ["payments", "cab"]
    assert datetime.strptime(issue.fields.updated, "%Y-%m-%dT%H:%M:%S.%f%z") > created
    again = jira_client.issue(issue.id)  # by id as well as by key
    assert again.key == "CHG-1" and again.fields.summary == issue.fields.summary


def test_the_whole_change_workflow_with_resolution_and_changelog(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    for name, expected in zip(CHANGE_PATH, STATUS_PATH, strict=True):
        jira_client.transition_issue(issue, name)
        assert jira_client.issue(issue.key).fields.status.name == expected
    done = jira_client.issue(issue.key, expand="changelog")
    assert done.fields.status.statusCategory.key == "done"
    assert done.fields.resolution.name == "Done"
    assert done.fields.resolutiondate is not None
    histories = done.changelog.histories
    assert [h.items[-1].toString for h in histories] == STATUS_PATH
    last = histories[-1].items
    assert [(i.field, i.fieldtype, i.fieldId) for i in last] == [
        ("resolution", "jira", "resolution"),
        ("status", "jira", "status"),
    ]
    assert last[1].fromString == "Implementing" and last[1].to == "10105"
    assert jira_client.transitions(issue) == []  # Completed is final


def test_transition_ids_accepted_as_numbers_and_strings(
    jira_client: JIRA, new_change: Any, http: requests.Session, jira_emulator: JiraEmulator
) -> None:
    issue = new_change()
    ids = {t["name"]: t["id"] for t in jira_client.transitions(issue)}
    assert ids == {"Submit for review": "11", "Cancel": "91", "Pre-approved standard change": "111"}
    jira_client.transition_issue(issue, "11")
    url = f"{jira_emulator.base_url}/rest/api/2/issue/{issue.key}/transitions"
    assert http.post(url, json={"transition": {"id": 21}, "fields": {}}).status_code == 204
    assert jira_client.issue(issue.key).fields.status.name == "Awaiting CAB approval"


def test_a_transition_the_workflow_does_not_allow_is_refused_like_jira(
    jira_client: JIRA, new_change: Any, http: requests.Session, jira_emulator: JiraEmulator
) -> None:
    issue = new_change()
    with pytest.raises(JIRAError) as err:
        jira_client.transition_issue(issue, "71")  # Complete, only from Implementing
    assert err.value.status_code == 400
    assert err.value.response.json() == {
        "errorMessages": ["Transition id '71' is not valid for this issue."],
        "errors": {},
    }
    url = f"{jira_emulator.base_url}/rest/api/2/issue/{issue.key}/transitions"
    bad = http.post(url, json={"transition": {"id": "approve"}})
    assert bad.status_code == 400
    assert bad.json()["errorMessages"] == ["'transition' identifier must be an integer"]
    assert jira_client.issue(issue.key).fields.status.name == "Planning"


def test_transition_screen_fields_and_comment(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    for name in CHANGE_PATH[:-1]:
        jira_client.transition_issue(issue, name)
    with pytest.raises(JIRAError) as err:
        jira_client.transition_issue(issue, "Mark as failed", fields={"summary": "nope"})
    assert err.value.response.json()["errors"] == {
        "summary": "Field 'summary' cannot be set. It is not on the appropriate screen, or unknown."
    }
    jira_client.transition_issue(
        issue,
        "Mark as failed",
        fields={"resolution": {"name": "Won't Do"}},
        comment="Rolled back after the smoke test failed.",
    )
    failed = jira_client.issue(issue.key)
    assert failed.fields.status.name == "Failed"
    assert failed.fields.resolution.name == "Won't Do"
    assert [c.body for c in jira_client.comments(issue.key)] == ["Rolled back after the smoke test failed."]


def test_cancel_and_back_to_planning_clear_the_resolution(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    jira_client.transition_issue(issue, "Submit for review")
    jira_client.transition_issue(issue, "Back to planning")
    assert jira_client.issue(issue.key).fields.status.name == "Planning"
    jira_client.transition_issue(issue, "Cancel")
    canceled = jira_client.issue(issue.key)
    assert canceled.fields.status.name == "Canceled"
    assert canceled.fields.resolution.name == "Won't Do"


def test_create_refuses_missing_and_unknown_fields_with_errors_by_field(jira_client: JIRA) -> None:
    with pytest.raises(JIRAError) as err:
        jira_client.create_issue(
            fields={
                "project": {"key": "CHG"},
                "issuetype": {"name": "Change"},
                "customfield_99999": "x",
                "customfield_10041": "High",
                "labels": "not-a-list",
                "duedate": "tomorrow",
            }
        )
    assert err.value.status_code == 400
    body = err.value.response.json()
    assert body["errorMessages"] == []
    assert body["errors"] == {
        "summary": "You must specify a summary of the issue.",
        "customfield_10040": "Change type is required.",
        "customfield_99999": "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, "
        "or unknown.",
        "customfield_10041": "Specify a valid 'id' or 'name' for Change risk",
        "labels": "data was not an array",
        "duedate": "Error parsing date string: tomorrow",
    }
    with pytest.raises(JIRAError) as err:
        jira_client.create_issue(
            fields={"project": {"key": "NOPE"}, "issuetype": {"name": "Change"}, "summary": "x"}
        )
    assert err.value.response.json()["errors"] == {"project": "Specify a valid project ID or key"}


def test_edit_refuses_status_and_wrong_types(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    with pytest.raises(JIRAError) as err:
        issue.update(fields={"status": {"name": "Completed"}, "summary": 42})
    assert err.value.response.json()["errors"] == {
        "status": "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.",
        "summary": "Operation value must be a string",
    }
    assert jira_client.issue(issue.key).fields.summary == "Patch the payments database"


def test_assign_and_unassign(jira_client: JIRA, new_change: Any, jira_emulator: JiraEmulator) -> None:
    issue = new_change()
    alex = jira_emulator.site.user_by_email("alex.morgan@example.com")
    assert alex is not None
    # the library looks the user up with /user/search (Cloud matches name and email prefixes), then
    # sends PUT /rest/api/latest/issue/{key}/assignee with the account id
    assert jira_client.assign_issue(issue.key, "alex.morgan@example.com")
    assert jira_client.issue(issue.key).fields.assignee.displayName == "Alex Morgan"
    assert jira_client.assign_issue(issue.key, None)
    assert jira_client.issue(issue.key).fields.assignee is None
    items = [h.items[0] for h in jira_client.issue(issue.key, expand="changelog").changelog.histories]
    assert [(i.field, i.to, i.toString) for i in items] == [
        ("assignee", alex.account_id, "Alex Morgan"),
        ("assignee", None, None),
    ]


def test_comments_add_and_list(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    first = jira_client.add_comment(issue.key, "CAB approved with *conditions*.")
    internal = jira_client.add_comment(issue.key, "Reverted by chgsync: not approved.", is_internal=True)
    assert first.id.isdigit() and int(internal.id) > int(first.id)
    listed = jira_client.comments(issue.key)
    assert [c.body for c in listed] == [
        "CAB approved with *conditions*.",
        "Reverted by chgsync: not approved.",
    ]
    assert [c.raw["jsdPublic"] for c in listed] == [True, False]
    assert listed[0].author.accountId == jira_client.myself()["accountId"]


def test_remote_links_create_upsert_and_list(
    jira_client: JIRA, new_change: Any, http: requests.Session, jira_emulator: JiraEmulator
) -> None:
    issue = new_change()
    simple = jira_client.add_simple_link(
        issue.key, {"url": "https://example.com/runbook", "title": "Runbook"}
    )
    linked = jira_client.add_remote_link(
        issue.key,
        {"url": "https://snow.example.com/change/1", "title": "CHG0031207"},
        globalId="snow:change_request:abc",
        relationship="implements",
        application={"type": "com.servicenow", "name": "ServiceNow"},
    )
    again = jira_client.add_remote_link(
        issue.key,
        {"url": "https://snow.example.com/change/1", "title": "CHG0031207 (approved)"},
        globalId="snow:change_request:abc",
    )
    assert again.id == linked.id != simple.id
    links = jira_client.remote_links(issue.key)
    assert [(lk.object.title, getattr(lk, "globalId", None)) for lk in links] == [
        ("Runbook", None),
        ("CHG0031207 (approved)", "snow:change_request:abc"),
    ]
    base = f"{jira_emulator.base_url}/rest/api/2/issue/{issue.key}/remotelink"
    one = http.get(base, params={"globalId": "snow:change_request:abc"})
    assert one.status_code == 200 and one.json()["id"] == linked.id
    missing = http.post(base, json={"object": {"url": "https://x.example"}})
    assert missing.status_code == 400 and missing.json()["errors"] == {"title": "'title' is required."}


def test_changelog_endpoint_pages(
    jira_client: JIRA, new_change: Any, http: requests.Session, jira_emulator: JiraEmulator
) -> None:
    issue = new_change()
    for n in range(3):
        issue.update(fields={"summary": f"rev {n}"})
    url = f"{jira_emulator.base_url}/rest/api/3/issue/{issue.key}/changelog"
    first = http.get(url, params={"maxResults": 2}).json()
    assert (first["total"], first["isLast"], len(first["values"])) == (3, False, 2)
    rest = http.get(url, params={"maxResults": 2, "startAt": 2}).json()
    assert rest["isLast"] and [v["items"][0]["toString"] for v in rest["values"]] == ["rev 2"]
    item = first["values"][0]["items"][0]
    assert item == {
        "field": "summary",
        "fieldtype": "jira",
        "fieldId": "summary",
        "from": None,
        "fromString": "Patch the payments database",
        "to": None,
        "toString": "rev 0",
    }


def _create_many(jira_client: JIRA, count: int) -> None:
    for n in range(count):
        jira_client.create_issue(
            fields={
                "project": {"id": "10001"},
                "issuetype": {"id": "10001"},
                "summary": f"Rotate certificate {n:03d}",
            },
            prefetch=False,
        )


def test_search_pages_through_120_issues_with_both_apis(
    jira_client: JIRA, http: requests.Session, jira_emulator: JiraEmulator
) -> None:
    _create_many(jira_client, 120)
    jql = "project = OPS ORDER BY key ASC"

    everything = jira_client.search_issues(jql, maxResults=False)
    assert [i.key for i in everything] == [f"OPS-{n}" for n in range(1, 121)]
    assert jira_emulator.requests.count("GET", "/rest/api/2/search/jql") == 2  # 100 + 20

    first = jira_client.search_issues(jql, maxResults=50)
    assert len(first) == 50 and first.nextPageToken
    keys = [i.key for i in first]
    token = first.nextPageToken
    while token:
        page = jira_client.enhanced_search_issues(jql, nextPageToken=token, maxResults=50)
        keys += [i.key for i in page]
        token = page.nextPageToken
    assert keys == [f"OPS-{n}" for n in range(1, 121)]

    posted = jira_client.enhanced_search_issues(jql, maxResults=100, use_post=True, fields=["summary"])
    assert len(posted) == 100 and posted[0].fields.summary == "Rotate certificate 000"

    legacy: list[str] = []
    start = 0
    while True:
        page = http.get(
            f"{jira_emulator.base_url}/rest/api/2/search",
            params={"jql": jql, "startAt": start, "maxResults": 50, "fields": "summary"},
        ).json()
        assert page["total"] == 120 and page["maxResults"] == 50 and page["startAt"] == start
        legacy += [i["key"] for i in page["issues"]]
        start += page["maxResults"]
        if start >= page["total"]:
            break
    assert legacy == [f"OPS-{n}" for n in range(1, 121)]
    v3 = http.post(
        f"{jira_emulator.base_url}/rest/api/3/search", json={"jql": jql, "startAt": 100, "maxResults": 100}
    ).json()
    assert [i["key"] for i in v3["issues"]] == [f"OPS-{n}" for n in range(101, 121)]


def test_enhanced_search_defaults_to_ids_and_tokens_are_tied_to_the_query(
    http: requests.Session, jira_client: JIRA, jira_emulator: JiraEmulator
) -> None:
    _create_many(jira_client, 3)
    url = f"{jira_emulator.base_url}/rest/api/3/search/jql"
    page = http.get(url, params={"jql": "project = OPS ORDER BY key", "maxResults": 2}).json()
    assert page["issues"] == [{"id": "10000"}, {"id": "10001"}] and page["isLast"] is False
    assert "total" not in page
    other = http.get(url, params={"jql": "project = CHG", "nextPageToken": page["nextPageToken"]})
    assert other.status_code == 400 and other.json()["errorMessages"] == [
        "The provided next page token is invalid or expired."
    ]
    last = http.get(
        url,
        params={"jql": "project = OPS ORDER BY key", "maxResults": 2, "nextPageToken": page["nextPageToken"]},
    ).json()
    assert last == {"issues": [{"id": "10002"}], "isLast": True}
    unbounded = http.get(url, params={"jql": "ORDER BY updated DESC"})
    assert unbounded.status_code == 400 and unbounded.json() == {
        "errorMessages": [
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        ],
        "errors": {},
    }
    count = http.post(
        f"{jira_emulator.base_url}/rest/api/3/search/approximate-count", json={"jql": "project = OPS"}
    )
    assert count.json() == {"count": 3}


def test_fields_and_expand_on_search_and_get(jira_client: JIRA, new_change: Any) -> None:
    issue = new_change()
    found = jira_client.search_issues(
        "key = CHG-1", fields=["summary", "-description"], expand="names,changelog", json_result=True
    )
    (raw,) = found["issues"]
    assert set(raw["fields"]) == {"summary"}
    assert found["names"] == {"summary": "Summary"}
    assert raw["changelog"]["total"] == 0
    assert raw["key"] == issue.key
    only = jira_client.issue(issue.key, fields="summary,customfield_10040")
    assert set(only.raw["fields"]) == {"summary", "customfield_10040"}
    meta = jira_client.issue(issue.key, expand="names,schema,transitions,renderedFields")
    assert meta.raw["names"]["customfield_10040"] == "Change type"
    assert meta.raw["schema"]["customfield_10045"] == {
        "type": "datetime",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime",
        "customId": 10045,
    }
    assert [t["name"] for t in meta.raw["transitions"]] == [
        "Submit for review",
        "Cancel",
        "Pre-approved standard change",
    ]


def test_field_list_and_create_metadata(jira_client: JIRA) -> None:
    fields = {f["id"]: f for f in jira_client.fields()}
    assert fields["summary"]["schema"] == {"type": "string", "system": "summary"}
    risk = fields["customfield_10041"]
    assert risk["custom"] and risk["clauseNames"] == ["cf[10041]", "Change risk", "Change risk[Dropdown]"]
    assert risk["schema"] == {
        "type": "option",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
        "customId": 10041,
    }
    project = jira_client.project("CHG", expand="issueTypes")
    assert project.projectTypeKey == "service_desk" and [t.name for t in project.issueTypes] == ["Change"]
    meta = jira_client.createmeta(projectKeys="CHG", expand="projects.issuetypes.fields")
    change = meta["projects"][0]["issuetypes"][0]
    assert change["fields"]["customfield_10040"]["required"] is True
    assert [v["value"] for v in change["fields"]["customfield_10040"]["allowedValues"]] == [
        "Standard",
        "Normal",
        "Emergency",
    ]
    assert {s.name for s in jira_client.statuses()} >= set(STATUS_PATH)
