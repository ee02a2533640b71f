"""Issues: create, read, edit, edit metadata, changelog, and workflow transitions."""

from __future__ import annotations

from typing import Any

from .. import render
from ..errors import JiraError, envelope
from ..routing import NO_CONTENT, ApiRequest, Reply, route

ISSUE_SPEC = "/rest/api/3/issue/{issueIdOrKey}"


@route("/rest/api/<ver:version>/issue", methods=("POST",), spec="/rest/api/3/issue")
def create_issue(req: ApiRequest) -> Reply:
    body = req.json()
    result = req.service.create(req.actor, body, req.version)
    events = list(result.events)
    issue = result.issue
    data: dict[str, Any] = {"id": issue.id, "key": issue.key, "self": f"{req.view.api}/issue/{issue.id}"}
    transition = body.get("transition") if isinstance(body, dict) else None
    if transition:
        try:
            moved = req.service.transition(req.actor, issue, {"transition": transition}, req.version)
            events.extend(moved.events)
            data["transition"] = {"status": 204, "errorCollection": envelope()}
        except JiraError as exc:
            data["transition"] = {"status": exc.status, "errorCollection": exc.body()}
    req.emulator.publish(events)
    return Reply(data, 201)


@route("/rest/api/<ver:version>/issue/<issue>", spec=ISSUE_SPEC)
def get_issue(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    field_ids, only_id = render.select_fields(req.site, req.arg_list("fields"), "*all")
    data = render.issue(req.site, found, req.view, field_ids, req.expand())
    if only_id:
        data["fields"] = {}
    return Reply(data)


@route("/rest/api/<ver:version>/issue/<issue>", methods=("PUT",), spec=ISSUE_SPEC)
def edit_issue(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    return_issue = req.arg_bool("returnIssue")
    req.arg_bool("notifyUsers", True)
    result = req.service.edit(req.actor, found, req.json(), req.version)
    req.emulator.publish(result.events)
    if return_issue:
        return Reply(render.issue(req.site, found, req.view, None, req.expand()))
    return Reply(None, NO_CONTENT)


@route(
    "/rest/api/<ver:version>/issue/<issue>/assignee",
    methods=("PUT",),
    spec="/rest/api/3/issue/{issueIdOrKey}/assignee",
)
def assign(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    result = req.service.assign(req.actor, found, req.json())
    req.emulator.publish(result.events)
    return Reply(None, NO_CONTENT)


@route("/rest/api/<ver:version>/issue/<issue>/editmeta", spec="/rest/api/3/issue/{issueIdOrKey}/editmeta")
def edit_meta(req: ApiRequest, issue: str) -> Reply:
    return Reply(render.editmeta(req.site, req.site.issue(issue), req.view))


@route("/rest/api/<ver:version>/issue/<issue>/changelog", spec="/rest/api/3/issue/{issueIdOrKey}/changelog")
def changelog(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    start = req.arg_int("startAt", 0)
    size = min(req.arg_int("maxResults", 100, minimum=1), 100)
    groups = found.changelog
    page = groups[start : start + size]
    base = f"{req.view.api}/issue/{found.key}/changelog"
    data: dict[str, Any] = {
        "self": f"{base}?maxResults={size}&startAt={start}",
        "maxResults": size,
        "startAt": start,
        "total": len(groups),
        "isLast": start + size >= len(groups),
        "values": [render.change_group(req.site, g, req.view) for g in page],
    }
    if not data["isLast"]:
        data["nextPage"] = f"{base}?maxResults={size}&startAt={start + size}"
    return Reply(data)


@route(
    "/rest/api/<ver:version>/issue/<issue>/transitions", spec="/rest/api/3/issue/{issueIdOrKey}/transitions"
)
def transitions(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    wanted = req.arg("transitionId")
    with_fields = "transitions.fields" in req.expand()
    available = req.site.workflow_for(found).available(found.status_id)
    return Reply(
        {
            "expand": "transitions",
            "transitions": [
                render.transition(req.site, t, req.view, with_fields)
                for t in available
                if wanted is None or t.id == wanted
            ],
        }
    )


@route(
    "/rest/api/<ver:version>/issue/<issue>/transitions",
    methods=("POST",),
    spec="/rest/api/3/issue/{issueIdOrKey}/transitions",
)
def do_transition(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    result = req.service.transition(req.actor, found, req.json(), req.version)
    req.emulator.publish(result.events)
    return Reply(None, NO_CONTENT)
