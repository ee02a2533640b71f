"""The records a Jira site is made of, as the emulator keeps them in memory.

These are storage shapes, not wire shapes: :mod:`render` turns them into Jira's JSON for the
caller's API version and time zone, so one stored issue can answer v2, v3 and webhooks alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import adf


@dataclass
class User:
    account_id: str
    email: str
    display_name: str
    time_zone: str = "UTC"
    account_type: str = "atlassian"
    active: bool = True
    token: str | None = None
    email_visible: bool = True  # the profile's "who can see your email": hidden from everyone else


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color: str


STATUS_CATEGORIES: dict[str, StatusCategory] = {
    c.key: c
    for c in (
        StatusCategory(1, "undefined", "No Category", "medium-gray"),
        StatusCategory(2, "new", "To Do", "blue-gray"),
        StatusCategory(4, "indeterminate", "In Progress", "yellow"),
        StatusCategory(3, "done", "Done", "green"),
    )
}


@dataclass
class Status:
    id: str
    name: str
    category: StatusCategory
    description: str = ""


@dataclass
class Transition:
    """One workflow edge. ``sources`` empty means global: available from every other status."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...] = ()
    resolution: str | None = None
    screen: tuple[str, ...] = ()

    @property
    def is_global(self) -> bool:
        return not self.sources


@dataclass
class Workflow:
    name: str
    initial: str
    transitions: list[Transition]
    statuses: list[str] = field(default_factory=list)

    def available(self, status_id: str) -> list[Transition]:
        """Transitions a user may take from ``status_id``, in workflow order."""
        return [
            t for t in self.transitions if (status_id in t.sources) or (t.is_global and t.to != status_id)
        ]


@dataclass
class IssueType:
    id: str
    name: str
    description: str = ""
    subtask: bool = False
    hierarchy_level: int = 0
    avatar_id: int = 10300
    entity_id: str = ""


@dataclass
class ProjectIssueType:
    """How one issue type behaves in one project: its workflow and its create/edit screen."""

    issue_type_id: str
    workflow: str
    screen: tuple[str, ...]
    required: tuple[str, ...] = ()


@dataclass
class Project:
    id: str
    key: str
    name: str
    type_key: str
    lead: str
    description: str = ""
    issue_types: dict[str, ProjectIssueType] = field(default_factory=dict)
    counter: int = 0


@dataclass(frozen=True)
class Option:
    id: str
    value: str


@dataclass
class FieldDef:
    """A field as ``GET /field`` describes it, plus what the emulator needs to validate values.

    ``kind`` picks validation and rendering: string, text (rich text: ADF in v3), number, date,
    datetime, option, options, labels, user, users, priority, resolution, services, url, or one of
    the read-only system kinds.
    """

    id: str
    name: str
    kind: str
    schema: dict[str, Any]
    custom: bool = False
    options: list[Option] = field(default_factory=list)
    clause_names: list[str] = field(default_factory=list)
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True
    settable: bool = True

    @property
    def custom_id(self) -> int | None:
        return int(self.id.rsplit("_", 1)[1]) if self.custom else None

    def option(self, ref: Any) -> Option | None:
        """Resolve ``{"id": ...}``/``{"value": ...}`` (or a bare id/value in JQL) to an option."""
        for opt in self.options:
            if isinstance(ref, dict):
                if (
                    ("id" in ref and str(ref["id"]) == opt.id)
                    or ("value" in ref and ref["value"] == opt.value)
                    or ("name" in ref and ref["name"] == opt.value)
                ):
                    return opt
            elif str(ref) == opt.id or str(ref).lower() == opt.value.lower():
                return opt
        return None


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str
    rank: int


@dataclass(frozen=True)
class Resolution:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Service:
    id: str
    name: str


class RichText:
    """A rich-text value kept in the form it was written; the other form is derived on read.

    Keeping the original means a client reading back through the API version it wrote with gets
    its own bytes back, while the other version sees Jira's conversion.
    """

    __slots__ = ("_adf", "_wiki")

    def __init__(self, wiki: str | None = None, doc: dict[str, Any] | None = None) -> None:
        self._wiki = wiki
        self._adf = doc

    def wiki(self) -> str:
        if self._wiki is None:
            self._wiki = adf.adf_to_wiki(self._adf)
        return self._wiki

    def adf(self) -> dict[str, Any]:
        if self._adf is None:
            self._adf = adf.wiki_to_adf(self._wiki or "")
        return self._adf

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RichText) and self.wiki() == other.wiki()

    def __hash__(self) -> int:
        return hash(self.wiki())

    def __deepcopy__(self, memo: dict[int, Any]) -> RichText:
        import copy

        return RichText(self._wiki, copy.deepcopy(self._adf, memo))


@dataclass
class Comment:
    id: str
    author: str
    body: RichText
    created: datetime
    updated: datetime
    update_author: str
    internal: bool = False
    visibility: dict[str, Any] | None = None


@dataclass
class RemoteLink:
    id: int
    global_id: str | None
    application: dict[str, Any] | None
    relationship: str | None
    object: dict[str, Any]


@dataclass
class ChangeItem:
    field: str
    fieldtype: str
    field_id: str
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None
    from_account: str | None = None
    to_account: str | None = None


@dataclass
class ChangeGroup:
    id: str
    author: str
    created: datetime
    items: list[ChangeItem]


@dataclass
class Issue:
    id: str
    key: str
    project_id: str
    issue_type_id: str
    status_id: str
    created: datetime
    updated: datetime
    creator: str
    values: dict[str, Any] = field(default_factory=dict)
    status_changed: datetime | None = None
    resolution_date: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    remote_links: list[RemoteLink] = field(default_factory=list)
    changelog: list[ChangeGroup] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])
