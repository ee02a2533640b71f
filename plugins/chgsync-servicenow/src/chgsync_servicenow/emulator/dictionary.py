"""The schema as the platform describes it: ``sys_db_object``, ``sys_dictionary`` and ``sys_choice`` rows.

Integrations ask an instance what its tables look like through these tables (the Table API has no
schema endpoint of its own), so the emulator serves them, generated from :mod:`.schema` so the two
cannot disagree. The shapes follow the platform's inheritance rules, which trip integrators up:

- a field ``change_request`` inherits from ``task`` has its dictionary row under ``name=task``, so
  ``sys_dictionary?sysparm_query=name=change_request`` lists only the fields change_request adds;
  walk ``sys_db_object.super_class`` and ask for ``nameINchange_request,task``;
- choices follow the same rule, except where a table overrides the parent's list (change_request's
  own ``state`` values are ``sys_choice`` rows with ``name=change_request``);
- each table also has one "collection" row (``element`` empty, ``internal_type=collection``).

The rows are generated on every reset and are read-only over the API (an administrator writing them on
an instance changes the schema, which the emulator cannot); a seed may still add ``sys_choice`` rows to
stand for choices an administrator added.
"""

from __future__ import annotations

from .defaults import stable_id
from .schema import DICTIONARY_TABLES, TABLES, TASK_FIELD_NAMES, TASK_TABLES, Field, FieldType, Table
from .store import Record, Store

#: The platform's ``internal_type`` names where they differ from the emulator's field types.
INTERNAL_TYPES: dict[FieldType, str] = {"guid": "GUID", "domain": "domain_id"}

TASK_LABEL = "Task"


def _owner(table: Table, f: Field) -> str:
    """The table whose dictionary defines ``f`` as ``table`` sees it."""
    return "task" if table.extends == "task" and f.name in TASK_FIELD_NAMES else table.name


def _choice_owner(table: Table, f: Field) -> str:
    """Where ``f``'s choices live: on ``task`` unless the task tables' lists differ (an override)."""
    if _owner(table, f) != "task":
        return table.name
    lists = [TABLES[t].fields[f.name].choices for t in TASK_TABLES if f.name in TABLES[t].fields]
    return "task" if all(dict(c) == dict(lists[0]) for c in lists) else table.name


def _row(table: str, key: str, now: str, **values: str) -> Record:
    schema = TABLES[table]
    row: Record = {name: f.default for name, f in schema.fields.items()}
    row.update(
        sys_id=stable_id(table, key),
        sys_created_on=now,
        sys_updated_on=now,
        sys_created_by="system",
        sys_updated_by="system",
        sys_mod_count="0",
    )
    row.update(values)
    return row


def install(store: Store, now: str) -> None:
    """Generate the dictionary rows for every served table into ``store`` (replacing any there)."""
    for name in DICTIONARY_TABLES:
        store.rows[name].clear()
    tables = {"task": TASK_LABEL, **{t.name: t.label for t in TABLES.values()}}
    for name, label in tables.items():
        parent = TABLES[name].extends if name in TABLES else ""
        store.put(
            "sys_db_object",
            _row(
                "sys_db_object",
                name,
                now,
                name=name,
                label=label,
                super_class=stable_id("sys_db_object", parent) if parent else "",
                is_extendable="true" if name == "task" else "false",
            ),
        )
    seen: set[tuple[str, str]] = set()
    choices_seen: set[tuple[str, str]] = set()
    for name, owner_label in tables.items():
        store.put(
            "sys_dictionary",
            _row(
                "sys_dictionary",
                f"{name}.",
                now,
                name=name,
                element="",
                column_label=owner_label,
                internal_type="collection",
            ),
        )
    for table in TABLES.values():
        for f in table.fields.values():
            owner = _owner(table, f)
            if (owner, f.name) not in seen:
                seen.add((owner, f.name))
                store.put(
                    "sys_dictionary",
                    _row(
                        "sys_dictionary",
                        f"{owner}.{f.name}",
                        now,
                        name=owner,
                        element=f.name,
                        column_label=f.title,
                        internal_type=INTERNAL_TYPES.get(f.type, f.type),
                        reference=f.reference,
                        choice="1" if f.choices else "0",
                        default_value=f.default,
                        read_only="true" if f.read_only else "false",
                    ),
                )
            if not f.choices:
                continue
            choice_owner = _choice_owner(table, f)
            if (choice_owner, f.name) in choices_seen:
                continue
            choices_seen.add((choice_owner, f.name))
            for sequence, (value, label) in enumerate(f.choices.items()):
                store.put(
                    "sys_choice",
                    _row(
                        "sys_choice",
                        f"{choice_owner}.{f.name}={value}",
                        now,
                        name=choice_owner,
                        element=f.name,
                        value=value,
                        label=label,
                        sequence=str(sequence),
                    ),
                )
