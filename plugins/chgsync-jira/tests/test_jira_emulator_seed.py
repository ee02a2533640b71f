"""The seed format: extra projects, users, fields and issues, workflow overrides, and clear errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator, SeedError
from jira import JIRA

from chgsync.errors import InputError

FINANCE = {
    "users": [
        {
            "email": "cab.bot@example.com",
            "displayName": "CAB bot",
            "accountType": "app",
            "token": "cab-token",
        },
        {"email": "chgsync@example.com", "timeZone": "UTC"},
    ],
    "statuses": [{"name": "Scheduled", "category": "indeterminate"}],
    "issueTypes": [{"name": "Release", "description": "A release of a finance system."}],
    "fields": [
        {"id": "customfield_10070", "name": "Ledger", "type": "select", "options": ["GL", "AP", "AR"]}
    ],
    "workflows": [
        {
            "name": "FIN: Release workflow",
            "initial": "To Do",
            "transitions": [
                {"id": "11", "name": "Schedule", "from": ["To Do"], "to": "Scheduled"},
                {"id": "21", "name": "Ship", "from": ["Scheduled"], "to": "Done", "resolution": "Done"},
                {"id": "31", "name": "Reopen", "from": "*", "to": "To Do"},
            ],
        }
    ],
    "projects": [
        {
            "key": "FIN",
            "name": "Finance releases",
            "type": "business",
            "lead": "cab.bot@example.com",
            "issueTypes": [
                {
                    "name": "Release",
                    "workflow": "FIN: Release workflow",
                    "fields": ["summary", "description", "labels", "customfield_10070"],
                    "required": ["summary", "customfield_10070"],
                }
            ],
        }
    ],
    "issues": [
        {
            "project": "FIN",
            "issuetype": "Release",
            "summary": "Year-end close",
            "status": "Scheduled",
            "reporter": "cab.bot@example.com",
            "created": "2026-11-20T09:00:00.000+0000",
            "fields": {"customfield_10070": {"value": "GL"}, "labels": ["year-end"]},
            "comments": [
                {
                    "body": "Scheduled for the 30th.",
                    "author": "cab.bot@example.com",
                    "created": "2026-11-21T09:00:00.000+0000",
                }
            ],
            "remoteLinks": [
                {
                    "globalId": "snow:change_request:9",
                    "object": {"url": "https://snow.example.com/9", "title": "CHG0000009"},
                }
            ],
        }
    ],
}


def test_a_seed_adds_projects_users_fields_workflows_and_issues() -> None:
    with JiraEmulator(seed=FINANCE) as emu:
        client = JIRA(server=emu.base_url, basic_auth=(emu.user, emu.secret), max_retries=0)
        assert client.myself()["timeZone"] == "UTC"  # the default user overridden by email
        issue = client.issue("FIN-1")
        assert issue.fields.status.name == "Scheduled"
        assert issue.fields.customfield_10070.value == "GL"
        assert issue.fields.created == "2026-11-20T09:00:00.000+0000"
        assert issue.fields.updated == "2026-11-21T09:00:00.000+0000"
        assert issue.fields.reporter.displayName == "CAB bot"
        assert [c.body for c in client.comments("FIN-1")] == ["Scheduled for the 30th."]
        assert client.remote_links("FIN-1")[0].globalId == "snow:change_request:9"
        assert [t["name"] for t in client.transitions(issue)] == ["Ship", "Reopen"]
        client.transition_issue(issue, "Ship")
        assert client.issue("FIN-1").fields.resolution.name == "Done"
        created = client.create_issue(
            fields={
                "project": "FIN",
                "issuetype": "Release",
                "summary": "Q1 close",
                "customfield_10070": {"value": "AP"},
            }
        )
        assert created.key == "FIN-2"
        bot = requests.get(f"{emu.base_url}/rest/api/2/myself", auth=("cab.bot@example.com", "cab-token"))
        assert bot.status_code == 200 and bot.json()["accountType"] == "app"
        assert {p.key for p in client.projects()} == {"CHG", "FIN", "OPS"}


def test_a_seed_overrides_the_default_change_workflow(
    jira_emulator: JiraEmulator, jira_client: JIRA, new_change: Any
) -> None:
    jira_emulator.load_seed(
        {
            "workflows": [
                {
                    "name": "CHG: Change management workflow",
                    "initial": "Planning",
                    "transitions": [
                        {"id": "5", "name": "Approve", "from": ["Planning"], "to": "Awaiting implementation"},
                        {
                            "id": "6",
                            "name": "Done",
                            "from": ["Awaiting implementation"],
                            "to": "Completed",
                            "resolution": "Done",
                        },
                    ],
                }
            ]
        }
    )
    issue = new_change()
    assert [(t["id"], t["name"]) for t in jira_client.transitions(issue)] == [("5", "Approve")]
    jira_client.transition_issue(issue, "Approve")
    jira_client.transition_issue(issue, "Done")
    assert jira_client.issue(issue.key).fields.status.name == "Completed"


def test_legacy_search_can_answer_410_as_cloud_now_does() -> None:
    with JiraEmulator(seed={"settings": {"legacySearch": False}}) as emu:
        resp = emu.session().get(f"{emu.base_url}/rest/api/2/search", params={"jql": "project = CHG"})
        assert resp.status_code == 410
        assert resp.json()["errorMessages"][0].startswith(
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
        )


@pytest.mark.parametrize(
    ("seed", "problems"),
    [
        ({"projcts": []}, ["field 'projcts': is not a seed section"]),
        (
            {"statuses": [{"name": "Approved", "category": "green"}]},
            ["field 'statuses[0].category': must be one of undefined, new, indeterminate, done"],
        ),
        (
            {
                "workflows": [
                    {
                        "name": "W",
                        "initial": "Planning",
                        "transitions": [{"id": "x1", "name": "Go", "to": "Nowhere"}],
                    }
                ]
            },
            [
                "field 'workflows[0].transitions[0].id': must be a number",
                "field 'workflows[0].transitions[0].to': names status 'Nowhere', which is not defined",
            ],
        ),
        (
            {"projects": [{"key": "fin", "name": "Finance", "issueTypes": []}]},
            ["field 'projects[0].key': must be 2-10 upper-case letters"],
        ),
        (
            {
                "projects": [
                    {"key": "FIN", "name": "Finance", "issueTypes": [{"name": "Task", "workflow": "Nope"}]}
                ]
            },
            ["field 'projects[0].issueTypes[0].workflow': names workflow 'Nope'"],
        ),
        (
            {"users": [{"email": "x@example.com", "timeZone": "Mars/Olympus"}]},
            ["field 'users[0].timeZone': 'Mars/Olympus' is not a time zone name"],
        ),
        (
            {
                "issues": [
                    {
                        "project": "CHG",
                        "issuetype": "Change",
                        "summary": "x",
                        "fields": {"customfield_10040": {"value": "Sometimes"}},
                    }
                ]
            },
            ["field 'issues[0].fields.customfield_10040': Specify a valid 'id' or 'name' for Change type"],
        ),
        (
            {
                "issues": [
                    {
                        "project": "CHG",
                        "issuetype": "Change",
                        "fields": {"customfield_10040": {"value": "Normal"}},
                    }
                ]
            },
            ["field 'issues[0].fields.summary': You must specify a summary of the issue."],
        ),
        (
            {"fields": [{"id": "summary", "name": "Title", "type": "textfield"}]},
            ["field 'fields[0].id': must look like customfield_10070"],
        ),
    ],
)
def test_unusable_seeds_are_refused_naming_each_field(seed: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(SeedError) as err:
        JiraEmulator(seed=seed)
    assert isinstance(err.value, InputError)
    message = str(err.value)
    assert message.startswith("Unusable seed")
    for problem in problems:
        assert problem in message


def test_a_refused_seed_changes_nothing(jira_emulator: JiraEmulator) -> None:
    with pytest.raises(SeedError):
        jira_emulator.load_seed({"users": [{"email": "new@example.com"}], "statuses": [{"name": "X"}]})
    assert jira_emulator.site.user_by_email("new@example.com") is None
