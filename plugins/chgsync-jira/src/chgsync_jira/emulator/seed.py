"""The seed format: a YAML/JSON document that adds to (or overrides) the emulator's site.

Sections, all optional, applied in this order so later ones can refer to earlier ones::

    settings:     {timeZone, legacySearch, dynamicWebhooksForUsers, title}
    users:        [{email, displayName, accountId, timeZone, accountType, active, token, emailVisible}]
    priorities:   [{name, id, color, default}]
    resolutions:  [{name, id, description}]
    statuses:     [{name, category: new|indeterminate|done, id, description}]
    issueTypes:   [{name, id, description, subtask, hierarchyLevel, avatarId}]
    services:     [{name, id}]
    fields:       [{id: customfield_N, name, type, options: [value | {id, value}]}]
    workflows:    [{name, initial, transitions: [{id, name, from: [status] | "*", to, resolution, screen}]}]
    projects:     [{key, name, type, id, lead, description,
                    issueTypes: [{name, workflow, fields: [field ids], required: [field ids]}]}]
    issues:       [{project, issuetype, summary, status, fields: {...REST v2 shapes...}, reporter, creator,
                    created, updated, comments: [{body, author, created}], remoteLinks: [{...REST body...}]}]

Entries replace existing ones with the same identity (users by email, statuses, issue types and
workflows by name, fields by id, projects by key), so a seed can override the default workflow.
Every problem is reported at once, each naming its field (``workflows[0].transitions[2].to``).
The default site (:mod:`defaults`) is itself loaded through this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from chgsync.errors import InputError, Problem

from .errors import JiraError
from .fields import CUSTOM_TYPE_ALIASES, CUSTOM_TYPES, custom_field
from .issues import IssueService
from .model import (
    STATUS_CATEGORIES,
    IssueType,
    Option,
    Priority,
    Project,
    ProjectIssueType,
    Resolution,
    Service,
    Status,
    User,
)
from .store import Site
from .timefmt import format_ts, parse_ts, truncate_ms, zone
from .workflow import build_workflow

SECTIONS = (
    "settings",
    "users",
    "priorities",
    "resolutions",
    "statuses",
    "issueTypes",
    "services",
    "fields",
    "workflows",
    "projects",
    "issues",
)
PROJECT_TYPES = ("software", "service_desk", "business")
ACCOUNT_TYPES = ("atlassian", "app", "customer")
_PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")
_CUSTOM_ID_RE = re.compile(r"^customfield_\d{5,}$")


class SeedError(InputError):
    """A seed document the emulator cannot use; names each offending field."""

    kind = "seed"


def apply_document(
    site: Site, doc: Any, *, clock: Callable[[], datetime], default_user: str, source: str | None = None
) -> None:
    """Apply ``doc`` to ``site`` in place. Callers wanting all-or-nothing apply to a copy."""
    if not isinstance(doc, Mapping):
        raise SeedError(
            source, Problem("", f"must be a mapping with any of the sections {', '.join(SECTIONS)}.")
        )
    problems: list[Problem] = []
    for key in doc:
        if key not in SECTIONS:
            problems.append(
                Problem(str(key), f"is not a seed section; the sections are {', '.join(SECTIONS)}.")
            )
    loader = _Loader(site, problems, default_user)
    loader.settings(doc.get("settings"))
    loader.users(_entries(doc, "users", problems))
    loader.priorities(_entries(doc, "priorities", problems))
    loader.resolutions(_entries(doc, "resolutions", problems))
    loader.statuses(_entries(doc, "statuses", problems))
    loader.issue_types(_entries(doc, "issueTypes", problems))
    loader.services(_entries(doc, "services", problems))
    loader.fields(_entries(doc, "fields", problems))
    loader.workflows(_entries(doc, "workflows", problems))
    loader.projects(_entries(doc, "projects", problems))
    if problems:
        raise SeedError(source, problems)
    loader.issues(_entries(doc, "issues", problems), IssueService(site, clock))
    if problems:
        raise SeedError(source, problems)


def _entries(
    doc: Mapping[str, Any], section: str, problems: list[Problem]
) -> list[tuple[str, Mapping[str, Any]]]:
    raw = doc.get(section)
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(section, "must be a list of mappings."))
        return []
    out = []
    for n, item in enumerate(raw):
        if isinstance(item, Mapping):
            out.append((f"{section}[{n}]", item))
        else:
            problems.append(Problem(f"{section}[{n}]", f"must be a mapping, got {type(item).__name__}."))
    return out


def _text(
    entry: Mapping[str, Any],
    key: str,
    path: str,
    problems: list[Problem],
    *,
    required: bool = True,
    what: str = "",
) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            problems.append(Problem(f"{path}.{key}", f"is required{': ' + what if what else ''}."))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(Problem(f"{path}.{key}", f"must be text, got {type(value).__name__}."))
        return None
    text = str(value).strip()
    if required and not text:
        problems.append(Problem(f"{path}.{key}", f"must not be empty{': ' + what if what else ''}."))
        return None
    return text


def _numeric_id(
    site: Site,
    kind: str,
    entry: Mapping[str, Any],
    path: str,
    problems: list[Problem],
    existing: str | None,
    start: int = 10000,
) -> str | None:
    raw = entry.get("id")
    if raw is None:
        return existing or str(site.next_id(kind, start))
    text = str(raw)
    if not text.isdigit():
        problems.append(Problem(f"{path}.id", f"must be a numeric id (Jira ids are digits), got {raw!r}."))
        return None
    site.reserve_id(kind, int(text))
    return text


def _plain(value: Any) -> Any:
    """Field values as REST would carry them: YAML turns some of them into dates and timestamps."""
    if isinstance(value, datetime):
        return format_ts(value if value.tzinfo else value.replace(tzinfo=UTC), UTC)
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Loader:
    def __init__(self, site: Site, problems: list[Problem], default_user: str) -> None:
        self.site = site
        self.problems = problems
        self.default_user = default_user

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # -- configuration -------------------------------------------------------------------------------
    def settings(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, Mapping):
            self.problem("settings", "must be a mapping.")
            return
        known = {"timeZone", "legacySearch", "dynamicWebhooksForUsers", "title"}
        for key in raw:
            if key not in known:
                self.problem(
                    f"settings.{key}", f"is not a setting; the settings are {', '.join(sorted(known))}."
                )
        s = self.site.settings
        if "timeZone" in raw:
            try:
                zone(str(raw["timeZone"]))
                s.time_zone = str(raw["timeZone"])
            except ValueError as exc:
                self.problem("settings.timeZone", str(exc))
        for key, attr in (
            ("legacySearch", "legacy_search"),
            ("dynamicWebhooksForUsers", "dynamic_webhooks_for_users"),
        ):
            if key in raw:
                if not isinstance(raw[key], bool):
                    self.problem(f"settings.{key}", f"must be true or false, got {raw[key]!r}.")
                else:
                    setattr(s, attr, raw[key])
        if "title" in raw:
            s.title = str(raw["title"])

    def users(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            email = _text(e, "email", path, self.problems, what="the address the user signs in with")
            if email is None:
                continue
            if "@" not in email:
                self.problem(f"{path}.email", f"must be an email address, got {email!r}.")
                continue
            existing = self.site.user_by_email(email)
            tz = str(e.get("timeZone", existing.time_zone if existing else "UTC"))
            try:
                zone(tz)
            except ValueError as exc:
                self.problem(f"{path}.timeZone", str(exc))
                continue
            account_type = str(e.get("accountType", existing.account_type if existing else "atlassian"))
            if account_type not in ACCOUNT_TYPES:
                self.problem(
                    f"{path}.accountType", f"must be one of {', '.join(ACCOUNT_TYPES)}, got {account_type!r}."
                )
                continue
            token = e.get("token")
            if token is not None and not isinstance(token, str):
                self.problem(f"{path}.token", "must be text: the API token this user authenticates with.")
                continue
            account_id = str(
                e.get("accountId") or (existing.account_id if existing else Site.account_id_for(email))
            )
            if existing is not None and existing.account_id != account_id:
                del self.site.users[existing.account_id]
            self.site.users[account_id] = User(
                account_id=account_id,
                email=email,
                display_name=str(
                    e.get("displayName") or (existing.display_name if existing else email.split("@")[0])
                ),
                time_zone=tz,
                account_type=account_type,
                active=bool(e.get("active", True)),
                token=token if token is not None else (existing.token if existing else None),
                email_visible=bool(e.get("emailVisible", existing.email_visible if existing else True)),
            )

    def priorities(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            name = _text(e, "name", path, self.problems)
            if name is None:
                continue
            existing = self.site.priority({"name": name})
            pid = _numeric_id(
                self.site, "priority", e, path, self.problems, existing.id if existing else None, 10000
            )
            if pid is None:
                continue
            self.site.priorities[pid] = Priority(pid, name, str(e.get("color", "#707070")), 0)
            if e.get("default"):
                self.site.default_priority = pid
        count = len(self.site.priorities)
        for n, (pid, p) in enumerate(list(self.site.priorities.items())):
            self.site.priorities[pid] = Priority(p.id, p.name, p.color, count - n)

    def resolutions(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            name = _text(e, "name", path, self.problems)
            if name is None:
                continue
            existing = self.site.resolution({"name": name})
            rid = _numeric_id(
                self.site, "resolution", e, path, self.problems, existing.id if existing else None
            )
            if rid is not None:
                self.site.resolutions[rid] = Resolution(rid, name, str(e.get("description", "")))

    def statuses(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            name = _text(e, "name", path, self.problems)
            category = e.get("category")
            if category not in STATUS_CATEGORIES:
                self.problem(
                    f"{path}.category",
                    f"must be one of {', '.join(STATUS_CATEGORIES)} (the status category "
                    f"key), got {category!r}.",
                )
                continue
            if name is None:
                continue
            existing = self.site.status(name)
            sid = _numeric_id(self.site, "status", e, path, self.problems, existing.id if existing else None)
            if sid is not None:
                self.site.statuses[sid] = Status(
                    sid, name, STATUS_CATEGORIES[category], str(e.get("description", ""))
                )

    def issue_types(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            name = _text(e, "name", path, self.problems)
            if name is None:
                continue
            existing = self.site.issue_type(name)
            tid = _numeric_id(
                self.site, "issuetype", e, path, self.problems, existing.id if existing else None
            )
            if tid is None:
                continue
            subtask = bool(e.get("subtask", False))
            self.site.issue_types[tid] = IssueType(
                tid,
                name,
                str(e.get("description", "")),
                subtask,
                int(e.get("hierarchyLevel", -1 if subtask else 0)),
                int(e.get("avatarId", 10318)),
            )

    def services(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            name = _text(e, "name", path, self.problems)
            if name is None:
                continue
            sid = str(e.get("id") or hashlib.sha1(name.encode()).hexdigest()[:24])
            self.site.services[sid] = Service(sid, name)

    def fields(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            fid = _text(e, "id", path, self.problems, what="a custom field id such as customfield_10070")
            name = _text(e, "name", path, self.problems)
            type_name = e.get("type")
            if fid is not None and not _CUSTOM_ID_RE.match(fid):
                self.problem(
                    f"{path}.id",
                    f"must look like customfield_10070 (only custom fields can be added), got {fid!r}.",
                )
                continue
            resolved = CUSTOM_TYPE_ALIASES.get(str(type_name), str(type_name))
            if resolved not in CUSTOM_TYPES:
                self.problem(f"{path}.type", f"must be one of {', '.join(CUSTOM_TYPES)}, got {type_name!r}.")
                continue
            if fid is None or name is None:
                continue
            options: list[Option] = []
            raw_options = e.get("options", [])
            if CUSTOM_TYPES[resolved][0] in ("option", "options"):
                if not isinstance(raw_options, list) or not raw_options:
                    self.problem(f"{path}.options", "must list the choices of a select field.")
                    continue
                for n, opt in enumerate(raw_options):
                    if isinstance(opt, Mapping) and isinstance(opt.get("value"), str):
                        oid = str(opt.get("id") or self.site.next_id("option"))
                        if oid.isdigit():
                            self.site.reserve_id("option", int(oid))
                        options.append(Option(oid, opt["value"]))
                    elif isinstance(opt, str):
                        options.append(Option(str(self.site.next_id("option")), opt))
                    else:
                        self.problem(
                            f"{path}.options[{n}]", "must be a value or a mapping with 'value' (and 'id')."
                        )
            elif raw_options:
                self.problem(
                    f"{path}.options", f"only select and multiselect fields have options, not {type_name}."
                )
                continue
            self.site.fields[fid] = custom_field(fid, name, resolved, options)

    def workflows(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        known_fields = set(self.site.fields)
        known_resolutions = {r.name for r in self.site.resolutions.values()} | set(self.site.resolutions)
        for path, e in entries:
            wf = build_workflow(
                e,
                self.site.statuses,
                path,
                self.problems,
                known_fields=known_fields,
                known_resolutions=known_resolutions,
            )
            if wf is None:
                continue
            stranded = [
                i.key
                for i in self.site.issues.values()
                if self.site.workflow_for(i).name == wf.name and i.status_id not in wf.statuses
            ]
            if stranded:
                self.problem(
                    f"{path}.transitions",
                    f"leaves issues {', '.join(stranded)} in statuses the new workflow does not have.",
                )
                continue
            self.site.workflows[wf.name] = wf

    def projects(self, entries: list[tuple[str, Mapping[str, Any]]]) -> None:
        for path, e in entries:
            key = _text(e, "key", path, self.problems, what="the project key, e.g. FIN")
            name = _text(e, "name", path, self.problems)
            if key is not None and not _PROJECT_KEY_RE.match(key):
                self.problem(
                    f"{path}.key",
                    f"must be 2-10 upper-case letters, digits or '_', starting with a letter, got {key!r}.",
                )
                continue
            type_key = str(e.get("type", "software"))
            if type_key not in PROJECT_TYPES:
                self.problem(f"{path}.type", f"must be one of {', '.join(PROJECT_TYPES)}, got {type_key!r}.")
                continue
            lead_email = str(e.get("lead") or self.default_user)
            lead = self.site.user_by_email(lead_email)
            if lead is None:
                self.problem(f"{path}.lead", f"names user {lead_email!r}, who is not defined in 'users'.")
                continue
            configs = self._project_issue_types(e, path)
            if key is None or name is None or configs is None:
                continue
            existing = self.site.project(key)
            pid = _numeric_id(self.site, "project", e, path, self.problems, existing.id if existing else None)
            if pid is None:
                continue
            if existing is not None:
                lost = [
                    i.key
                    for i in self.site.issues.values()
                    if i.project_id == existing.id and i.issue_type_id not in configs
                ]
                if lost:
                    self.problem(
                        f"{path}.issueTypes", f"drops the issue types of existing issues {', '.join(lost)}."
                    )
                    continue
                del self.site.projects[existing.id]
            self.site.projects[pid] = Project(
                pid,
                key,
                name,
                type_key,
                lead.account_id,
                str(e.get("description", "")),
                configs,
                existing.counter if existing else 0,
            )

    def _project_issue_types(self, e: Mapping[str, Any], path: str) -> dict[str, ProjectIssueType] | None:
        raw = e.get("issueTypes")
        if not isinstance(raw, list) or not raw:
            self.problem(
                f"{path}.issueTypes", "must list the project's issue types with their workflow and fields."
            )
            return None
        configs: dict[str, ProjectIssueType] = {}
        ok = True
        for n, item in enumerate(raw):
            ipath = f"{path}.issueTypes[{n}]"
            if not isinstance(item, Mapping):
                self.problem(ipath, "must be a mapping with 'name', 'workflow' and 'fields'.")
                ok = False
                continue
            it = self.site.issue_type(str(item.get("name")))
            if it is None:
                self.problem(
                    f"{ipath}.name",
                    f"names issue type {item.get('name')!r}, which is not defined in 'issueTypes'.",
                )
                ok = False
                continue
            workflow = item.get("workflow")
            if workflow not in self.site.workflows:
                self.problem(
                    f"{ipath}.workflow",
                    f"names workflow {workflow!r}, which is not defined; known: "
                    f"{', '.join(sorted(self.site.workflows))}.",
                )
                ok = False
                continue
            screen = item.get("fields", ["summary", "description"])
            required = item.get("required", ["summary"])
            if not isinstance(screen, list) or not isinstance(required, list):
                self.problem(f"{ipath}.fields", "and 'required' must be lists of field ids.")
                ok = False
                continue
            for fid in screen:
                f = self.site.fields.get(str(fid))
                if f is None or not f.settable or f.kind in ("project", "issuetype", "resolution"):
                    self.problem(
                        f"{ipath}.fields", f"names {fid!r}, which is not a field that can be on a screen."
                    )
                    ok = False
            for fid in required:
                if fid not in screen:
                    self.problem(f"{ipath}.required", f"names {fid!r}, which is not in 'fields'.")
                    ok = False
            configs[it.id] = ProjectIssueType(
                it.id, str(workflow), tuple(str(f) for f in screen), tuple(str(f) for f in required)
            )
        return configs if ok else None

    # -- issues --------------------------------------------------------------------------------------
    def issues(self, entries: list[tuple[str, Mapping[str, Any]]], service: IssueService) -> None:
        site = self.site
        for path, e in entries:
            before = len(self.problems)
            project = site.project(str(e.get("project")))
            if project is None:
                self.problem(f"{path}.project", f"names project {e.get('project')!r}, which is not defined.")
                continue
            it = site.issue_type(str(e.get("issuetype")))
            if it is None or it.id not in project.issue_types:
                self.problem(
                    f"{path}.issuetype",
                    f"names issue type {e.get('issuetype')!r}, which project {project.key} does not have.",
                )
                continue
            workflow = site.workflows[project.issue_types[it.id].workflow]
            status_id = None
            if e.get("status") is not None:
                st = site.status(str(e["status"]))
                if st is None or st.id not in workflow.statuses:
                    self.problem(
                        f"{path}.status",
                        f"names status {e['status']!r}, which is not in workflow '{workflow.name}'.",
                    )
                    continue
                status_id = st.id
            actors = {}
            for role in ("reporter", "creator"):
                email = e.get(role) or self.default_user
                user = site.user_by_email(str(email))
                if user is None:
                    self.problem(f"{path}.{role}", f"names user {email!r}, who is not defined in 'users'.")
                actors[role] = user.account_id if user else ""
            created = self._moment(e, "created", path, service)
            updated = self._moment(e, "updated", path, service) if e.get("updated") else created
            extra = e.get("fields", {})
            if not isinstance(extra, Mapping):
                self.problem(
                    f"{path}.fields", "must be a mapping of field id to value, as REST v2 takes them."
                )
                continue
            if len(self.problems) > before or created is None or updated is None:
                continue
            fields_in = {
                **{k: _plain(v) for k, v in extra.items()},
                "project": {"id": project.id},
                "issuetype": {"id": it.id},
            }
            if "summary" in e:
                fields_in["summary"] = e["summary"]
            try:
                result = service.create(
                    actors["creator"], {"fields": fields_in}, 2, at=created, status=status_id
                )
            except JiraError as exc:
                for fid, message in exc.errors.items():
                    self.problem(
                        f"{path}.{'summary' if fid == 'summary' and 'summary' in e else 'fields.' + fid}",
                        message,
                    )
                for message in exc.messages:
                    self.problem(path, message)
                continue
            issue = result.issue
            if "reporter" not in extra:
                issue.values["reporter"] = actors["reporter"]
            self._settle_resolution(issue, workflow)
            self._comments(issue, e.get("comments"), path, service)
            for n, link in enumerate(e.get("remoteLinks") or []):
                try:
                    service.put_remote_link(issue, link)
                except JiraError as exc:
                    self.problem(
                        f"{path}.remoteLinks[{n}]", "; ".join(exc.messages + list(exc.errors.values()))
                    )
            issue.updated = max([updated, *(c.created for c in issue.comments)])

    def _settle_resolution(self, issue: Any, workflow: Any) -> None:
        """An issue seeded straight into a done status is resolved, as the transition into it would have."""
        if self.site.statuses[issue.status_id].category.key != "done" or issue.values.get("resolution"):
            return
        names = [t.resolution for t in workflow.transitions if t.to == issue.status_id and t.resolution]
        resolution = self.site.resolution(names[0] if names else "Done")
        if resolution is not None:
            issue.values["resolution"] = resolution.id
            issue.resolution_date = issue.created

    def _moment(self, e: Mapping[str, Any], key: str, path: str, service: IssueService) -> datetime | None:
        raw = e.get(key)
        if raw is None:
            return service.now()
        if isinstance(raw, datetime):  # YAML reads some timestamps itself
            return truncate_ms(raw if raw.tzinfo else raw.replace(tzinfo=UTC))
        try:
            return truncate_ms(parse_ts(str(raw)))
        except ValueError:
            self.problem(
                f"{path}.{key}", f"must be a timestamp such as 2026-11-26T10:00:00.000+0000, got {raw!r}."
            )
            return None

    def _comments(self, issue: Any, raw: Any, path: str, service: IssueService) -> None:
        if raw is None:
            return
        if not isinstance(raw, list):
            self.problem(f"{path}.comments", "must be a list of {body, author, created}.")
            return
        for n, c in enumerate(raw):
            cpath = f"{path}.comments[{n}]"
            if not isinstance(c, Mapping) or not isinstance(c.get("body"), str):
                self.problem(f"{cpath}.body", "is required: the comment text (wiki markup).")
                continue
            author = self.site.user_by_email(str(c.get("author") or self.default_user))
            if author is None:
                self.problem(
                    f"{cpath}.author", f"names user {c.get('author')!r}, who is not defined in 'users'."
                )
                continue
            moment = self._moment(c, "created", cpath, service)
            if moment is None:
                continue
            comment, _events = service.add_comment(author.account_id, issue, {"body": c["body"]}, 2)
            comment.created = comment.updated = moment
            issue.updated = max(issue.updated, moment)
