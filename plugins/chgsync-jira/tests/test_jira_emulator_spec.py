"""Every emulator response to a documented endpoint validates against Atlassian's Cloud OpenAPI
description, and requests that break the description get Jira's 400.

The walk below calls every route in the emulator's route table; the final assertion fails when a
route is added without a call here, so new endpoints cannot skip conformance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.emulator.routing import ROUTES

ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Fail over to the "},
                {"type": "text", "text": "replica", "marks": [{"type": "strong"}]},
            ],
        }
    ],
}


@pytest.fixture
def app_emulator() -> Iterator[JiraEmulator]:
    """Dynamic webhooks opened to users, so their success responses can be checked too."""
    with JiraEmulator(seed={"settings": {"dynamicWebhooksForUsers": True}}) as emulator:
        yield emulator


def test_every_route_answers_as_the_description_says(app_emulator: JiraEmulator, spec: Any) -> None:
    base = app_emulator.base_url
    api = f"{base}/rest/api/3"
    s = app_emulator.session()

    def call(method: str, url: str, expect: int | tuple[int, ...] = 200, **kwargs: Any) -> requests.Response:
        resp = spec.check(s.request(method, url, **kwargs))
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert resp.status_code in expected, f"{method} {url}: {resp.status_code} {resp.text[:300]}"
        return resp

    # site metadata
    spec.check(requests.get(f"{api}/serverInfo", verify=False))
    call("GET", f"{base}/rest/api/2/serverInfo")
    me = call("GET", f"{api}/myself").json()
    call("GET", f"{api}/user", params={"accountId": me["accountId"]})
    call("GET", f"{api}/user", 404, params={"accountId": "nobody"})
    call("GET", f"{api}/user/search", params={"query": "alex"})
    [sam] = call("GET", f"{api}/user/search", params={"query": "sam@example.com"}).json()
    [dana] = call("GET", f"{api}/user/search", params={"query": "dana@example.com", "maxResults": 5}).json()
    assert (sam["displayName"], sam["emailAddress"]) == ("Sam Okafor", "sam@example.com")
    call("GET", f"{api}/field")
    call("GET", f"{api}/project")
    call("GET", f"{api}/project/search", params={"maxResults": 1})
    call("GET", f"{api}/project/CHG", params={"expand": "issueTypes"})
    call("GET", f"{api}/project/NOPE", 404)
    call("GET", f"{api}/project/CHG/statuses")
    read = call("POST", f"{api}/workflows",
                json={"projectAndIssueTypes": [{"projectId": "10000", "issueTypeId": "10002"}]})
    assert [w["name"] for w in read.json()["workflows"]] == ["CHG: Change management workflow"]
    call("POST", f"{api}/workflows", 400, json={"workflowNames": "not a list"})
    call("GET", f"{api}/issuetype")
    call("GET", f"{api}/issuetype/10002")
    call("GET", f"{api}/status")
    call("GET", f"{api}/status/Planning")
    call("GET", f"{api}/statuscategory")
    call("GET", f"{api}/priority")
    call("GET", f"{api}/resolution")
    call(
        "GET",
        f"{api}/issue/createmeta",
        params={"projectKeys": "CHG", "expand": "projects.issuetypes.fields"},
    )
    call("GET", f"{api}/issue/createmeta/CHG/issuetypes")
    call("GET", f"{api}/issue/createmeta/CHG/issuetypes/10002")
    call("GET", f"{base}/rest/applinks/latest/listApplicationlinks")

    # issues, v3 with ADF
    fields = {
        "project": {"key": "CHG"},
        "issuetype": {"name": "Change"},
        "summary": "Fail over the database",
        "description": ADF,
        "customfield_10040": {"value": "Emergency"},
        "customfield_10047": ADF,
        "customfield_10045": "2026-12-01T22:00:00.000+0000",
        "customfield_10052": [{"accountId": me["accountId"]}],
        "labels": ["db"],
        "assignee": {"accountId": sam["accountId"]},
        "reporter": {"accountId": dana["accountId"]},
    }
    key = call("POST", f"{api}/issue", 201, json={"fields": fields}).json()["key"]
    moved = call("POST", f"{api}/issue", 201, json={"fields": fields, "transition": {"id": "11"}}).json()
    assert moved["transition"]["status"] == 204
    call("POST", f"{api}/issue", 400, json={"fields": {"project": {"key": "CHG"}}})
    issue = call(
        "GET",
        f"{api}/issue/{key}",
        params={"expand": "names,schema,transitions,editmeta,changelog,renderedFields"},
    ).json()
    assert issue["fields"]["description"] == ADF
    assert (issue["fields"]["assignee"]["accountId"], issue["fields"]["reporter"]["emailAddress"]) == (
        sam["accountId"], "dana@example.com")
    call("PUT", f"{api}/issue/{key}", 400, json={"fields": {"assignee": {"accountId": "nobody"}}})
    call("GET", f"{base}/rest/api/2/issue/{key}")
    call("GET", f"{api}/issue/CHG-999", 404)
    call("PUT", f"{api}/issue/{key}", 204, json={"fields": {"summary": "Fail over the primary database"}})
    call(
        "PUT",
        f"{api}/issue/{key}",
        200,
        params={"returnIssue": "true"},
        json={"update": {"labels": [{"add": "cab"}]}},
    )
    call("PUT", f"{api}/issue/{key}", 400, json={"fields": {"description": "plain text is not ADF"}})
    call("PUT", f"{api}/issue/{key}/assignee", 204, json={"accountId": me["accountId"]})
    call("PUT", f"{api}/issue/{key}/assignee", 400, json={"accountId": "nobody"})
    call("GET", f"{api}/issue/{key}/editmeta")
    call("GET", f"{api}/issue/{key}/transitions", params={"expand": "transitions.fields"})
    call("POST", f"{api}/issue/{key}/transitions", 204, json={"transition": {"id": "11"}})
    call("POST", f"{api}/issue/{key}/transitions", 400, json={"transition": {"id": "71"}})
    call("GET", f"{api}/issue/{key}/changelog")

    # comments
    comment = call(
        "POST", f"{api}/issue/{key}/comment", 201, json={"body": ADF}, params={"expand": "renderedBody"}
    ).json()
    call("GET", f"{api}/issue/{key}/comment", params={"orderBy": "-created"})
    call("GET", f"{api}/issue/{key}/comment/{comment['id']}")
    call("GET", f"{api}/issue/{key}/comment/1", 404)

    # remote links
    link = {
        "globalId": "snow:change_request:1",
        "application": {"type": "com.servicenow", "name": "ServiceNow"},
        "relationship": "implements",
        "object": {"url": "https://snow.example.com/1", "title": "CHG0000001", "status": {"resolved": False}},
    }
    created = call("POST", f"{api}/issue/{key}/remotelink", 201, json=link).json()
    call("POST", f"{api}/issue/{key}/remotelink", 200, json=link)
    call(
        "POST",
        f"{api}/issue/{key}/remotelink",
        201,
        json={"object": {"url": "https://example.com/runbook", "title": "Runbook"}},
    )
    call("GET", f"{api}/issue/{key}/remotelink")
    call("GET", f"{api}/issue/{key}/remotelink", params={"globalId": "snow:change_request:1"})
    call("GET", f"{api}/issue/{key}/remotelink/{created['id']}")
    call("PUT", f"{api}/issue/{key}/remotelink/{created['id']}", 204, json=link)
    call("DELETE", f"{api}/issue/{key}/remotelink", 204, params={"globalId": "snow:change_request:1"})
    call("DELETE", f"{api}/issue/{key}/remotelink/{created['id'] + 1}", 204)

    # search
    call(
        "GET",
        f"{api}/search/jql",
        params={
            "jql": "project = CHG ORDER BY key",
            "fields": "*all",
            "expand": "names,schema",
            "maxResults": 1,
        },
    )
    call(
        "POST",
        f"{api}/search/jql",
        json={
            "jql": "project = CHG",
            "fields": ["summary", "status"],
            "expand": "changelog",
            "maxResults": 5,
            "reconcileIssues": [],
        },
    )
    call("GET", f"{api}/search/jql", 400, params={"jql": "project = "})
    call("GET", f"{api}/search", params={"jql": "project = CHG", "expand": "names"})
    call(
        "POST",
        f"{api}/search",
        json={"jql": "project = CHG", "startAt": 0, "maxResults": 1, "expand": ["schema"]},
    )
    call("POST", f"{api}/search/approximate-count", json={"jql": "project = CHG"})

    # dynamic (app) webhooks
    registered = call(
        "POST",
        f"{api}/webhook",
        json={
            "url": "http://127.0.0.1:9/hook",
            "webhooks": [
                {
                    "events": ["jira:issue_updated"],
                    "jqlFilter": "project = CHG",
                    "fieldIdsFilter": ["status"],
                },
                {"events": ["no_such_event"], "jqlFilter": "project = CHG"},
            ],
        },
    ).json()
    hook_id = registered["webhookRegistrationResult"][0]["createdWebhookId"]
    assert registered["webhookRegistrationResult"][1]["errors"]
    call("GET", f"{api}/webhook")
    call("PUT", f"{api}/webhook/refresh", json={"webhookIds": [hook_id]})
    call("GET", f"{api}/webhook/failed")
    call("DELETE", f"{api}/webhook", 202, json={"webhookIds": [hook_id]})

    # admin webhooks (outside the description)
    admin = f"{base}/rest/webhooks/1.0/webhook"
    made = call(
        "POST",
        admin,
        201,
        json={
            "name": "chgsync",
            "url": "http://127.0.0.1:9/hook",
            "events": ["jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = CHG"},
        },
    ).json()
    hook = made["self"].rsplit("/", 1)[1]
    call("GET", admin)
    call("GET", f"{admin}/{hook}")
    call("PUT", f"{admin}/{hook}", json={"enabled": False})
    call("DELETE", f"{admin}/{hook}", 204)

    declared = set(ROUTES)
    answered = {r for r, codes in spec.covered.items() if any(200 <= c < 300 for c in codes)}
    missing = sorted(r.name for r in declared if r.spec is not None and r not in answered)
    assert not missing, f"routes without a conformance call: {missing}"
    unchecked = sorted(r.name for r in declared if r.spec is None and r not in spec.unspecified)
    assert not unchecked, f"routes outside the description that the walk never called: {unchecked}"
    assert all(r.note for r in declared if r.spec is None)


def test_the_checks_themselves_can_fail(
    jira_emulator: JiraEmulator, spec: Any, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Controls: a well-formed request passes, and a response with an undocumented property is caught."""
    from chgsync_jira.emulator import render

    url = f"{jira_emulator.base_url}/rest/api/3/search/jql"
    assert not spec.request_violates_spec("POST", url, {"jql": "project = CHG", "maxResults": 5})
    original = render.project

    def with_extra(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**original(*args, **kwargs), "undocumented": True}

    monkeypatch.setattr(render, "project", with_extra)
    with pytest.raises(Exception, match="undocumented"):
        spec.check(http.get(f"{jira_emulator.base_url}/rest/api/3/project/CHG"))


def test_dynamic_webhooks_are_for_apps_only_by_default(
    jira_emulator: JiraEmulator, spec: Any, http: requests.Session
) -> None:
    resp = spec.check(http.get(f"{jira_emulator.base_url}/rest/api/3/webhook"))
    assert resp.status_code == 403
    assert resp.json() == {
        "errorMessages": ["Only Connect and OAuth 2.0 apps can use this operation."],
        "errors": {},
    }


BAD_REQUESTS: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("POST", "/search/jql", None, {"jql": "project = CHG", "maxResults": "ten"}),
    ("POST", "/search/jql", None, {"jql": "project = CHG", "sort": "key"}),
    ("POST", "/search", None, {"jql": "project = CHG", "validateQuery": "always"}),
    ("POST", "/search/approximate-count", None, {"jql": 42}),
    ("GET", "/search/jql", {"jql": "project = CHG", "maxResults": "many"}, None),
    ("GET", "/issue/{key}/comment", {"orderBy": "author"}, None),
    ("POST", "/issue/{key}/remotelink", None, {"globalId": "x"}),
    ("POST", "/issue/{key}/remotelink", None, {"object": {"url": "https://example.com"}}),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), BAD_REQUESTS)
def test_requests_that_break_the_description_get_jiras_400(
    jira_emulator: JiraEmulator,
    spec: Any,
    http: requests.Session,
    new_change: Any,
    method: str,
    path: str,
    params: dict[str, Any] | None,
    body: dict[str, Any] | None,
) -> None:
    key = new_change().key
    url = f"{jira_emulator.base_url}/rest/api/3{path.format(key=key)}"
    query = requests.Request(method, url, params=params).prepare().url
    assert query is not None
    assert spec.request_violates_spec(method, query, body), "the case must break the description"
    resp = spec.check(http.request(method, url, params=params, json=body))
    assert resp.status_code == 400
    data = resp.json()
    assert set(data) == {"errorMessages", "errors"}
    assert data["errorMessages"] or data["errors"]


def test_a_hidden_address_is_left_out_but_still_found_by_search(spec: Any) -> None:
    """A profile that hides its address: others read the user without ``emailAddress`` (the description
    allows that), while a search for the whole address still finds them."""
    seed = {"users": [{"email": "sam@example.com", "emailVisible": False}]}
    with JiraEmulator(seed=seed) as emulator, emulator.session() as s:
        api = f"{emulator.base_url}/rest/api/3"
        [found] = spec.check(s.get(f"{api}/user/search", params={"query": "sam@example.com"})).json()
        assert "emailAddress" not in found and found["displayName"] == "Sam Okafor"
        user = spec.check(s.get(f"{api}/user", params={"accountId": found["accountId"]})).json()
        assert "emailAddress" not in user
        fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Rotate keys",
                  "assignee": {"accountId": found["accountId"]}}
        key = spec.check(s.post(f"{api}/issue", json={"fields": fields})).json()["key"]
        issue = spec.check(s.get(f"{api}/issue/{key}")).json()
        assert issue["fields"]["assignee"]["accountId"] == found["accountId"]
        assert "emailAddress" not in issue["fields"]["assignee"]
        me = spec.check(s.get(f"{api}/myself")).json()
        assert me["emailAddress"] == emulator.user  # people always see their own address


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"fields": {"project": {"key": "CHG"}, "issuetype": {"name": "Change"}}},
            {
                "summary": "You must specify a summary of the issue.",
                "customfield_10040": "Change type is required.",
            },
        ),
        (
            {
                "fields": {
                    "project": {"key": "CHG"},
                    "issuetype": {"name": "Change"},
                    "summary": ["x"],
                    "customfield_10040": {"value": "Normal"},
                    "customfield_10045": "next tuesday",
                }
            },
            {
                "summary": "Operation value must be a string",
                "customfield_10045": "Invalid date format. Please enter the date in the format "
                "\"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".",
            },
        ),
        (
            {
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": "x",
                    "customfield_10041": {"value": "Low"},
                    "description": "plain text",
                    "customfield_10016": "3",
                }
            },
            {
                "customfield_10041": "Field 'customfield_10041' cannot be set. "
                "It is not on the appropriate screen, or unknown.",
                "description": "Operation value must be an Atlassian Document "
                "(see the Atlassian Document Format)",
                "customfield_10016": "Operation value must be a number.",
            },
        ),
        (
            {
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": "x",
                    "assignee": {"accountId": "5b10ac8d82e05b22cc7d4ef5"},
                    "reporter": {"emailAddress": "dana@example.com"},
                }
            },
            {
                "assignee": "The user with account ID '5b10ac8d82e05b22cc7d4ef5' does not exist.",
                "reporter": "Specify a valid value for Reporter: users are identified by 'accountId' on "
                "Jira Cloud.",
            },
        ),
    ],
)
def test_create_with_wrong_or_missing_fields_answers_errors_by_field(
    jira_emulator: JiraEmulator,
    spec: Any,
    http: requests.Session,
    body: dict[str, Any],
    errors: dict[str, str],
) -> None:
    resp = spec.check(http.post(f"{jira_emulator.base_url}/rest/api/3/issue", json=body))
    assert resp.status_code == 400
    assert resp.json() == {"errorMessages": [], "errors": errors}
