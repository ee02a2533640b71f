"""Seed documents: records to add to any served table before the emulator answers its first call.

Format (YAML or JSON; ``chgsync emulate servicenow --seed FILE`` or ``seed=`` in Python)::

    settings:                      # optional; each key optional
      time_zone: UTC               # instance default zone for display values (default America/Los_Angeles)
      strict_queries: false        # true: a query with an unknown field returns no rows
      require_approval: true       # false: normal/emergency changes may enter Scheduled unapproved
      require_close_fields: true   # false: Closed does not need close_code/close_notes
    tables:
      sys_user:
        - {user_name: jane.doe, first_name: Jane, last_name: Doe, time_zone: Europe/Berlin}
      change_request:
        - short_description: Rotate TLS certificates
          type: normal
          state: -2                # seeds bypass the state model: any state, any approval
          approval: approved
          assignment_group: Network    # a reference by sys_id or by display value
          cmdb_ci: payments-api
          work_notes: Imported from the old tool   # journal fields become journal entries

Unlike the Table API, a seed is checked strictly, because a silently dropped typo in test data
costs hours: unknown tables and fields, malformed sys_ids and dates, choice values outside the list,
non-scalar values and references that match no record are errors naming the table, record and field.
Records may reference records defined later in the same seed. System fields (``sys_id``,
``sys_created_on``, ``number``, ...) may be given; otherwise they are generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from chgsync.errors import Problem

from .errors import SeedError
from .records import Actor, Records
from .schema import TABLES, Field
from .state_model import Settings
from .store import Record, is_sys_id
from .times import normalize_date, normalize_datetime, to_glide, zone

SETTINGS_KEYS = {
    "time_zone": str,
    "strict_queries": bool,
    "require_approval": bool,
    "require_close_fields": bool,
}
UNCHECKED_REFERENCES = frozenset(
    {"core_company", "cmn_location", "sysapproval_group", "wf_activity", "std_change_producer_version"}
)


def apply_settings(settings: Settings, data: Any, problems: list[Problem]) -> None:
    if data is None:
        return
    if not isinstance(data, Mapping):
        problems.append(Problem("settings", "must be a mapping of setting names to values."))
        return
    for key, value in data.items():
        expected = SETTINGS_KEYS.get(key)
        where = f"settings.{key}"
        if expected is None:
            problems.append(Problem(where, f"is not a setting; known settings: {', '.join(SETTINGS_KEYS)}."))
        elif not isinstance(value, expected):
            problems.append(Problem(where, f"must be a {'boolean' if expected is bool else 'string'}."))
        elif isinstance(value, str):
            try:
                zone(value)
            except ValueError as exc:
                problems.append(Problem(where, str(exc)))
            else:
                settings.time_zone = value
        else:
            setattr(settings, key, value)


def _scalar(value: Any) -> str | None:
    """A seed value as a stored string; ``None`` when it is not a scalar."""
    if isinstance(value, datetime):
        return to_glide(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


def _typed(f: Field, text: str, where: str, problems: list[Problem]) -> str:
    if text == "":
        return ""
    if f.type == "glide_date_time":
        out = normalize_datetime(text)
        if not out:
            problems.append(
                Problem(where, f"'{text}' is not a UTC date/time in the form 2026-11-26 10:00:00.")
            )
        return out
    if f.type == "glide_date":
        out = normalize_date(text)
        if not out:
            problems.append(Problem(where, f"'{text}' is not a date in the form 2026-11-26."))
        return out
    if f.type == "boolean":
        if text.lower() not in ("true", "false"):
            problems.append(Problem(where, f"'{text}' is not true or false."))
        return text.lower()
    if f.type == "guid" and f.name == "sys_id" and not is_sys_id(text):
        problems.append(Problem(where, f"'{text}' is not a sys_id (32 lower-case hexadecimal characters)."))
    if f.choices and text not in f.choices:
        by_label = {label: value for value, label in f.choices.items()}
        if text in by_label:
            return by_label[text]
        problems.append(
            Problem(
                where, f"'{text}' is not one of {', '.join(f.choices)} ({', '.join(f.choices.values())})."
            )
        )
    if f.name == "time_zone":
        try:
            zone(text)
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
    return text


def load(records: Records, settings: Settings, data: Any, default_actor: Actor) -> None:
    """Validate and load a whole seed document; nothing is loaded when any part is unusable."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise SeedError(None, "the seed must be a mapping with 'tables' (and optionally 'settings').")
    for key in data:
        if key not in ("settings", "tables"):
            problems.append(
                Problem(str(key), "is not a seed section; use 'tables' (and optionally 'settings').")
            )
    trial = Settings(**vars(settings))
    apply_settings(trial, data.get("settings"), problems)
    tables = data.get("tables") or {}
    if not isinstance(tables, Mapping):
        problems.append(Problem("tables", "must map table names to lists of records."))
        tables = {}

    store = records.store
    counters = dict(store.counters)  # restored when the seed is refused, so numbering is untouched
    staged: list[tuple[str, str, Record, dict[str, str]]] = []  # table, where, record, journals
    seen: set[str] = set()
    for table_name, rows in tables.items():
        where_table = f"tables.{table_name}"
        table = TABLES.get(str(table_name))
        if table is None:
            problems.append(
                Problem(where_table, f"is not a table the emulator serves ({', '.join(sorted(TABLES))}).")
            )
            continue
        if not isinstance(rows, list):
            problems.append(
                Problem(where_table, "must be a list of records (mappings of field names to values).")
            )
            continue
        for i, row in enumerate(rows):
            where = f"{where_table}[{i}]"
            if not isinstance(row, Mapping):
                problems.append(Problem(where, "must be a mapping of field names to values."))
                continue
            creator = str(row.get("sys_created_by") or default_actor.user_name)
            user = store.user_by_name(creator)
            record = records.blank(
                table, Actor(creator, user["sys_id"] if user else default_actor.sys_id), records.now()
            )
            journals: dict[str, str] = {}
            for name, value in row.items():
                f = table.fields.get(str(name))
                if f is None:
                    problems.append(Problem(f"{where}.{name}", f"{table.name} has no field '{name}'."))
                    continue
                text = _scalar(value)
                if text is None:
                    problems.append(
                        Problem(
                            f"{where}.{name}",
                            "must be a single value (text, number, boolean or date), not a list or mapping.",
                        )
                    )
                    continue
                if f.type == "journal":
                    if text.strip():
                        journals[f.name] = text
                    continue
                record[f.name] = _typed(f, text, f"{where}.{name}", problems)
            if record["sys_id"] in seen or store.get(table.name, record["sys_id"]) is not None:
                problems.append(
                    Problem(f"{where}.sys_id", f"sys_id {record['sys_id']} is used by another record.")
                )
            seen.add(record["sys_id"])
            if "sys_updated_on" not in row:
                record["sys_updated_on"] = record["sys_created_on"]
            if "sys_updated_by" not in row:
                record["sys_updated_by"] = record["sys_created_by"]
            records.finish_insert(table, record)  # derived values (a user's name) are displayable below
            staged.append((table.name, where, record, journals))
    if problems:
        store.counters = counters
        raise SeedError(None, problems)

    # References may point at records defined later in the seed: resolve once everything is staged.
    staged_ids = {(t, r["sys_id"]) for t, _, r, _ in staged}
    by_table: dict[str, list[Record]] = {}
    for t, _, r, _ in staged:
        by_table.setdefault(t, []).append(r)
    for table_name, where, record, _ in staged:
        for f in TABLES[table_name].fields.values():
            value = record.get(f.name, "")
            if f.type != "reference" or not value or f.reference in UNCHECKED_REFERENCES:
                continue
            targets = ("change_request", "change_task") if f.reference == "task" else (f.reference,)
            if any((t, value) in staged_ids or store.get(t, value) is not None for t in targets):
                continue
            candidates = [
                r["sys_id"]
                for t in targets
                for r in [*by_table.get(t, []), *store.all(t)]
                if r.get(TABLES[t].display_field) == value
            ]
            if len(candidates) == 1:
                record[f.name] = candidates[0]
            elif not candidates:
                problems.append(
                    Problem(
                        f"{where}.{f.name}",
                        f"'{value}' matches no {f.reference} record by sys_id "
                        f"or {TABLES[targets[0]].display_field}.",
                    )
                )
            else:
                problems.append(
                    Problem(
                        f"{where}.{f.name}",
                        f"'{value}' matches {len(candidates)} {f.reference} records; give the sys_id.",
                    )
                )
    if problems:
        store.counters = counters
        raise SeedError(None, problems)

    for key, value in vars(trial).items():
        setattr(settings, key, value)
    for table_name, _, record, journals in staged:
        table = TABLES[table_name]
        store.put(table_name, record)
        if journals:
            actor = Actor(record.get("sys_created_by", default_actor.user_name))
            records.append_journals(table, record, journals, actor, record.get("sys_created_on", ""))
