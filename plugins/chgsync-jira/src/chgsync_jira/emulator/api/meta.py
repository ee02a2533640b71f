"""Site metadata: server info, users, fields, projects, issue types, statuses, priorities, resolutions,
create metadata, and the application-links list the ``jira`` library reads before adding remote links."""

from __future__ import annotations

from typing import Any

from .. import render
from ..errors import JiraError
from ..model import STATUS_CATEGORIES, Project
from ..routing import ApiRequest, Reply, route
from ..timefmt import format_ts, zone

BUILD_NUMBER = 100296
VERSION = "1001.0.0-SNAPSHOT"


@route("/rest/api/<ver:version>/serverInfo", spec="/rest/api/3/serverInfo")
def server_info(req: ApiRequest) -> Reply:
    site_tz = zone(req.site.settings.time_zone)
    now = req.emulator.clock()
    return Reply(
        {
            "baseUrl": req.view.base_url,
            "displayUrl": req.view.base_url,
            "displayUrlServicedeskHelpCenter": req.view.base_url,
            "version": VERSION,
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": BUILD_NUMBER,
            "buildDate": format_ts(now.replace(hour=0, minute=0, second=0, microsecond=0), site_tz),
            "serverTime": format_ts(now, req.view.tz),
            "scmInfo": "f4e1a9c0b2d34e5f6a7b8c9d0e1f2a3b4c5d6e7f",
            "serverTitle": req.site.settings.title,
            "serverTimeZone": req.site.settings.time_zone,
        }
    )


@route("/rest/api/<ver:version>/myself", spec="/rest/api/3/myself")
def myself(req: ApiRequest) -> Reply:
    user = req.site.user(req.actor)
    return Reply(render.myself(user, req.view))


@route("/rest/api/<ver:version>/user", spec="/rest/api/3/user")
def user(req: ApiRequest) -> Reply:
    account_id = req.arg("accountId")
    if not account_id:
        raise JiraError(400, "The query parameter 'accountId' is required.")
    found = req.site.users.get(account_id)
    if found is None:
        raise JiraError(404, "Specified user does not exist or you do not have access to it.")
    return Reply(render.user(found, req.view))


@route("/rest/api/<ver:version>/user/search", spec="/rest/api/3/user/search")
def user_search(req: ApiRequest) -> Reply:
    """Prefix match on display name (or any word of it) and email, as Cloud's user search documents."""
    query = (req.arg("query") or "").strip().lower()
    account_id = req.arg("accountId")
    if not query and not account_id:
        raise JiraError(400, "One of 'query' or 'accountId' query parameters must be provided.")
    start = req.arg_int("startAt", 0)
    size = req.arg_int("maxResults", 50, minimum=1)

    def matches(u: Any) -> bool:
        if account_id:
            return bool(u.account_id == account_id)
        words = [u.display_name.lower(), *u.display_name.lower().split(), u.email.lower()]
        return any(w.startswith(query) for w in words)

    found = [u for u in req.site.users.values() if u.active and matches(u)]
    return Reply([render.user(u, req.view) for u in found[start : start + size]])


@route("/rest/api/<ver:version>/field", spec="/rest/api/3/field")
def fields(req: ApiRequest) -> Reply:
    return Reply([render.field_details(f) for f in req.site.fields.values()])


# -- projects ------------------------------------------------------------------------------------------
@route("/rest/api/<ver:version>/project", spec="/rest/api/3/project")
def projects(req: ApiRequest) -> Reply:
    return Reply([render.project(req.site, p, req.view) for p in _projects_by_key(req)])


@route("/rest/api/<ver:version>/project/search", spec="/rest/api/3/project/search")
def project_search(req: ApiRequest) -> Reply:
    start = req.arg_int("startAt", 0)
    size = min(req.arg_int("maxResults", 50, minimum=1), 100)
    query = (req.arg("query") or "").lower()
    keys = set(req.arg_list("keys") or [])
    matching = [
        p
        for p in _projects_by_key(req)
        if (not query or query in p.key.lower() or query in p.name.lower()) and (not keys or p.key in keys)
    ]
    page = matching[start : start + size]
    data: dict[str, Any] = {
        "self": f"{req.view.api}/project/search?startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": len(matching),
        "isLast": start + size >= len(matching),
        "values": [render.project(req.site, p, req.view) for p in page],
    }
    if not data["isLast"]:
        data["nextPage"] = f"{req.view.api}/project/search?startAt={start + size}&maxResults={size}"
    return Reply(data)


def _projects_by_key(req: ApiRequest) -> list[Project]:
    return sorted(req.site.projects.values(), key=lambda p: p.key)


@route("/rest/api/<ver:version>/project/<project>", spec="/rest/api/3/project/{projectIdOrKey}")
def project(req: ApiRequest, project: str) -> Reply:
    return Reply(render.project(req.site, req.site.project_or_404(project), req.view))


@route(
    "/rest/api/<ver:version>/project/<project>/statuses", spec="/rest/api/3/project/{projectIdOrKey}/statuses"
)
def project_statuses(req: ApiRequest, project: str) -> Reply:
    p = req.site.project_or_404(project)
    out = []
    for type_id, config in p.issue_types.items():
        it = req.site.issue_types[type_id]
        workflow = req.site.workflows[config.workflow]
        out.append(
            {
                "self": f"{req.view.api}/issuetype/{it.id}",
                "id": it.id,
                "name": it.name,
                "subtask": it.subtask,
                "statuses": [render.status(req.site.statuses[s], req.view) for s in workflow.statuses],
            }
        )
    return Reply(out)


# -- issue types, statuses, priorities, resolutions -----------------------------------------------------
@route("/rest/api/<ver:version>/issuetype", spec="/rest/api/3/issuetype")
def issue_types(req: ApiRequest) -> Reply:
    return Reply([render.issue_type(t, req.view) for t in req.site.issue_types.values()])


@route("/rest/api/<ver:version>/issuetype/<type_id>", spec="/rest/api/3/issuetype/{id}")
def issue_type(req: ApiRequest, type_id: str) -> Reply:
    it = req.site.issue_types.get(type_id)
    if it is None:
        raise JiraError(404, f"The issue type with id '{type_id}' does not exist.")
    return Reply(render.issue_type(it, req.view))


@route("/rest/api/<ver:version>/status", spec="/rest/api/3/status")
def statuses(req: ApiRequest) -> Reply:
    return Reply([render.status(s, req.view) for s in req.site.statuses.values()])


@route("/rest/api/<ver:version>/status/<ref>", spec="/rest/api/3/status/{idOrName}")
def status(req: ApiRequest, ref: str) -> Reply:
    found = req.site.status(ref)
    if found is None:
        raise JiraError(404, f"The status with id '{ref}' does not exist.")
    return Reply(render.status(found, req.view))


@route("/rest/api/<ver:version>/statuscategory", spec="/rest/api/3/statuscategory")
def status_categories(req: ApiRequest) -> Reply:
    return Reply([render.category(c, req.view) for c in STATUS_CATEGORIES.values()])


@route("/rest/api/<ver:version>/priority", spec="/rest/api/3/priority")
def priorities(req: ApiRequest) -> Reply:
    out = []
    for p in req.site.priorities.values():
        data = render.priority(p, req.view, full=True)
        data["isDefault"] = p.id == req.site.default_priority
        out.append(data)
    return Reply(out)


@route("/rest/api/<ver:version>/resolution", spec="/rest/api/3/resolution")
def resolutions(req: ApiRequest) -> Reply:
    return Reply([render.resolution(r, req.view) for r in req.site.resolutions.values()])


# -- create metadata -----------------------------------------------------------------------------------
def _create_fields(req: ApiRequest, p: Project, type_id: str) -> list[dict[str, Any]]:
    config = p.issue_types[type_id]
    out = []
    for fid in ("issuetype", "project", *config.screen):
        f = req.site.fields[fid]
        out.append(
            render.field_meta(
                req.site,
                f,
                req.view,
                required=fid in config.required or fid in ("issuetype", "project", "summary"),
                project=p,
                issue_type_id=type_id,
                with_id=True,
            )
        )
    return out


def _type_meta(req: ApiRequest, p: Project, type_id: str, *, with_fields: bool) -> dict[str, Any]:
    data = render.issue_type(req.site.issue_types[type_id], req.view)
    if with_fields:
        data["expand"] = "fields"
        data["fields"] = {
            m["fieldId"]: {k: v for k, v in m.items() if k != "fieldId"}
            for m in _create_fields(req, p, type_id)
        }
    return data


@route("/rest/api/<ver:version>/issue/createmeta", spec="/rest/api/3/issue/createmeta")
def createmeta(req: ApiRequest) -> Reply:
    keys = set(req.arg_list("projectKeys") or [])
    ids = set(req.arg_list("projectIds") or [])
    type_ids = set(req.arg_list("issuetypeIds") or [])
    type_names = {n.lower() for n in req.arg_list("issuetypeNames") or []}
    with_fields = "projects.issuetypes.fields" in req.expand()
    projects_out = []
    for p in _projects_by_key(req):
        if (keys or ids) and p.key not in keys and p.id not in ids:
            continue
        types = [
            t
            for t in p.issue_types
            if (not type_ids or t in type_ids)
            and (not type_names or req.site.issue_types[t].name.lower() in type_names)
        ]
        projects_out.append(
            {
                "self": f"{req.view.api}/project/{p.id}",
                "id": p.id,
                "key": p.key,
                "name": p.name,
                "avatarUrls": render.avatar_urls(req.view.base_url, "project", p.id),
                "issuetypes": [_type_meta(req, p, t, with_fields=with_fields) for t in types],
            }
        )
    return Reply({"expand": "projects", "projects": projects_out})


@route(
    "/rest/api/<ver:version>/issue/createmeta/<project>/issuetypes",
    spec="/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes",
)
def createmeta_types(req: ApiRequest, project: str) -> Reply:
    p = req.site.project_or_404(project)
    start = req.arg_int("startAt", 0)
    size = min(req.arg_int("maxResults", 50, minimum=1), 200)
    types = list(p.issue_types)
    return Reply(
        {
            "maxResults": size,
            "startAt": start,
            "total": len(types),
            "issueTypes": [_type_meta(req, p, t, with_fields=False) for t in types[start : start + size]],
        }
    )


@route(
    "/rest/api/<ver:version>/issue/createmeta/<project>/issuetypes/<type_id>",
    spec="/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
)
def createmeta_fields(req: ApiRequest, project: str, type_id: str) -> Reply:
    p = req.site.project_or_404(project)
    if type_id not in p.issue_types:
        raise JiraError(404, f"Issue type with id '{type_id}' does not exist in project '{p.key}'.")
    start = req.arg_int("startAt", 0)
    size = min(req.arg_int("maxResults", 50, minimum=1), 200)
    all_fields = _create_fields(req, p, type_id)
    return Reply(
        {
            "maxResults": size,
            "startAt": start,
            "total": len(all_fields),
            "fields": all_fields[start : start + size],
        }
    )


# -- application links ---------------------------------------------------------------------------------
@route(
    "/rest/applinks/latest/listApplicationlinks",
    spec=None,
    note="Application links API (not part of the platform REST description); the jira library reads it "
    "before adding a remote link.",
)
def application_links(req: ApiRequest) -> Reply:
    return Reply({"list": []})
