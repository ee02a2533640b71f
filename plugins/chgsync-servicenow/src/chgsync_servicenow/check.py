"""Comparing a mapping with an instance's dictionary: one sentence per mismatch, naming the mapping key.

The instance describes itself through three tables (there is no schema endpoint in the Table API):
``sys_db_object`` (tables and what they extend), ``sys_dictionary`` (a row per column, under the
table that defines it: change_request's inherited columns are rows of ``task``) and ``sys_choice``
(choice values, under the most specific table that lists them). :func:`read_schema` reads them, and
:func:`compare` is pure, so it is tested without an instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chgsync.mapping import FieldMap
from chgsync.mapping import Mapping as MappingFile

from .config import RecordSettings

#: Types a text codec cannot write: the value would not read back as written.
NOT_TEXT = {
    "reference": "a reference (it holds sys_ids, not text)",
    "journal": "a journal field (writes append entries and it reads back empty)",
    "journal_input": "a journal field (writes append entries and it reads back empty)",
    "journal_list": "a journal list (read-only)",
    "glide_date_time": "a date/time",
    "glide_date": "a date",
    "integer": "an integer",
    "boolean": "a true/false field",
    "glide_list": "a list of sys_ids",
    "collection": "a table",
}
DATE_TYPES = frozenset({"glide_date_time", "due_date", "glide_date"})
JOURNAL_TYPES = frozenset({"journal", "journal_input"})
TEXT_CODECS = frozenset({"text", "lines", "csv", "steps_text", "rollback_text", "risks_text", "justification_text",
                         "stakeholders_text", "approvals_text", "duration"})


@dataclass(frozen=True)
class Column:
    table: str
    element: str
    internal_type: str
    reference: str = ""
    read_only: bool = False
    active: bool = True


@dataclass
class Schema:
    """What the instance says about one table and its ancestors."""

    table: str
    tables: list[str] = field(default_factory=list)  # the table first, then what it extends
    columns: dict[str, Column] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, table: str, tables: Sequence[str], dictionary: Iterable[Mapping[str, Any]],
                  choices: Iterable[Mapping[str, Any]]) -> Schema:
        """Build from raw rows: the most specific table's definition wins, as on the platform."""
        rank = {name: i for i, name in enumerate(tables)}
        columns: dict[str, Column] = {}
        for row in sorted(dictionary, key=lambda r: rank.get(str(r.get("name", "")), len(rank))):
            element = str(row.get("element", ""))
            if not element or element in columns:
                continue
            columns[element] = Column(
                table=str(row.get("name", "")),
                element=element,
                internal_type=str(row.get("internal_type", "")),
                reference=str(row.get("reference", "")),
                read_only=str(row.get("read_only", "false")).lower() == "true",
                active=str(row.get("active", "true")).lower() != "false",
            )
        by_element: dict[str, dict[str, list[str]]] = {}
        for row in choices:
            if str(row.get("inactive", "false")).lower() == "true":
                continue
            by_element.setdefault(str(row.get("element", "")), {}).setdefault(str(row.get("name", "")), []).append(
                str(row.get("value", "")))
        resolved: dict[str, list[str]] = {}
        for element, per_table in by_element.items():
            owner = min(per_table, key=lambda t: rank.get(t, len(rank)))
            resolved[element] = per_table[owner]
        return cls(table, list(tables), columns, resolved)


def _choices_text(values: Sequence[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:12])
    return shown + (", ..." if len(values) > 12 else "")


class _Checker:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.problems: list[str] = []

    def column(self, key: str, name: str) -> Column | None:
        col = self.schema.columns.get(name)
        if col is None:
            self.problems.append(f"{key}: {self.schema.table} has no field '{name}'.")
            return None
        if not col.active:
            self.problems.append(f"{key}: {self.schema.table}.{name} is inactive in the dictionary.")
        return col

    def choice(self, key: str, name: str, value: str, *, required: bool = False) -> None:
        values = self.schema.choices.get(name)
        if not values:
            if required:
                self.problems.append(f"{key}: {self.schema.table}.{name} has no choice list, so '{value}' "
                                     "cannot be checked and a typo would be stored as is.")
            return
        if value not in values:
            self.problems.append(f"{key}: '{value}' is not a choice of {self.schema.table}.{name} "
                                 f"(choices: {_choices_text(values)}).")


def _field_key(i: int, f: FieldMap) -> str:
    return f"fields[{i}] ({f.canonical} → {f.remote})"


def compare(mapping: MappingFile, record: RecordSettings, schema: Schema) -> list[str]:
    """Every way ``mapping`` disagrees with ``schema``, as sentences naming the mapping key."""
    c = _Checker(schema)
    table = schema.table
    for i, f in enumerate(mapping.fields):
        key = _field_key(i, f)
        col = c.column(key, f.remote)
        if col is None:
            continue
        kind = col.internal_type
        if col.read_only:
            c.problems.append(f"{key}: {table}.{f.remote} is read-only; ServiceNow ignores writes to it.")
        if f.is_user:
            if kind != "reference" or col.reference != "sys_user":
                what = f"a reference to {col.reference}" if kind == "reference" else NOT_TEXT.get(kind, kind)
                c.problems.append(f"{key}: {table}.{f.remote} is {what}, not a reference to sys_user "
                                  "(remote_type user).")
        elif f.codec == "datetime" and kind not in DATE_TYPES:
            c.problems.append(f"{key}: {table}.{f.remote} is {NOT_TEXT.get(kind, kind)}, not a date/time "
                              "(codec datetime).")
        elif f.codec in TEXT_CODECS and kind in NOT_TEXT:
            c.problems.append(f"{key}: {table}.{f.remote} is {NOT_TEXT[kind]}; codec {f.codec} writes text.")
        if f.codec == "enum" and f.values:
            for value in dict.fromkeys(f.values.values()):
                c.choice(key, f.remote, value, required=True)
    status = mapping.status_field
    c.column(f"status_field ({status})", status)
    for state, sm in mapping.states.items():
        for name, value in sm.remote.items():
            key = f"states.{state.value} ({name}: {value})"
            if c.column(key, name) is not None:
                c.choice(key, name, value)
        for j, hop in enumerate(sm.via):
            c.choice(f"states.{state.value}.via[{j}] ({hop})", status, hop)
    for which, name in (("key", record.link.key), ("system", record.link.system)):
        c.column(f"record.link.{which} ({name})", name)
    col = c.column(f"record.comment_field ({record.comment_field})", record.comment_field)
    if col is not None and col.internal_type not in JOURNAL_TYPES:
        c.problems.append(f"record.comment_field ({record.comment_field}): {table}.{record.comment_field} is "
                          f"{col.internal_type}, not a journal field such as work_notes or comments.")
    if record.overall_risk is not None:
        key = f"record.overall_risk ({record.overall_risk.field})"
        if c.column(key, record.overall_risk.field) is not None:
            for level, value in record.overall_risk.values.items():
                c.choice(f"record.overall_risk.values.{level.value} ({value})", record.overall_risk.field, value)
    for status_value in record.on_enter:
        c.choice(f"record.on_enter ({status_value})", status, status_value)
    for change_type, graph in record.state_model.items():
        for source, targets in graph.items():
            c.choice(f"record.state_model.{change_type.value} ({source})", status, source)
            for j, target in enumerate(targets):
                c.choice(f"record.state_model.{change_type.value}.{source}[{j}] ({target})", status, target)
    return list(dict.fromkeys(c.problems))
