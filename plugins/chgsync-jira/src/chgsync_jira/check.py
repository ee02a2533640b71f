"""``mapping check`` for Jira: compare a mapping with a live site, one sentence per mismatch.

What is read (all documented Cloud endpoints, read-only, nothing is created):

- ``GET /project/{key}`` and ``GET /project/{key}/statuses``: the project, its issue type, the
  statuses of that issue type's workflow;
- ``GET /field``: every field id and its schema (to catch a wrong ``customfield_NNNNN`` or a field
  whose type does not hold the mapped value);
- ``GET /issue/createmeta/{key}/issuetypes/{id}``: which fields are on the create screen and the
  options of each select list;
- ``POST /workflows`` with the project and issue type: the workflow's transitions with their ids,
  names, sources and targets. Reading workflows needs the *Administer projects* or *View (read-only)
  workflow* permission; without it the transitions are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chgsync.lifecycle import State
from chgsync.mapping import Mapping as MappingFile

from .config import JiraRecord
from .wire import Wire, schema_matches, shape_from_schema
from .workflow import StatusTable

ALWAYS_SETTABLE = frozenset({"project", "issuetype"})


@dataclass(frozen=True)
class Site:
    """What ``check`` read from the live site (``None`` where a read was refused)."""

    fields: list[dict[str, Any]]
    screen: list[dict[str, Any]]
    workflows: dict[str, Any] | None
    workflow_error: str = ""


def compare(mapping: MappingFile, record: JiraRecord, table: StatusTable, site: Site) -> list[str]:
    """Every mismatch between the mapping and the site, as sentences naming the mapping key."""
    problems: list[str] = []
    schemas = {str(f.get("id")): f.get("schema") or {} for f in site.fields}
    names = {str(f.get("id")): str(f.get("name", "")) for f in site.fields}
    on_screen = {str(f.get("fieldId") or f.get("key")): f for f in site.screen}
    wire = Wire.build(mapping, schemas)

    def option_values(fid: str) -> list[str] | None:
        meta = on_screen.get(fid)
        if meta is None or "allowedValues" not in meta:
            return None
        return [str(v.get("value", v.get("name", ""))) for v in meta["allowedValues"] if isinstance(v, Mapping)]

    def field_problems(label: str, fid: str, shape: str, values: list[str]) -> list[str]:
        if fid not in schemas:
            return [f"{label}: no such field on this site."]
        out: list[str] = []
        if fid not in on_screen and fid not in ALWAYS_SETTABLE:
            out.append(f"{label}: {names[fid]!r} is not on the {table.issue_type} screen of project "
                       f"{record.project}, so Jira refuses to set it.")
        schema = schemas[fid]
        if schema and not schema_matches(shape, schema):
            found = shape_from_schema(schema) or schema.get("custom") or schema.get("type")
            out.append(f"{label}: the mapping writes it as {shape}, but {names[fid]!r} is a field of type {found}.")
        allowed = option_values(fid)
        if allowed is not None and shape in ("option", "options"):
            folded = {a.casefold() for a in allowed}
            for value in values:
                if value.casefold() not in folded:
                    out.append(f"{label}: {value!r} is not an option of {names[fid]!r} "
                               f"(options: {', '.join(allowed)}).")
        return out

    for i, f in enumerate(mapping.fields):
        label = f"fields[{i}] ({f.canonical} → {f.remote})"
        values = sorted(set((f.values or {}).values())) if f.codec == "enum" else []
        problems += field_problems(label, f.remote, wire.shapes[f.remote], values)
    for fid, shape in record.state_fields.items():
        values = sorted({sm.remote[fid] for sm in mapping.states.values() if sm.remote.get(fid)})
        problems += field_problems(f"record.state_fields.{fid}", fid, shape, values)
    for fid, derived in record.derived.items():
        values = sorted(set((derived.values or {}).values()))
        problems += field_problems(f"record.derived.{fid} ({derived.canonical} → {fid})", fid, derived.shape, values)
    problems += _transition_problems(mapping, table, site)
    problems += _reachability(mapping, table)
    return problems


def _transition_problems(mapping: MappingFile, table: StatusTable, site: Site) -> list[str]:
    if not mapping.transitions:
        return []
    if site.workflows is None:
        return [f"transitions: not checked, the workflow could not be read ({site.workflow_error})."]
    workflows = site.workflows.get("workflows") or []
    if not workflows:
        return [(f"transitions: project {table.project} has no workflow for {table.issue_type} that this "
                 "account can read.")]
    remote = [t for t in workflows[0].get("transitions", []) if t.get("type") != "INITIAL"]
    out: list[str] = []
    for i, t in enumerate(mapping.transitions):
        label = f"transitions[{i}] ({'id ' + t.id if t.id else 'no id'}{', ' + t.name if t.name else ''})"
        to_id = table.id_of(t.to)
        if to_id is None:
            continue  # the unknown status is reported on its own
        if t.id is not None:
            candidates = [r for r in remote if str(r.get("id")) == t.id]
        else:
            candidates = [r for r in remote if str(r.get("name", "")).casefold() == (t.name or "").casefold()
                          and str(r.get("toStatusReference")) == to_id]
        ident = t.id or repr(t.name)
        sources = ["*"] if "*" in t.from_ else t.from_
        for source in sources:
            from_id = None if source == "*" else table.id_of(source)
            if source != "*" and from_id is None:
                continue
            fits = [r for r in candidates if str(r.get("toStatusReference")) == to_id
                    and (r.get("type") == "GLOBAL"
                         or (from_id is not None
                             and any(str(link.get("fromStatusReference")) == from_id for link in r.get("links", []))))]
            if not fits:
                where = "any status (a global transition)" if source == "*" else f'"{source}"'
                out.append(f'{label}: no transition {ident} from {where} to "{t.to}".')
                continue
            if t.id is not None and t.name and str(fits[0].get("name", "")).casefold() != t.name.casefold():
                out.append(f'{label}: transition {t.id} from "{source}" to "{t.to}" is called '
                           f'"{fits[0].get("name")}" on this site, not "{t.name}".')
    return out


def _reachability(mapping: MappingFile, table: StatusTable) -> list[str]:
    """Each state's status must be reachable from the draft state's status by declared transitions."""
    if not mapping.transitions:
        return []
    start = mapping.status_of(State.DRAFT)
    out = []
    for state, sm in mapping.states.items():
        status = sm.remote[mapping.status_field]
        if table.id_of(status) is None or status.casefold() == start.casefold():
            continue
        if mapping.route(start, status) is None:
            out.append(f"states.{state.value}: no declared transitions lead from \"{start}\" to \"{status}\", "
                       "so chgsync could never move a change there.")
    return out

