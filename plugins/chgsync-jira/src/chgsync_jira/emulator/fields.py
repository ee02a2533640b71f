"""Field definitions and field values: what a client may write, how it is stored, how it reads back.

Validation messages are Jira Cloud's where known (``Operation value must be a string``,
``Specify a valid 'id' or 'name' for Change risk``, ``data was not an array``); they are keyed by
field id in the error envelope, exactly where clients look for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from . import adf
from .model import FieldDef, Option, RichText
from .timefmt import format_ts, parse_date, parse_ts, truncate_ms

if TYPE_CHECKING:
    from .store import Site

CUSTOM_PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"

# seed/defaults "type" -> (kind, schema type, schema items, custom type key, typed JQL alias)
CUSTOM_TYPES: dict[str, tuple[str, str, str | None, str, str | None]] = {
    "textfield": ("string", "string", None, CUSTOM_PREFIX + "textfield", "Short text"),
    "textarea": ("text", "string", None, CUSTOM_PREFIX + "textarea", "Paragraph"),
    "url": ("url", "string", None, CUSTOM_PREFIX + "url", "URL Field"),
    "select": ("option", "option", None, CUSTOM_PREFIX + "select", "Dropdown"),
    "multiselect": ("options", "array", "option", CUSTOM_PREFIX + "multiselect", None),
    "float": ("number", "number", None, CUSTOM_PREFIX + "float", "Number"),
    "storypoints": ("number", "number", None, "com.pyxis.greenhopper.jira:jsw-story-points", None),
    "datepicker": ("date", "date", None, CUSTOM_PREFIX + "datepicker", "Date"),
    "datetime": ("datetime", "datetime", None, CUSTOM_PREFIX + "datetime", "Time stamp"),
    "userpicker": ("user", "user", None, CUSTOM_PREFIX + "userpicker", "User Picker (single user)"),
    "multiuserpicker": (
        "users",
        "array",
        "user",
        CUSTOM_PREFIX + "multiuserpicker",
        "User Picker (multiple users)",
    ),
    "labels": ("labels", "array", "string", CUSTOM_PREFIX + "labels", "Labels"),
    "services": (
        "services",
        "array",
        "service-entity-field-cftype",
        "com.atlassian.jira.plugins.service-entity:service-entity-field-cftype",
        None,
    ),
}
CUSTOM_TYPE_ALIASES = {
    "number": "float",
    "date": "datepicker",
    "user": "userpicker",
    "users": "multiuserpicker",
    "text": "textfield",
    "paragraph": "textarea",
    "service": "services",
}

ARRAY_KINDS = frozenset({"options", "labels", "users", "services"})
DATE_FORMAT_HINT = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"


def _system(
    fid: str,
    name: str,
    kind: str,
    schema_type: str | None,
    clauses: list[str],
    *,
    items: str | None = None,
    navigable: bool = True,
    orderable: bool = True,
    searchable: bool = True,
    settable: bool = True,
) -> FieldDef:
    schema: dict[str, Any] = {}
    if schema_type is not None:
        schema = {"type": schema_type, "system": fid}
        if items:
            schema = {"type": schema_type, "items": items, "system": fid}
    return FieldDef(
        fid,
        name,
        kind,
        schema,
        custom=False,
        clause_names=clauses,
        navigable=navigable,
        orderable=orderable,
        searchable=searchable,
        settable=settable,
    )


def system_fields() -> list[FieldDef]:
    """The system fields every Cloud site has, limited to those the emulator models."""
    return [
        _system("issuekey", "Key", "key", None, ["id", "issue", "issuekey", "key"], settable=False),
        _system("summary", "Summary", "string", "string", ["summary"]),
        _system("description", "Description", "text", "string", ["description"]),
        _system("environment", "Environment", "text", "string", ["environment"]),
        _system("issuetype", "Issue Type", "issuetype", "issuetype", ["issuetype", "type"]),
        _system("project", "Project", "project", "project", ["project"]),
        _system("status", "Status", "status", "status", ["status"], settable=False),
        _system(
            "statusCategory",
            "Status Category",
            "statusCategory",
            "statusCategory",
            ["statusCategory"],
            orderable=False,
            settable=False,
        ),
        _system("priority", "Priority", "priority", "priority", ["priority"]),
        _system("resolution", "Resolution", "resolution", "resolution", ["resolution"]),
        _system(
            "resolutiondate",
            "Resolved",
            "datetime_ro",
            "datetime",
            ["resolutiondate", "resolved"],
            settable=False,
        ),
        _system("labels", "Labels", "labels", "array", ["labels"], items="string"),
        _system("assignee", "Assignee", "user", "user", ["assignee"]),
        _system("reporter", "Reporter", "user", "user", ["reporter"]),
        _system("creator", "Creator", "user_ro", "user", ["creator"], settable=False),
        _system("created", "Created", "datetime_ro", "datetime", ["created", "createdDate"], settable=False),
        _system("updated", "Updated", "datetime_ro", "datetime", ["updated", "updatedDate"], settable=False),
        _system(
            "statuscategorychangedate",
            "Status Category Changed",
            "datetime_ro",
            "datetime",
            ["statusCategoryChangedDate"],
            settable=False,
        ),
        _system("duedate", "Due date", "date", "date", ["due", "duedate"]),
        _system("lastViewed", "Last Viewed", "datetime_ro", "datetime", ["lastViewed"], settable=False),
        _system("watches", "Watchers", "watches", "watches", ["watchers"], settable=False, orderable=False),
        _system("votes", "Votes", "votes", "votes", ["votes"], settable=False),
        _system(
            "issuelinks",
            "Linked Issues",
            "links",
            "array",
            ["issueLink"],
            items="issuelinks",
            settable=False,
            orderable=False,
        ),
        _system(
            "subtasks",
            "Sub-tasks",
            "links",
            "array",
            ["subtasks"],
            items="issuelinks",
            settable=False,
            orderable=False,
        ),
        _system(
            "comment",
            "Comment",
            "comment",
            "comments-page",
            ["comment"],
            navigable=False,
            orderable=False,
            settable=False,
        ),
    ]


def custom_field(fid: str, name: str, type_name: str, options: list[Option]) -> FieldDef:
    """A custom field of a type named as in the seed format (``select``, ``datetime``, ...)."""
    type_name = CUSTOM_TYPE_ALIASES.get(type_name, type_name)
    kind, schema_type, items, custom_key, alias = CUSTOM_TYPES[type_name]
    number = int(fid.rsplit("_", 1)[1])
    schema: dict[str, Any] = {"type": schema_type}
    if items:
        schema["items"] = items
    schema.update({"custom": custom_key, "customId": number})
    clauses = [f"cf[{number}]", name] + ([f"{name}[{alias}]"] if alias else [])
    return FieldDef(
        fid,
        name,
        kind,
        schema,
        custom=True,
        options=list(options),
        clause_names=clauses,
        orderable=kind not in ARRAY_KINDS,
    )


# -- reading client input ------------------------------------------------------------------------------
class FieldValueError(ValueError):
    """A value Jira would refuse; the message is what goes into ``errors[field id]``."""


def parse_value(site: Site, f: FieldDef, raw: Any, version: int) -> Any:
    """Turn what a client sent for ``f`` into the stored value, or raise :class:`FieldValueError`."""
    kind = f.kind
    if kind in ARRAY_KINDS:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise FieldValueError("data was not an array")
        values = [_parse_one(site, f, item, version) for item in raw]
        return list(dict.fromkeys(values))
    if raw is None:
        return None
    return _parse_one(site, f, raw, version)


def _parse_one(site: Site, f: FieldDef, raw: Any, version: int) -> Any:
    kind = f.kind
    if kind in ("string", "url"):
        if not isinstance(raw, str):
            raise FieldValueError("Operation value must be a string")
        return raw if raw != "" or f.id == "summary" else None
    if kind == "text":
        if version >= 3:
            if not adf.is_document(raw):
                raise FieldValueError(
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                )
            return RichText(doc=raw) if raw.get("content") else None
        if not isinstance(raw, str):
            raise FieldValueError("Operation value must be a string")
        return RichText(wiki=raw) if raw else None
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FieldValueError("Operation value must be a number.")
        return float(raw)
    if kind == "date":
        try:
            return parse_date(raw) if isinstance(raw, str) else _fail(raw)
        except ValueError:
            raise FieldValueError(f"Error parsing date string: {raw}") from None
    if kind == "datetime":
        try:
            return truncate_ms(parse_ts(raw)) if isinstance(raw, str) else _fail(raw)
        except ValueError:
            raise FieldValueError(
                f'Invalid date format. Please enter the date in the format "{DATE_FORMAT_HINT}".'
            ) from None
    if kind in ("option", "options"):
        opt = f.option(raw) if isinstance(raw, dict) else None
        if opt is None:
            raise FieldValueError(f"Specify a valid 'id' or 'name' for {f.name}")
        return opt.id
    if kind == "labels":
        if not isinstance(raw, str):
            raise FieldValueError("Operation value must be a string")
        if " " in raw or not raw:
            raise FieldValueError(f"The label '{raw}' contains spaces which is invalid.")
        return raw
    if kind in ("user", "users"):
        if not isinstance(raw, dict):
            raise FieldValueError("data was not an object")
        account = raw.get("accountId")
        if not isinstance(account, str):
            raise FieldValueError(
                f"Specify a valid value for {f.name}: users are identified by 'accountId' on Jira Cloud."
            )
        if account not in site.users:
            raise FieldValueError(f"The user with account ID '{account}' does not exist.")
        return account
    if kind == "priority":
        prio = site.priority(raw) if isinstance(raw, dict) else None
        if prio is None:
            raise FieldValueError("Specify a valid 'id' or 'name' for Priority")
        return prio.id
    if kind == "resolution":
        res = site.resolution(raw) if isinstance(raw, dict) else None
        if res is None:
            raise FieldValueError("Specify a valid 'id' or 'name' for Resolution")
        return res.id
    if kind == "services":
        sid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(sid, str) or sid not in site.services:
            raise FieldValueError(f"Specify a valid 'id' for {f.name}")
        return sid
    raise FieldValueError(f"Field '{f.id}' cannot be set. It is not on the appropriate screen, or unknown.")


def _fail(raw: Any) -> Any:
    raise ValueError(raw)


def is_empty(value: Any) -> bool:
    return value is None or value == [] or value == ""


# -- rendering -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """Who reads and through which door: decides URLs, rich-text format and time zone."""

    base_url: str
    version: int
    tz: tzinfo

    @property
    def api(self) -> str:
        return f"{self.base_url}/rest/api/{self.version}"


def render_value(site: Site, f: FieldDef, value: Any, view: View) -> Any:
    from . import render

    kind = f.kind
    if kind in ARRAY_KINDS:
        items = [render_value(site, _single(f), v, view) for v in (value or [])]
        if kind == "labels":
            return items
        return items or None
    if value is None:
        return None
    if kind in ("string", "url"):
        return value
    if kind == "text":
        return value.adf() if view.version >= 3 else value.wiki()
    if kind == "number":
        return float(value)
    if kind == "date":
        return value.isoformat()
    if kind in ("datetime", "datetime_ro"):
        return format_ts(value, view.tz)
    if kind == "option":
        opt = next((o for o in f.options if o.id == value), None)
        if opt is None:
            return None
        return {"self": f"{view.api}/customFieldOption/{opt.id}", "value": opt.value, "id": opt.id}
    if kind in ("user", "user_ro"):
        return render.user(site.users[value], view) if value in site.users else None
    if kind == "priority":
        return render.priority(site.priorities[value], view)
    if kind == "resolution":
        return render.resolution(site.resolutions[value], view)
    if kind == "labels_item":
        return value
    if kind == "service_item":
        svc = site.services.get(value)
        return {"id": value, "name": svc.name if svc else value}
    return value


def _single(f: FieldDef) -> FieldDef:
    item_kind = {"options": "option", "labels": "labels_item", "users": "user", "services": "service_item"}[
        f.kind
    ]
    return FieldDef(f.id, f.name, item_kind, f.schema, f.custom, f.options)


# -- changelog -----------------------------------------------------------------------------------------
def change_strings(site: Site, f: FieldDef, value: Any) -> tuple[str | None, str | None]:
    """``(from/to, fromString/toString)`` for a changelog item: raw ids where Jira has them, text always."""
    kind = f.kind
    if is_empty(value):
        return None, None
    if kind in ("string", "url"):
        return None, value
    if kind == "text":
        return None, value.wiki()
    if kind == "number":
        return None, _number_text(value)
    if kind == "date":
        return value.isoformat(), f"{value.isoformat()} 00:00:00.0"
    if kind == "datetime":
        text = value.strftime("%Y-%m-%dT%H:%M:%S%z")
        return text, text
    if kind == "option":
        opt = next((o for o in f.options if o.id == value), None)
        return value, opt.value if opt else value
    if kind == "options":
        names = [next((o.value for o in f.options if o.id == v), v) for v in value]
        return None, ", ".join(names)
    if kind == "labels":
        return None, " ".join(value)
    if kind == "user":
        user = site.users.get(value)
        return value, user.display_name if user else value
    if kind == "users":
        return ", ".join(value), ", ".join(site.users[v].display_name for v in value if v in site.users)
    if kind == "priority":
        return value, site.priorities[value].name
    if kind == "resolution":
        return value, site.resolutions[value].name
    if kind == "services":
        return None, ", ".join(site.services[v].name for v in value if v in site.services)
    return None, str(value)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def search_text(value: Any) -> str:
    """The text ``~`` matches against."""
    if isinstance(value, RichText):
        return value.wiki()
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)
