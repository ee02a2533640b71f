"""The instance's data: one ordered dict of records per table, every value a string.

The store knows the dictionary (which fields exist, references between tables, display fields)
but no business logic: the state model, journals and notifications live in :mod:`.records`.
Insertion order is kept and used as the unspecified default order of list queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import invalid_table
from .schema import TABLES, TASK_TABLES, Field, Table

Record = dict[str, str]

#: A virtual dictionary for references to the abstract ``task`` table: the fields every task table has.
TASK = Table(
    name="task",
    label="Task",
    display_field="number",
    fields={
        name: f
        for name, f in TABLES[TASK_TABLES[0]].fields.items()
        if all(name in TABLES[t].fields for t in TASK_TABLES)
    },
)


def new_sys_id() -> str:
    return uuid.uuid4().hex


def is_sys_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


@dataclass(frozen=True)
class Located:
    """A record found through a reference, with the table it actually lives in."""

    table: Table
    record: Record


class Store:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Record]] = {name: {} for name in TABLES}
        self.counters: dict[str, int] = {}

    # -- dictionary ------------------------------------------------------------------------------------
    @staticmethod
    def schema(name: str) -> Table:
        """The dictionary of a served table; the product's 400 for any other name."""
        if name not in TABLES:
            raise invalid_table(name)
        return TABLES[name]

    @staticmethod
    def reference_schema(name: str) -> Table | None:
        """The dictionary reached through a reference; ``None`` for tables the emulator does not serve."""
        if name == "task":
            return TASK
        return TABLES.get(name)

    def resolve_path(self, table: Table, path: str) -> Field | None:
        """The field a (possibly dot-walked) path names; ``None`` when any hop is not a field."""
        parts = path.split(".")
        current: Table | None = table
        for i, part in enumerate(parts):
            if current is None or part not in current.fields:
                return None
            f = current.fields[part]
            if i == len(parts) - 1:
                return f
            if f.type not in ("reference", "domain"):
                return None
            current = self.reference_schema(f.reference)
        return None

    # -- rows ------------------------------------------------------------------------------------------
    def table_rows(self, name: str) -> dict[str, Record]:
        self.schema(name)
        return self.rows[name]

    def all(self, name: str) -> Iterator[Record]:
        return iter(list(self.table_rows(name).values()))

    def get(self, name: str, sys_id: str) -> Record | None:
        return self.table_rows(name).get(sys_id)

    def locate(self, reference_table: str, sys_id: str) -> Located | None:
        """Follow a reference: ``task`` references search every task table."""
        if not sys_id:
            return None
        names = TASK_TABLES if reference_table == "task" else (reference_table,)
        for name in names:
            if name in self.rows and sys_id in self.rows[name]:
                return Located(TABLES[name], self.rows[name][sys_id])
        return None

    def put(self, name: str, record: Record) -> Record:
        self.table_rows(name)[record["sys_id"]] = record
        return record

    def remove(self, name: str, sys_id: str) -> Record | None:
        return self.table_rows(name).pop(sys_id, None)

    def next_number(self, table: Table) -> str:
        n = self.counters.get(table.name, table.number_start)
        self.counters[table.name] = n + 1
        return f"{table.number_prefix}{n:07d}"

    def note_number(self, table: Table, number: str) -> None:
        """Keep the sequence ahead of a seeded number, as the platform's counter would be."""
        digits = number[len(table.number_prefix) :]
        if number.startswith(table.number_prefix) and digits.isdigit():
            self.counters[table.name] = max(
                self.counters.get(table.name, table.number_start), int(digits) + 1
            )

    # -- display ---------------------------------------------------------------------------------------
    def display_value(self, reference_table: str, sys_id: str) -> str:
        """What a reference displays: the target's display field, or ``""`` when it dangles."""
        if reference_table == "sys_user_group" and sys_id == "global":
            return "global"
        found = self.locate(reference_table, sys_id)
        if found is None:
            return ""
        return found.record.get(found.table.display_field, "")

    def find_by_display(self, reference_table: str, display: str) -> list[str]:
        """sys_ids whose display value equals ``display`` (for input display values and seeds)."""
        names = TASK_TABLES if reference_table == "task" else (reference_table,)
        found: list[str] = []
        for name in names:
            if name not in self.rows:
                continue
            field = TABLES[name].display_field
            found.extend(sid for sid, r in self.rows[name].items() if r.get(field, "") == display)
        return found

    def user_by_name(self, user_name: str) -> Record | None:
        for r in self.rows["sys_user"].values():
            if r.get("user_name") == user_name:
                return r
        return None
