"""How a record is rendered for ``sysparm_display_value`` false / true / all.

Value mode gives raw strings, references as ``{"link", "value"}`` and an empty reference as ``""``;
display mode gives labels, names and dates in the API user's zone (references keep a ``link`` but
lose the sys_id); ``all`` gives both. ``sysparm_exclude_reference_link`` collapses references to the
bare value (or display string). Journals read ``""`` as values and as their whole history, newest
first, as display values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal

from .schema import Field, Table
from .store import Record, Store
from .times import display_datetime

DisplayMode = Literal["false", "true", "all"]

#: Journal labels as the activity stream shows them.
JOURNAL_LABELS = {"work_notes": "Work notes", "comments": "Additional comments"}


def parse_display_mode(raw: str | None) -> DisplayMode:
    """``true``/``all`` in any case; anything else is the default, as the platform parses it."""
    value = (raw or "").strip().lower()
    if value == "true":
        return "true"
    if value == "all":
        return "all"
    return "false"


def parse_bool(raw: str | None) -> bool:
    """The Table API's boolean parameters: ``true`` in any case, everything else false."""
    return (raw or "").strip().lower() == "true"


@dataclass
class Renderer:
    store: Store
    base_url: str
    mode: DisplayMode = "false"
    exclude_links: bool = False
    tz: tzinfo | None = None

    def record(self, table: Table, record: Record, fields: list[str] | None = None) -> dict[str, Any]:
        """The record as the Table API returns it; ``fields`` are validated paths (unknown ones dropped)."""
        names = fields if fields is not None else list(table.fields)
        out: dict[str, Any] = {}
        for path in names:
            resolved = self.walk(table, record, path)
            if resolved is None:
                continue
            f, owner_table, owner = resolved
            out[path] = self.field(owner_table, owner, f)
        return out

    def walk(
        self, table: Table, record: Record | None, path: str
    ) -> tuple[Field, Table, Record | None] | None:
        """Follow a dot-walked path to the field and the record that holds it (``None`` past a gap)."""
        parts = path.split(".")
        current_table: Table | None = table
        current: Record | None = record
        for i, part in enumerate(parts):
            if current_table is None or part not in current_table.fields:
                return None
            f = current_table.fields[part]
            if i == len(parts) - 1:
                return f, current_table, current
            if f.type not in ("reference", "domain"):
                return None
            target = self.store.reference_schema(f.reference)
            value = current.get(part, "") if current is not None else ""
            located = self.store.locate(f.reference, value) if value else None
            current_table = located.table if located else target
            current = located.record if located else None
        return None

    def field(self, table: Table, record: Record | None, f: Field) -> Any:
        raw = record.get(f.name, "") if record is not None else ""
        if f.type in ("reference", "domain"):
            return self._reference(f, raw)
        if f.type in ("journal", "journal_list"):
            history = self.journal(table, record, f) if record is not None else ""
            return self._shape("", history)
        return self._shape(raw, self.display(f, raw) if self.mode != "false" else raw)

    def _shape(self, value: str, display: str) -> Any:
        if self.mode == "false":
            return value
        if self.mode == "true":
            return display
        return {"display_value": display, "value": value}

    def _reference(self, f: Field, raw: str) -> Any:
        target = "sys_user_group" if f.type == "domain" else f.reference
        link = f"{self.base_url}/api/now/table/{target}/{raw}"
        if self.mode == "false":
            if raw == "" or self.exclude_links:
                return raw
            return {"link": link, "value": raw}
        display = self.store.display_value(target, raw) if raw else ""
        if self.mode == "true":
            if raw == "" or self.exclude_links:
                return display
            return {"display_value": display, "link": link}
        out = {"display_value": display, "value": raw}
        if raw and not self.exclude_links:
            out = {"display_value": display, "link": link, "value": raw}
        return out

    def display(self, f: Field, raw: str) -> str:
        if raw == "":
            return ""
        if f.choices:
            return f.choices.get(raw, raw)
        if f.type == "glide_date_time":
            return display_datetime(raw, self.tz) if self.tz is not None else raw
        if f.type == "integer" and raw.lstrip("-").isdigit():
            return f"{int(raw):,}"
        return raw

    def journal(self, table: Table, record: Record, f: Field) -> str:
        """The activity blob: ``<when> - <who> (<label>)\\n<text>\\n\\n`` per entry, newest first."""
        elements = tuple(JOURNAL_LABELS) if f.type == "journal_list" else (f.name,)
        entries = [
            e
            for e in self.store.all("sys_journal_field")
            if e.get("element_id") == record.get("sys_id")
            and e.get("element") in elements
            and e.get("name") == table.name
        ]
        entries.reverse()
        entries.sort(key=lambda e: e.get("sys_created_on", ""), reverse=True)
        blocks = []
        for e in entries:
            who = e.get("sys_created_by", "")
            user = self.store.user_by_name(who)
            name = user.get("name", who) if user else who
            when = (
                display_datetime(e.get("sys_created_on", ""), self.tz)
                if self.tz
                else e.get("sys_created_on", "")
            )
            label = JOURNAL_LABELS.get(e.get("element", ""), e.get("element", ""))
            blocks.append(f"{when} - {name} ({label})\n{e.get('value', '')}\n\n")
        return "".join(blocks)
