"""One Jira site's data: configuration (users, statuses, workflows, fields, projects) and issues.

Lookups answer the way Jira does: by id or key (or name where Jira allows it), case-insensitive
where Jira is, and raise :class:`JiraError` with Jira's own not-found wording so handlers need no
error handling of their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .errors import ISSUE_NOT_FOUND, JiraError
from .fields import system_fields
from .model import (
    STATUS_CATEGORIES,
    FieldDef,
    Issue,
    IssueType,
    Priority,
    Project,
    ProjectIssueType,
    Resolution,
    Service,
    Status,
    StatusCategory,
    User,
    Workflow,
)


@dataclass
class Settings:
    """Site-wide switches a seed file can set."""

    time_zone: str = "UTC"
    legacy_search: bool = True
    dynamic_webhooks_for_users: bool = False
    title: str = "Jira"


@dataclass
class Site:
    settings: Settings = field(default_factory=Settings)
    users: dict[str, User] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    issue_types: dict[str, IssueType] = field(default_factory=dict)
    fields: dict[str, FieldDef] = field(default_factory=lambda: {f.id: f for f in system_fields()})
    priorities: dict[str, Priority] = field(default_factory=dict)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    issues: dict[str, Issue] = field(default_factory=dict)
    default_priority: str = "3"
    _ids: dict[str, int] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)

    # -- ids -----------------------------------------------------------------------------------------
    def next_id(self, kind: str, start: int = 10000) -> int:
        """Numeric ids per kind of record, as Jira allocates them: increasing, never reused."""
        value = self._ids.get(kind, start)
        self._ids[kind] = value + 1
        return value

    def reserve_id(self, kind: str, used: int) -> None:
        """Make sure ids given explicitly by a seed are never handed out again."""
        self._ids[kind] = max(self._ids.get(kind, 10000), used + 1)

    # -- users ---------------------------------------------------------------------------------------
    def user(self, account_id: str) -> User:
        try:
            return self.users[account_id]
        except KeyError:
            raise JiraError(404, "Specified user does not exist or you do not have access to it.") from None

    def user_by_email(self, email: str) -> User | None:
        for user in self.users.values():
            if user.email.lower() == email.lower():
                return user
        return None

    @staticmethod
    def account_id_for(email: str) -> str:
        """A stable Cloud-style account id, so the same email is the same person across runs."""
        digest = hashlib.sha1(email.lower().encode()).hexdigest()
        return f"712020:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    # -- configuration lookups -----------------------------------------------------------------------
    def category(self, key: str) -> StatusCategory:
        return STATUS_CATEGORIES[key]

    def status(self, id_or_name: str) -> Status | None:
        if id_or_name in self.statuses:
            return self.statuses[id_or_name]
        for status in self.statuses.values():
            if status.name.lower() == str(id_or_name).lower():
                return status
        return None

    def issue_type(self, id_or_name: str) -> IssueType | None:
        if id_or_name in self.issue_types:
            return self.issue_types[id_or_name]
        for it in self.issue_types.values():
            if it.name.lower() == str(id_or_name).lower():
                return it
        return None

    def project(self, id_or_key: str) -> Project | None:
        if id_or_key in self.projects:
            return self.projects[id_or_key]
        for project in self.projects.values():
            if project.key.upper() == str(id_or_key).upper():
                return project
        return None

    def project_or_404(self, id_or_key: str) -> Project:
        project = self.project(id_or_key)
        if project is None:
            raise JiraError(404, f"No project could be found with key '{id_or_key}'.")
        return project

    def project_by_name(self, name: str) -> Project | None:
        for project in self.projects.values():
            if project.name.lower() == name.lower():
                return project
        return None

    def priority(self, ref: Any) -> Priority | None:
        for p in self.priorities.values():
            if isinstance(ref, dict):
                if ("id" in ref and str(ref["id"]) == p.id) or ("name" in ref and ref["name"] == p.name):
                    return p
            elif str(ref) == p.id or str(ref).lower() == p.name.lower():
                return p
        return None

    def resolution(self, ref: Any) -> Resolution | None:
        for r in self.resolutions.values():
            if isinstance(ref, dict):
                if ("id" in ref and str(ref["id"]) == r.id) or ("name" in ref and ref["name"] == r.name):
                    return r
            elif str(ref) == r.id or str(ref).lower() == r.name.lower():
                return r
        return None

    def issue_config(self, issue: Issue) -> ProjectIssueType:
        return self.projects[issue.project_id].issue_types[issue.issue_type_id]

    def workflow_for(self, issue: Issue) -> Workflow:
        return self.workflows[self.issue_config(issue).workflow]

    def field_for_clause(self, name: str) -> FieldDef | None:
        """The field a JQL clause or a ``fields=`` entry names: id, clause name, or display name."""
        lowered = name.lower()
        if name in self.fields:
            return self.fields[name]
        for f in self.fields.values():
            if any(c.lower() == lowered for c in f.clause_names):
                return f
        for f in self.fields.values():
            if f.name.lower() == lowered:
                return f
        return None

    # -- issues --------------------------------------------------------------------------------------
    def add_issue(self, issue: Issue) -> None:
        self.issues[issue.id] = issue
        self._keys[issue.key.upper()] = issue.id

    def find_issue(self, id_or_key: str) -> Issue | None:
        if id_or_key in self.issues:
            return self.issues[id_or_key]
        issue_id = self._keys.get(str(id_or_key).upper())
        return self.issues.get(issue_id) if issue_id else None

    def issue(self, id_or_key: str) -> Issue:
        found = self.find_issue(id_or_key)
        if found is None:
            raise JiraError(404, ISSUE_NOT_FOUND)
        return found

    def issues_in_order(self) -> list[Issue]:
        return sorted(self.issues.values(), key=lambda i: int(i.id))

    def fields_for(self, project: Project, issue_type_id: str) -> list[FieldDef]:
        """The fields an issue of this type carries: system fields plus the custom fields in context."""
        config = project.issue_types[issue_type_id]
        return [f for f in self.fields.values() if not f.custom or f.id in config.screen]
