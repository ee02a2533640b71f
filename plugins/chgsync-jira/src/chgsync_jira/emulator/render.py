"""Jira Cloud's JSON for each kind of record, for a given reader (:class:`View`).

Shapes follow the Cloud platform OpenAPI description (most of its schemas forbid unknown
properties, so nothing extra is added here) and captured product responses where the description
is silent. ``self`` URLs always point at the emulator, in the API version the caller used.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .fields import ARRAY_KINDS, View, render_value
from .model import (
    ChangeGroup,
    ChangeItem,
    Comment,
    FieldDef,
    Issue,
    IssueType,
    Priority,
    Project,
    RemoteLink,
    Resolution,
    Status,
    StatusCategory,
    Transition,
    User,
)
from .timefmt import format_ts

if TYPE_CHECKING:
    from .store import Site

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def avatar_urls(base: str, kind: str, ident: str) -> dict[str, str]:
    return {
        f"{n}x{n}": f"{base}/secure/{kind}avatar?size={label}&avatarId={quote(ident)}"
        for n, label in ((48, "large"), (24, "small"), (16, "xsmall"), (32, "medium"))
    }


def user(u: User, view: View) -> dict[str, Any]:
    """A user as others see them: a profile that hides its address answers without ``emailAddress``."""
    data = {
        "self": f"{view.api}/user?accountId={quote(u.account_id)}",
        "accountId": u.account_id,
        "emailAddress": u.email,
        "avatarUrls": avatar_urls(view.base_url, "user", u.account_id),
        "displayName": u.display_name,
        "active": u.active,
        "timeZone": u.time_zone,
        "accountType": u.account_type,
    }
    if not u.email_visible:
        del data["emailAddress"]
    return data


def myself(u: User, view: View) -> dict[str, Any]:
    data = user(u, view)
    data.update(
        {
            "emailAddress": u.email,  # people always see their own address
            "locale": "en_US",
            "groups": {"size": 2, "items": []},
            "applicationRoles": {"size": 2, "items": []},
            "expand": "groups,applicationRoles",
        }
    )
    return data


def category(c: StatusCategory, view: View) -> dict[str, Any]:
    return {
        "self": f"{view.api}/statuscategory/{c.id}",
        "id": c.id,
        "key": c.key,
        "colorName": c.color,
        "name": c.name,
    }


def status(s: Status, view: View) -> dict[str, Any]:
    return {
        "self": f"{view.api}/status/{s.id}",
        "description": s.description,
        "iconUrl": f"{view.base_url}/images/icons/statuses/generic.png",
        "name": s.name,
        "id": s.id,
        "statusCategory": category(s.category, view),
    }


def issue_type(t: IssueType, view: View) -> dict[str, Any]:
    return {
        "self": f"{view.api}/issuetype/{t.id}",
        "id": t.id,
        "description": t.description,
        "iconUrl": f"{view.api}/universal_avatar/view/type/issuetype/avatar/{t.avatar_id}?size=medium",
        "name": t.name,
        "subtask": t.subtask,
        "avatarId": t.avatar_id,
        "hierarchyLevel": t.hierarchy_level,
    }


def project_ref(p: Project, view: View) -> dict[str, Any]:
    return {
        "self": f"{view.api}/project/{p.id}",
        "id": p.id,
        "key": p.key,
        "name": p.name,
        "projectTypeKey": p.type_key,
        "simplified": False,
        "avatarUrls": avatar_urls(view.base_url, "project", p.id),
    }


def project(site: Site, p: Project, view: View) -> dict[str, Any]:
    lead = site.users.get(p.lead)
    data: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{view.api}/project/{p.id}",
        "id": p.id,
        "key": p.key,
        "description": p.description,
        "components": [],
        "issueTypes": [issue_type(site.issue_types[i], view) for i in p.issue_types],
        "assigneeType": "UNASSIGNED",
        "versions": [],
        "name": p.name,
        "roles": {},
        "avatarUrls": avatar_urls(view.base_url, "project", p.id),
        "projectTypeKey": p.type_key,
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }
    if lead is not None:
        data["lead"] = user(lead, view)
    return data


def priority(p: Priority, view: View, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "self": f"{view.api}/priority/{p.id}",
        "iconUrl": f"{view.base_url}/images/icons/priorities/{p.name.lower()}_new.svg",
        "name": p.name,
        "id": p.id,
    }
    if full:
        data.update({"statusColor": p.color, "description": f"{p.name} priority."})
    return data


def resolution(r: Resolution, view: View) -> dict[str, Any]:
    return {"self": f"{view.api}/resolution/{r.id}", "id": r.id, "description": r.description, "name": r.name}


def comment(site: Site, c: Comment, issue: Issue, view: View) -> dict[str, Any]:
    data: dict[str, Any] = {
        "self": f"{view.api}/issue/{issue.id}/comment/{c.id}",
        "id": c.id,
        "author": user(site.users[c.author], view),
        "body": c.body.adf() if view.version >= 3 else c.body.wiki(),
        "updateAuthor": user(site.users[c.update_author], view),
        "created": format_ts(c.created, view.tz),
        "updated": format_ts(c.updated, view.tz),
    }
    if site.projects[issue.project_id].type_key == "service_desk":
        data["jsdPublic"] = not c.internal
    if c.visibility:
        data["visibility"] = dict(c.visibility)
    return data


def change_item(item: ChangeItem, *, webhook: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "field": item.field,
        "fieldtype": item.fieldtype,
        "fieldId": item.field_id,
        "from": item.from_,
        "fromString": item.from_string,
        "to": item.to,
        "toString": item.to_string,
    }
    if webhook and (item.from_account or item.to_account):
        data["tmpFromAccountId"] = item.from_account
        data["tmpToAccountId"] = item.to_account
    return data


def change_group(site: Site, group: ChangeGroup, view: View) -> dict[str, Any]:
    return {
        "id": group.id,
        "author": user(site.users[group.author], view),
        "created": format_ts(group.created, view.tz),
        "items": [change_item(i) for i in group.items],
    }


def remote_link(link: RemoteLink, issue: Issue, view: View) -> dict[str, Any]:
    data: dict[str, Any] = {"id": link.id, "self": f"{view.api}/issue/{issue.id}/remotelink/{link.id}"}
    if link.global_id is not None:
        data["globalId"] = link.global_id
    if link.application is not None:
        data["application"] = link.application
    if link.relationship is not None:
        data["relationship"] = link.relationship
    data["object"] = link.object
    return data


def transition(site: Site, t: Transition, view: View, with_fields: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "to": status(site.statuses[t.to], view),
        "hasScreen": bool(t.screen),
        "isGlobal": t.is_global,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        data["fields"] = {
            fid: field_meta(site, site.fields[fid], view, required=False)
            for fid in t.screen
            if fid in site.fields
        }
    return data


# -- field metadata (create/edit screens) --------------------------------------------------------------
def operations(f: FieldDef) -> list[str]:
    if f.kind in ARRAY_KINDS:
        return ["add", "set", "remove"]
    return ["set"]


def field_meta(
    site: Site,
    f: FieldDef,
    view: View,
    *,
    required: bool,
    project: Project | None = None,
    issue_type_id: str | None = None,
    with_id: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {"required": required, "schema": dict(f.schema), "name": f.name, "key": f.id}
    if with_id:
        data["fieldId"] = f.id
    data["hasDefaultValue"] = f.id == "priority"
    data["operations"] = operations(f)
    allowed = allowed_values(site, f, view, project, issue_type_id)
    if allowed is not None:
        data["allowedValues"] = allowed
    if f.id == "priority":
        data["defaultValue"] = priority(site.priorities[site.default_priority], view)
    return data


def allowed_values(
    site: Site, f: FieldDef, view: View, project: Project | None, issue_type_id: str | None
) -> list[Any] | None:
    if f.kind in ("option", "options"):
        return [
            {"self": f"{view.api}/customFieldOption/{o.id}", "value": o.value, "id": o.id} for o in f.options
        ]
    if f.kind == "priority":
        return [priority(p, view) for p in site.priorities.values()]
    if f.kind == "resolution":
        return [resolution(r, view) for r in site.resolutions.values()]
    if f.kind == "issuetype" and issue_type_id is not None:
        return [issue_type(site.issue_types[issue_type_id], view)]
    if f.kind == "project" and project is not None:
        return [project_ref(project, view)]
    return None


def field_details(f: FieldDef) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f.id,
        "key": f.id,
        "name": f.name,
        "custom": f.custom,
        "orderable": f.orderable,
        "navigable": f.navigable,
        "searchable": f.searchable,
        "clauseNames": list(f.clause_names),
    }
    if f.schema:
        data["schema"] = dict(f.schema)
    return data


# -- issues --------------------------------------------------------------------------------------------
def issue_field_value(site: Site, issue: Issue, f: FieldDef, view: View) -> Any:
    fid = f.id
    api = view.api
    if fid == "issuetype":
        return issue_type(site.issue_types[issue.issue_type_id], view)
    if fid == "project":
        return project_ref(site.projects[issue.project_id], view)
    if fid == "status":
        return status(site.statuses[issue.status_id], view)
    if fid == "statusCategory":
        return category(site.statuses[issue.status_id].category, view)
    if fid == "creator":
        return user(site.users[issue.creator], view)
    if fid == "created":
        return format_ts(issue.created, view.tz)
    if fid == "updated":
        return format_ts(issue.updated, view.tz)
    if fid == "statuscategorychangedate":
        return format_ts(issue.status_changed or issue.created, view.tz)
    if fid == "resolutiondate":
        return format_ts(issue.resolution_date, view.tz) if issue.resolution_date else None
    if fid == "lastViewed":
        return None
    if fid == "watches":
        return {"self": f"{api}/issue/{issue.key}/watchers", "watchCount": 1, "isWatching": True}
    if fid == "votes":
        return {"self": f"{api}/issue/{issue.key}/votes", "votes": 0, "hasVoted": False}
    if fid in ("issuelinks", "subtasks"):
        return []
    if fid == "comment":
        comments = [comment(site, c, issue, view) for c in issue.comments]
        return {
            "comments": comments,
            "self": f"{api}/issue/{issue.id}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }
    return render_value(site, f, issue.values.get(fid), view)


def issue(
    site: Site,
    it: Issue,
    view: View,
    field_ids: Collection[str] | None = None,
    expand: Collection[str] = (),
    *,
    only_id: bool = False,
) -> dict[str, Any]:
    """An issue as ``GET /issue`` and the searches return it; ``field_ids`` None means all fields."""
    if only_id:
        return {"id": it.id}
    project_ = site.projects[it.project_id]
    fields_ = [
        f
        for f in site.fields_for(project_, it.issue_type_id)
        if f.id not in ("issuekey", "statusCategory") and (field_ids is None or f.id in field_ids)
    ]
    data: dict[str, Any] = {
        "expand": ISSUE_EXPAND,
        "id": it.id,
        "self": f"{view.api}/issue/{it.id}",
        "key": it.key,
    }
    if "renderedFields" in expand:
        data["renderedFields"] = rendered_fields(site, it, fields_, view)
    if "names" in expand:
        data["names"] = {f.id: f.name for f in fields_}
    if "schema" in expand:
        data["schema"] = {f.id: dict(f.schema) for f in fields_ if f.schema}
    if "transitions" in expand:
        wf = site.workflow_for(it)
        data["transitions"] = [transition(site, t, view) for t in wf.available(it.status_id)]
    if "editmeta" in expand:
        data["editmeta"] = editmeta(site, it, view)
    if "changelog" in expand:
        histories = [change_group(site, g, view) for g in it.changelog]
        data["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    data["fields"] = {f.id: issue_field_value(site, it, f, view) for f in fields_}
    return data


def rendered_fields(site: Site, it: Issue, fields_: list[FieldDef], view: View) -> dict[str, Any]:
    from .adf import wiki_to_html

    out: dict[str, Any] = {}
    for f in fields_:
        value = it.values.get(f.id)
        if f.kind == "text":
            out[f.id] = wiki_to_html(value.wiki()) if value is not None else None
        elif f.kind in ("string", "url"):
            out[f.id] = value
        else:
            out[f.id] = None
    return out


def editmeta(site: Site, it: Issue, view: View) -> dict[str, Any]:
    project_ = site.projects[it.project_id]
    config = project_.issue_types[it.issue_type_id]
    meta: dict[str, Any] = {}
    for fid in config.screen:
        f = site.fields.get(fid)
        if f is None or fid in ("project",):
            continue
        meta[fid] = field_meta(
            site, f, view, required=fid in config.required, project=project_, issue_type_id=it.issue_type_id
        )
    return {"fields": meta}


def webhook_issue(site: Site, it: Issue, view: View) -> dict[str, Any]:
    """The issue inside a webhook body: v2, every field, plus ``fields.statusCategory``."""
    data = issue(site, it, view)
    data.pop("expand", None)
    data["fields"]["statusCategory"] = category(site.statuses[it.status_id].category, view)
    return data


def trimmed_issue(site: Site, it: Issue, view: View) -> dict[str, Any]:
    """The small issue that comment webhooks carry."""
    wanted = ("summary", "issuetype", "project", "assignee", "priority", "status")
    full = issue(site, it, view, field_ids=set(wanted))
    return {
        "id": it.id,
        "self": full["self"],
        "key": it.key,
        "fields": {k: full["fields"].get(k) for k in wanted},
    }


def select_fields(site: Site, tokens: list[str] | None, default: str) -> tuple[set[str] | None, bool]:
    """Which fields ``fields=`` asks for: ``(*all -> None | field ids, only the id?)``.

    Accepts ``*all``, ``*navigable``, ids, clause names and ``-field`` exclusions, repeated or
    comma-separated; unknown names are ignored, as Jira ignores them.
    """
    tokens = tokens if tokens else [default]
    if all(t in ("id",) for t in tokens):
        return set(), True
    chosen: set[str] = set()
    excluded: set[str] = set()
    every = False
    for token in tokens:
        if token == "*all":
            every = True
        elif token == "*navigable":
            chosen.update(f.id for f in site.fields.values() if f.navigable)
        elif token.startswith("-"):
            f = site.field_for_clause(token[1:])
            if f is not None:
                excluded.add(f.id)
        else:
            f = site.field_for_clause(token)
            if f is not None:
                chosen.add(f.id)
    if every:
        return (set(site.fields) - excluded if excluded else None), False
    return chosen - excluded, False
