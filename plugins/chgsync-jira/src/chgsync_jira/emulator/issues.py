"""What happens to issues: create, edit, transition, comment, remote links.

Each write validates the whole request first and reports every bad field at once (as Jira does),
then applies it, records a changelog entry for what actually changed and returns the events a
webhook subscriber would receive. Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import adf
from .errors import JiraError, cannot_set, field_errors
from .fields import ARRAY_KINDS, FieldValueError, change_strings, is_empty, parse_value
from .model import ChangeGroup, ChangeItem, Comment, FieldDef, Issue, Project, RemoteLink, RichText
from .store import Site
from .timefmt import truncate_ms

SUMMARY_MAX = 255
ALWAYS_ON_SCREEN = ("project", "issuetype")


@dataclass
class IssueEvent:
    """Something a webhook reports. ``name`` is the ``webhookEvent``."""

    name: str
    type_name: str | None
    issue_id: str
    actor: str
    at: datetime
    changelog: ChangeGroup | None = None
    comment: Comment | None = None


@dataclass
class WriteResult:
    issue: Issue
    events: list[IssueEvent] = field(default_factory=list)


def _as_object(body: Any, what: str = "request body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, f"The {what} must be a JSON object.")
    return body


class IssueService:
    def __init__(self, site: Site, clock: Callable[[], datetime]) -> None:
        self.site = site
        self._clock = clock

    def now(self) -> datetime:
        return truncate_ms(self._clock())

    # -- create --------------------------------------------------------------------------------------
    def create(
        self, actor: str, body: Any, version: int, *, at: datetime | None = None, status: str | None = None
    ) -> WriteResult:
        body = _as_object(body)
        fields_in = body.get("fields", {})
        update_in = body.get("update", {})
        if not isinstance(fields_in, dict):
            raise field_errors({"fields": "data was not an object"})
        if not isinstance(update_in, dict):
            raise field_errors({"update": "data was not an object"})
        site = self.site
        project = self._resolve_project(fields_in.get("project"))
        issue_type_id = self._resolve_issue_type(project, fields_in.get("issuetype"))
        if project is None:
            raise field_errors({"project": "Specify a valid project ID or key"})
        if issue_type_id is None:
            raise field_errors({"issuetype": "Specify a valid issue type"})
        config = project.issue_types[issue_type_id]
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for fid, raw in fields_in.items():
            if fid in ALWAYS_ON_SCREEN:
                continue
            f = self._settable(fid, config.screen)
            if f is None:
                errors[fid] = cannot_set(fid)
                continue
            try:
                values[fid] = parse_value(site, f, raw, version)
            except FieldValueError as exc:
                errors[fid] = str(exc)
        comments = self._apply_updates(update_in, values, fields_in, config.screen, version, errors)
        self._check_values(values, config.required, errors, creating=True)
        if errors:
            raise field_errors(errors)
        moment = at or self.now()
        values.setdefault("reporter", actor)
        values.setdefault("priority", site.default_priority)
        workflow = site.workflows[config.workflow]
        project.counter += 1
        issue = Issue(
            id=str(site.next_id("issue")),
            key=f"{project.key}-{project.counter}",
            project_id=project.id,
            issue_type_id=issue_type_id,
            status_id=status or workflow.initial,
            created=moment,
            updated=moment,
            creator=actor,
            values={k: v for k, v in values.items() if not is_empty(v) or k == "labels"},
            status_changed=moment,
        )
        site.add_issue(issue)
        created_items = [
            self._item(site.fields[k], None, v)
            for k, v in issue.values.items()
            if not is_empty(v) and k in site.fields
        ]
        created_items.append(self._status_item(None, issue.status_id))
        group = ChangeGroup(str(site.next_id("changelog")), actor, moment, [i for i in created_items if i])
        result = WriteResult(
            issue,
            [IssueEvent("jira:issue_created", "issue_created", issue.id, actor, moment, changelog=group)],
        )
        for comment_body in comments:
            result.events.extend(self._add_comment(actor, issue, comment_body, moment, version=version))
        return result

    def _resolve_project(self, ref: Any) -> Project | None:
        if isinstance(ref, dict):
            key = ref.get("id", ref.get("key"))
            return self.site.project(str(key)) if key is not None else None
        if isinstance(ref, str | int) and not isinstance(ref, bool):
            return self.site.project(str(ref))
        return None

    def _resolve_issue_type(self, project: Project | None, ref: Any) -> str | None:
        if project is None or not isinstance(ref, dict):
            return None
        if "id" in ref:
            candidate = self.site.issue_types.get(str(ref["id"]))
        elif "name" in ref:
            candidate = self.site.issue_type(str(ref["name"]))
        else:
            return None
        if candidate is None or candidate.id not in project.issue_types:
            return None
        return candidate.id

    def _settable(self, fid: str, screen: tuple[str, ...]) -> FieldDef | None:
        f = self.site.fields.get(fid)
        if f is None or not f.settable or f.kind == "resolution" or fid not in screen:
            return None
        return f

    def _check_values(
        self, values: Mapping[str, Any], required: tuple[str, ...], errors: dict[str, str], *, creating: bool
    ) -> None:
        if "summary" in values or creating:
            summary = values.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors.setdefault("summary", "You must specify a summary of the issue.")
            elif len(summary) > SUMMARY_MAX:
                errors.setdefault("summary", f"Summary must be less than {SUMMARY_MAX} characters.")
            elif "\n" in summary or "\r" in summary:
                errors.setdefault("summary", "The summary is invalid because it contains newline characters.")
        for fid in required:
            if fid == "summary" or fid in ALWAYS_ON_SCREEN:
                continue
            if (creating or fid in values) and is_empty(values.get(fid)):
                errors.setdefault(fid, f"{self.site.fields[fid].name} is required.")

    def _apply_updates(
        self,
        update_in: Mapping[str, Any],
        values: dict[str, Any],
        fields_in: Mapping[str, Any],
        screen: tuple[str, ...],
        version: int,
        errors: dict[str, str],
        current: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Apply ``update`` operations onto ``values``; returns comment bodies to add afterwards."""
        comments: list[Any] = []
        for fid, ops in update_in.items():
            if fid == "comment":
                if not isinstance(ops, list):
                    errors["comment"] = "data was not an array"
                    continue
                for op in ops:
                    if isinstance(op, dict) and isinstance(op.get("add"), dict):
                        comments.append(op["add"])
                    else:
                        errors["comment"] = "Comment operations must be 'add' with a comment object."
                continue
            if fid in fields_in:
                errors[fid] = f"Field '{fid}' cannot be specified in both 'fields' and 'update'."
                continue
            f = self._settable(fid, screen)
            if f is None:
                errors[fid] = cannot_set(fid)
                continue
            if not isinstance(ops, list):
                errors[fid] = "data was not an array"
                continue
            value = values.get(fid, (current or {}).get(fid))
            try:
                for op in ops:
                    value = self._operate(f, value, op, version)
            except FieldValueError as exc:
                errors[fid] = str(exc)
                continue
            values[fid] = value
        return comments

    def _operate(self, f: FieldDef, value: Any, op: Any, version: int) -> Any:
        if not isinstance(op, dict) or len(op) != 1:
            raise FieldValueError(
                "Each operation must be an object with exactly one of 'set', 'add', 'remove'."
            )
        ((verb, arg),) = op.items()
        if verb == "set":
            return parse_value(self.site, f, arg, version)
        if verb in ("add", "remove") and f.kind in ARRAY_KINDS:
            item = parse_value(self.site, f, [arg], version)[0]
            items = list(value or [])
            if verb == "add" and item not in items:
                items.append(item)
            elif verb == "remove" and item in items:
                items.remove(item)
            return items
        raise FieldValueError(f"The operation '{verb}' is not supported by field '{f.id}'.")

    # -- edit ----------------------------------------------------------------------------------------
    def edit(self, actor: str, issue: Issue, body: Any, version: int) -> WriteResult:
        body = _as_object(body)
        fields_in = body.get("fields", {}) or {}
        update_in = body.get("update", {}) or {}
        if not isinstance(fields_in, dict):
            raise field_errors({"fields": "data was not an object"})
        if not isinstance(update_in, dict):
            raise field_errors({"update": "data was not an object"})
        config = self.site.issue_config(issue)
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for fid, raw in fields_in.items():
            f = self._settable(fid, config.screen)
            if f is None or fid in ALWAYS_ON_SCREEN:
                errors[fid] = cannot_set(fid)
                continue
            try:
                values[fid] = parse_value(self.site, f, raw, version)
            except FieldValueError as exc:
                errors[fid] = str(exc)
        comments = self._apply_updates(
            update_in, values, fields_in, config.screen, version, errors, current=issue.values
        )
        self._check_values(values, config.required, errors, creating=False)
        if errors:
            raise field_errors(errors)
        moment = self.now()
        items = self._assign(issue, values)
        result = WriteResult(issue)
        if items:
            issue.updated = moment
            group = ChangeGroup(str(self.site.next_id("changelog")), actor, moment, items)
            issue.changelog.append(group)
            result.events.append(
                IssueEvent("jira:issue_updated", "issue_updated", issue.id, actor, moment, changelog=group)
            )
        for comment_body in comments:
            result.events.extend(self._add_comment(actor, issue, comment_body, moment, version=version))
        return result

    def assign(self, actor: str, issue: Issue, body: Any) -> WriteResult:
        """``PUT /issue/{key}/assignee``: works whatever the edit screen holds, as in Jira."""
        body = _as_object(body)
        if "accountId" not in body:
            raise field_errors({"assignee": "Specify the assignee by 'accountId' (null to unassign)."})
        account = body["accountId"]
        if account is not None and (not isinstance(account, str) or account not in self.site.users):
            raise field_errors({"assignee": f"User '{account}' cannot be assigned issues."})
        moment = self.now()
        items = self._assign(issue, {"assignee": account})
        result = WriteResult(issue)
        if items:
            issue.updated = moment
            group = ChangeGroup(str(self.site.next_id("changelog")), actor, moment, items)
            issue.changelog.append(group)
            result.events.append(
                IssueEvent("jira:issue_updated", "issue_assigned", issue.id, actor, moment, changelog=group)
            )
        return result

    def _assign(self, issue: Issue, values: Mapping[str, Any]) -> list[ChangeItem]:
        items: list[ChangeItem] = []
        for fid, new in values.items():
            old = issue.values.get(fid)
            if _same(old, new):
                continue
            if is_empty(new) and fid != "labels":
                issue.values.pop(fid, None)
            else:
                issue.values[fid] = new
            item = self._item(self.site.fields[fid], old, new)
            if item is not None:
                items.append(item)
        return items

    def _item(self, f: FieldDef, old: Any, new: Any) -> ChangeItem | None:
        if _same(old, new):
            return None
        from_, from_string = change_strings(self.site, f, old)
        to, to_string = change_strings(self.site, f, new)
        item = ChangeItem(
            f.id if not f.custom else f.name,
            "custom" if f.custom else "jira",
            f.id,
            from_,
            from_string,
            to,
            to_string,
        )
        if f.kind == "user":
            item.from_account, item.to_account = old, new
        return item

    def _status_item(self, old: str | None, new: str) -> ChangeItem:
        statuses = self.site.statuses
        return ChangeItem(
            "status", "jira", "status", old, statuses[old].name if old else None, new, statuses[new].name
        )

    # -- transitions ---------------------------------------------------------------------------------
    def transition(self, actor: str, issue: Issue, body: Any, version: int) -> WriteResult:
        body = _as_object(body)
        ref = body.get("transition")
        if not isinstance(ref, dict) or (ref.get("id") is None and ref.get("name") is None):
            raise JiraError(400, "Missing 'transition' identifier")
        raw_id = ref.get("id")
        if raw_id is None or isinstance(raw_id, bool) or not str(raw_id).strip().lstrip("-").isdigit():
            raise JiraError(400, "'transition' identifier must be an integer")
        tid = str(int(str(raw_id).strip()))
        workflow = self.site.workflow_for(issue)
        chosen = next((t for t in workflow.available(issue.status_id) if t.id == tid), None)
        if chosen is None:
            raise JiraError(400, f"Transition id '{tid}' is not valid for this issue.")
        fields_in = body.get("fields") or {}
        update_in = body.get("update") or {}
        if not isinstance(fields_in, dict) or not isinstance(update_in, dict):
            raise JiraError(400, "'fields' and 'update' must be JSON objects.")
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for fid, raw in fields_in.items():
            f = self.site.fields.get(fid)
            if f is None or fid not in chosen.screen:
                errors[fid] = cannot_set(fid)
                continue
            try:
                values[fid] = parse_value(self.site, f, raw, version)
            except FieldValueError as exc:
                errors[fid] = str(exc)
        comments = self._apply_updates(
            {k: v for k, v in update_in.items() if k == "comment"},
            values,
            fields_in,
            chosen.screen,
            version,
            errors,
        )
        for fid in update_in:
            if fid != "comment":
                errors[fid] = cannot_set(fid)
        if errors:
            raise field_errors(errors)
        moment = self.now()
        target = self.site.statuses[chosen.to]
        old_status = self.site.statuses[issue.status_id]
        items: list[ChangeItem] = []
        resolution = values.pop("resolution", None)
        if target.category.key == "done":
            configured = self.site.resolution(chosen.resolution) if chosen.resolution else None
            resolution = resolution or (configured.id if configured else None)
        else:
            resolution = None
        old_resolution = issue.values.get("resolution")
        if resolution != old_resolution:
            item = self._item(self.site.fields["resolution"], old_resolution, resolution)
            if item:
                items.append(item)
            if resolution is None:
                issue.values.pop("resolution", None)
                issue.resolution_date = None
            else:
                issue.values["resolution"] = resolution
                issue.resolution_date = moment
        items.extend(self._assign(issue, values))
        if chosen.to != issue.status_id:
            items.append(self._status_item(issue.status_id, chosen.to))
            if target.category.key != old_status.category.key:
                issue.status_changed = moment
            issue.status_id = chosen.to
        result = WriteResult(issue)
        added: list[IssueEvent] = []
        for comment_body in comments:
            added.extend(
                self._add_comment(actor, issue, comment_body, moment, version=version, with_issue_event=False)
            )
        issue.updated = moment
        group = ChangeGroup(str(self.site.next_id("changelog")), actor, moment, items) if items else None
        if group is not None:
            issue.changelog.append(group)
        comment = added[0].comment if added else None
        result.events.append(
            IssueEvent(
                "jira:issue_updated",
                "issue_generic",
                issue.id,
                actor,
                moment,
                changelog=group,
                comment=comment,
            )
        )
        result.events.extend(added)
        return result

    # -- comments ------------------------------------------------------------------------------------
    def add_comment(
        self, actor: str, issue: Issue, body: Any, version: int
    ) -> tuple[Comment, list[IssueEvent]]:
        events = self._add_comment(actor, issue, _as_object(body), self.now(), version=version)
        comment = events[0].comment
        assert comment is not None
        return comment, events

    def _add_comment(
        self,
        actor: str,
        issue: Issue,
        body: Any,
        moment: datetime,
        *,
        version: int = 2,
        with_issue_event: bool = True,
    ) -> list[IssueEvent]:
        if not isinstance(body, dict):
            raise field_errors({"comment": "Comment body can not be empty!"})
        raw = body.get("body")
        if version >= 3 and not isinstance(raw, str):
            if not adf.is_document(raw):
                raise field_errors({"comment": "Comment body is not a valid Atlassian Document."})
            text = RichText(doc=raw)
        elif isinstance(raw, str) and version < 3:
            text = RichText(wiki=raw)
        elif version >= 3 and isinstance(raw, str):
            raise field_errors(
                {
                    "comment": "Operation value must be an Atlassian Document (see the Atlassian "
                    "Document Format)"
                }
            )
        else:
            raise field_errors({"comment": "Comment body can not be empty!"})
        if not text.wiki().strip():
            raise field_errors({"comment": "Comment body can not be empty!"})
        visibility = body.get("visibility")
        if visibility is not None and (
            not isinstance(visibility, dict)
            or visibility.get("type") not in ("group", "role")
            or not isinstance(visibility.get("value", visibility.get("identifier")), str)
        ):
            raise field_errors(
                {"commentLevel": "You are currently not a member of the project role or group."}
            )
        internal = False
        for prop in body.get("properties") or []:
            if isinstance(prop, dict) and prop.get("key") == "sd.public.comment":
                internal = bool((prop.get("value") or {}).get("internal"))
        comment = Comment(
            str(self.site.next_id("comment")),
            actor,
            text,
            moment,
            moment,
            actor,
            internal,
            dict(visibility) if visibility else None,
        )
        issue.comments.append(comment)
        issue.updated = moment
        events = [IssueEvent("comment_created", None, issue.id, actor, moment, comment=comment)]
        if with_issue_event:
            events.append(
                IssueEvent("jira:issue_updated", "issue_commented", issue.id, actor, moment, comment=comment)
            )
        return events

    # -- remote links --------------------------------------------------------------------------------
    def put_remote_link(self, issue: Issue, body: Any, link_id: int | None = None) -> tuple[RemoteLink, bool]:
        """Create, or update in place when ``globalId`` (or ``link_id``) names an existing link."""
        body = _as_object(body)
        obj = body.get("object")
        if not isinstance(obj, dict):
            raise field_errors({"object": "'object' is required."})
        errors = {}
        for key in ("url", "title"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                errors[key] = f"'{key}' is required."
        for key in ("globalId", "relationship"):
            if body.get(key) is not None and not isinstance(body[key], str):
                errors[key] = "Operation value must be a string"
        if body.get("application") is not None and not isinstance(body["application"], dict):
            errors["application"] = "data was not an object"
        if errors:
            raise field_errors(errors)
        global_id = body.get("globalId")
        existing = None
        if link_id is not None:
            existing = next((lk for lk in issue.remote_links if lk.id == link_id), None)
            if existing is None:
                raise JiraError(404, f"No remote link with id '{link_id}' exists on issue '{issue.key}'.")
        elif global_id is not None:
            existing = next((lk for lk in issue.remote_links if lk.global_id == global_id), None)
        if existing is not None:
            existing.global_id = global_id if global_id is not None or link_id is None else existing.global_id
            existing.application = body.get("application")
            existing.relationship = body.get("relationship")
            existing.object = dict(obj)
            return existing, False
        link = RemoteLink(
            self.site.next_id("remotelink"),
            global_id,
            body.get("application"),
            body.get("relationship"),
            dict(obj),
        )
        issue.remote_links.append(link)
        return link, True

    def remote_link(self, issue: Issue, link_id: str) -> RemoteLink:
        for link in issue.remote_links:
            if str(link.id) == link_id:
                return link
        raise JiraError(404, f"No remote link with id '{link_id}' exists on issue '{issue.key}'.")


def _same(old: Any, new: Any) -> bool:
    if is_empty(old) and is_empty(new):
        return True
    return bool(old == new)
