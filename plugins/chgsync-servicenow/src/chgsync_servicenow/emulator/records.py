"""Inserts, updates and deletes with the platform's write semantics and business rules.

Write semantics of the Table API: unknown fields and platform-maintained ones (``sys_*``,
``approval_history``, ...) are ignored without an error; choice values and reference sys_ids are
not validated; ``""`` clears a field; a journal field (``work_notes``, ``comments``) appends a
``sys_journal_field`` row instead of storing a value; an update that changes nothing is not a write
(no ``sys_mod_count`` bump, no notification). A change_request always starts in New, whatever
state it was posted with, and its state moves are checked by :mod:`.state_model`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from . import state_model
from .errors import not_found
from .notifications import NOTIFIED_TABLES, payload
from .schema import CHG_MODEL_IDS, SYSTEM_FIELDS, TABLES, Field, Table
from .store import Record, Store, is_sys_id, new_sys_id
from .times import normalize_date, normalize_datetime, parse_glide, to_glide

Notify = Callable[[str, dict[str, Any]], None]

#: Groups the default approval workflow asks: the Assess step falls back to this group's manager, the
#: Authorize step asks every member of the CAB group ("anyone approves" rule).
ASSESS_FALLBACK_GROUP = "Change Management"
CAB_GROUP = "CAB Approval"


@dataclass(frozen=True)
class Actor:
    """Who is writing: ``user_name`` fills ``sys_*_by``, ``sys_id`` fills references such as ``opened_by``."""

    user_name: str
    sys_id: str = ""


@dataclass
class WriteOptions:
    """``input_display_value``: references by display value, choices by label, dates in the user's ``tz``."""

    input_display_value: bool = False
    tz: tzinfo = UTC


def coerce(value: Any) -> str:
    """A JSON value as the string the platform stores."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return coerce(value["value"]) if "value" in value else json.dumps(value)
    if isinstance(value, list):
        return ",".join(coerce(v) for v in value)
    return str(value)


class Records:
    def __init__(
        self, store: Store, now: Callable[[], str], notify: Notify, settings: state_model.Settings
    ) -> None:
        self.store = store
        self.now = now
        self.notify = notify
        self.settings = settings

    # -- value handling --------------------------------------------------------------------------------
    def typed(self, f: Field, text: str, options: WriteOptions) -> str:
        """A written string as stored for the field's type."""
        if f.type == "boolean":
            lowered = text.strip().lower()
            return "" if lowered == "" else ("true" if lowered in ("true", "1") else "false")
        if f.type == "glide_date_time":
            if options.input_display_value and text:
                moment = parse_glide(text, options.tz)
                return to_glide(moment) if moment else ""
            return normalize_datetime(text)
        if f.type == "glide_date":
            return normalize_date(text)
        if options.input_display_value and text:
            if f.type == "reference" and not is_sys_id(text):
                matches = self.store.find_by_display(f.reference, text)
                return matches[0] if matches else text
            if f.choices and text not in f.choices:
                for value, label in f.choices.items():
                    if label == text:
                        return value
        return text

    def writable(
        self,
        table: Table,
        body: Mapping[str, Any],
        options: WriteOptions,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Split a body into (field values, journal texts), silently dropping what may not be written."""
        values: dict[str, str] = {}
        journals: dict[str, str] = {}
        for name, raw in body.items():
            f = table.fields.get(name)
            if f is None or name in SYSTEM_FIELDS or f.read_only:
                continue
            text = coerce(raw)
            if f.type == "journal":
                if text.strip():
                    journals[name] = text
                continue
            values[name] = self.typed(f, text, options)
        return values, journals

    # -- insert ----------------------------------------------------------------------------------------
    def blank(self, table: Table, actor: Actor, now: str) -> Record:
        """A new record with the dictionary defaults and the system fields filled in."""
        record: Record = {name: f.default for name, f in table.fields.items()}
        record.update(
            sys_id=new_sys_id(),
            sys_created_on=now,
            sys_updated_on=now,
            sys_created_by=actor.user_name,
            sys_updated_by=actor.user_name,
            sys_mod_count="0",
        )
        if "sys_class_name" in table.fields:
            record["sys_class_name"] = table.name
        if table.number_prefix:
            record["number"] = self.store.next_number(table)
        if table.extends == "task":
            record["opened_at"] = now
            record["opened_by"] = actor.sys_id
        if table.name == "change_request":
            record["requested_by"] = actor.sys_id
        return {k: v for k, v in record.items() if k in table.fields}

    def create(
        self, table_name: str, body: Mapping[str, Any], actor: Actor, options: WriteOptions | None = None
    ) -> Record:
        options = options or WriteOptions()
        table = self.store.schema(table_name)
        now = self.now()
        values, journals = self.writable(table, body, options)
        record = self.blank(table, actor, now)
        record.update(values)
        self.finish_insert(table, record)
        if table.name == "change_request":
            record["state"] = (
                state_model.NEW
            )  # the platform ignores a posted state: every change starts in New
        self.store.put(table.name, record)
        added = self.append_journals(table, record, journals, actor, now)
        if table.name in NOTIFIED_TABLES:
            self.notify(
                f"{table.name}.insert",
                payload(table.name, "insert", record, {}, sorted(set(values) | set(journals)), added),
            )
        return record

    def finish_insert(self, table: Table, record: Record) -> None:
        """Values the platform derives at insert (used for API inserts and seeds alike)."""
        if table.number_prefix and record.get("number"):
            self.store.note_number(table, record["number"])
        if "task_effective_number" in table.fields:
            record["task_effective_number"] = record.get("number", "")
        if table.name == "change_request" and not record.get("chg_model"):
            record["chg_model"] = CHG_MODEL_IDS.get(record.get("type", ""), "")
        if table.name == "sys_user" and not record.get("name"):
            record["name"] = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)

    def append_journals(
        self, table: Table, record: Record, journals: Mapping[str, str], actor: Actor, now: str
    ) -> list[dict[str, str]]:
        added: list[dict[str, str]] = []
        journal_table = TABLES["sys_journal_field"]
        for element, text in journals.items():
            entry = {name: "" for name in journal_table.fields}
            entry.update(
                sys_id=new_sys_id(),
                element=element,
                element_id=record["sys_id"],
                name=table.name,
                value=text,
                sys_created_on=now,
                sys_created_by=actor.user_name,
            )
            self.store.put("sys_journal_field", entry)
            added.append({"element": element, "value": text})
        return added

    # -- update ----------------------------------------------------------------------------------------
    def update(
        self,
        table_name: str,
        sys_id: str,
        body: Mapping[str, Any],
        actor: Actor,
        options: WriteOptions | None = None,
    ) -> Record:
        options = options or WriteOptions()
        table = self.store.schema(table_name)
        before = self.store.get(table.name, sys_id)
        if before is None:
            raise not_found()
        values, journals = self.writable(table, body, options)
        if table.name == "change_request" and "type" in values and before.get("state") != state_model.NEW:
            del values["type"]  # type is writable only while the change is New
        return self.apply(table, before, values, journals, actor)

    def apply(
        self,
        table: Table,
        before: Record,
        values: Mapping[str, str],
        journals: Mapping[str, str],
        actor: Actor,
    ) -> Record:
        """Write ``values`` and ``journals`` to a stored record, running the table's business rules."""
        now = self.now()
        after = dict(before)
        after.update(values)
        stage: state_model.Stage | None = None
        cancel_pending = False
        if table.name == "change_request" and "state" in values:
            state_model.check_move(before, after, self.settings)
            stage, cancel_pending = state_model.enter(before, after, now, actor.sys_id)
        changed = [name for name in table.fields if after.get(name, "") != before.get(name, "")]
        if not changed and not journals:
            return before
        after.update(
            sys_mod_count=str(int(before.get("sys_mod_count") or 0) + 1),
            sys_updated_on=now,
            sys_updated_by=actor.user_name,
        )
        self.store.put(table.name, after)
        added = self.append_journals(table, after, journals, actor, now)
        if table.name in NOTIFIED_TABLES:
            previous = {name: before.get(name, "") for name in changed}
            self.notify(
                f"{table.name}.update",
                payload(table.name, "update", after, previous, changed + sorted(journals), added),
            )
        if cancel_pending:
            self.cancel_pending_approvals(after["sys_id"], actor, now)
        if stage is not None:
            self.request_approvals(after, stage, actor, now)
        if table.name == "sysapproval_approver" and after.get("state") != before.get("state"):
            self.approval_decided(after, actor)
        return self.store.get(table.name, after["sys_id"]) or after

    # -- delete ----------------------------------------------------------------------------------------
    def delete(self, table_name: str, sys_id: str) -> None:
        table = self.store.schema(table_name)
        if self.store.remove(table.name, sys_id) is None:
            raise not_found()
        if table.extends == "task":  # cascade like the platform's reference rules: journals, approvals
            for entry in list(self.store.all("sys_journal_field")):
                if entry.get("element_id") == sys_id:
                    self.store.remove("sys_journal_field", entry["sys_id"])
            for row in list(self.store.all("sysapproval_approver")):
                if row.get("sysapproval") == sys_id:
                    self.store.remove("sysapproval_approver", row["sys_id"])

    # -- the approval workflow -------------------------------------------------------------------------
    def _group(self, name: str) -> Record | None:
        return next((g for g in self.store.all("sys_user_group") if g.get("name") == name), None)

    def approvers(self, change: Record, stage: state_model.Stage) -> list[str]:
        if stage == "assess":
            group = self.store.get("sys_user_group", change.get("assignment_group", ""))
            if group is None or not group.get("manager"):
                group = self._group(ASSESS_FALLBACK_GROUP)
            return [group["manager"]] if group is not None and group.get("manager") else []
        cab = self._group(CAB_GROUP)
        if cab is None:
            return []
        return list(
            dict.fromkeys(
                m["user"]
                for m in self.store.all("sys_user_grmember")
                if m.get("group") == cab["sys_id"] and m.get("user")
            )
        )

    def request_approvals(self, change: Record, stage: state_model.Stage, actor: Actor, now: str) -> None:
        table = TABLES["sysapproval_approver"]
        for order, user in enumerate(self.approvers(change, stage), start=1):
            row = self.blank(table, actor, now)
            row.update(
                approver=user,
                sysapproval=change["sys_id"],
                document_id=change["sys_id"],
                source_table="change_request",
                state="requested",
                order=str(order),
                expected_start=change.get("start_date", ""),
            )
            self.store.put(table.name, row)

    def cancel_pending_approvals(self, change_id: str, actor: Actor, now: str) -> None:
        self._close_siblings(change_id, "", "cancelled", actor, now)

    def _close_siblings(self, change_id: str, except_id: str, state: str, actor: Actor, now: str) -> None:
        for row in list(self.store.all("sysapproval_approver")):
            if (
                row.get("sysapproval") == change_id
                and row["sys_id"] != except_id
                and row.get("state") in ("requested", "not requested")
            ):
                row.update(
                    state=state,
                    sys_updated_on=now,
                    sys_updated_by=actor.user_name,
                    sys_mod_count=str(int(row.get("sys_mod_count") or 0) + 1),
                )

    def approval_decided(self, row: Record, actor: Actor) -> None:
        """Advance (or send back) the change an approval row belongs to, as the approval workflow does."""
        decision = row.get("state")
        change = self.store.get("change_request", row.get("sysapproval", ""))
        if change is None or decision not in ("approved", "rejected"):
            return
        state = change.get("state")
        if state not in (state_model.ASSESS, state_model.AUTHORIZE):
            return
        now = self.now()
        self._close_siblings(change["sys_id"], row["sys_id"], "not_required", actor, now)
        table = TABLES["change_request"]
        if decision == "rejected":
            self.apply(table, change, {"state": state_model.NEW, "approval": "rejected"}, {}, actor)
        elif state == state_model.ASSESS and change.get("type") == "normal":
            self.apply(table, change, {"state": state_model.AUTHORIZE}, {}, actor)
        else:
            self.apply(table, change, {"state": state_model.SCHEDULED, "approval": "approved"}, {}, actor)
