"""Statuses and moves: which Jira status a record is in, which canonical state that is, and how to get
from there to the status of another state.

Jira statuses are compared by id, never by display name: names are translated, renamed and repeated
across projects. The mapping names statuses (people write names); :class:`StatusTable` resolves
those names to ids once, against the project's own statuses, and refuses with a sentence a name the
project does not have. Reading back, an issue's status id is turned into the mapping's spelling.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from chgsync.errors import MappingError, Problem
from chgsync.lifecycle import State
from chgsync.mapping import Mapping as MappingFile
from chgsync.mapping import Transition
from chgsync.model import Change

from .config import JiraRecord
from .wire import plain_value


def status_names(mapping: MappingFile, record: JiraRecord) -> Iterator[tuple[str, str]]:
    """Every status the mapping names, with the key that names it (for messages)."""
    for state, sm in mapping.states.items():
        yield f"states.{state.value}.remote.{mapping.status_field}", sm.remote[mapping.status_field]
        for n, via in enumerate(sm.via):
            yield f"states.{state.value}.via[{n}]", via
    for i, t in enumerate(mapping.transitions):
        for n, source in enumerate(t.from_):
            if source != "*":
                yield f"transitions[{i}].from[{n}]", source
        yield f"transitions[{i}].to", t.to
    for alias, target in record.also_means.items():
        yield f"record.also_means.{alias}", alias
        yield f"record.also_means.{alias}", target
    for status, table in record.by_outcome.items():
        yield f"record.by_outcome.{status}", status
        for outcome, alternative in table.items():
            yield f"record.by_outcome.{status}.{outcome.value}", alternative


def spelling_problems(mapping: MappingFile, record: JiraRecord) -> list[Problem]:
    """A status spelled two ways in one file would make routes miss each other: say so."""
    first: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for key, name in status_names(mapping, record):
        seen = first.setdefault(name.casefold(), (key, name))
        if seen[1] != name:
            problems.append(Problem(key, f"spells status {name!r}, but {seen[0]} spells it {seen[1]!r}; "
                                         "spell each status the same way throughout the file."))
    return problems


@dataclass(frozen=True)
class SiteStatus:
    id: str
    name: str
    category: str  # statusCategory.key: new, indeterminate, done


@dataclass
class StatusTable:
    """The statuses of the project's workflow for the issue type, and the mapping's names for them."""

    project: str
    issue_type: str
    issue_type_id: str
    site: dict[str, SiteStatus]
    ids: dict[str, str] = field(default_factory=dict)  # mapping spelling (casefolded) → status id
    names: dict[str, str] = field(default_factory=dict)  # status id → mapping spelling

    @classmethod
    def from_project_statuses(cls, mapping: MappingFile, record: JiraRecord, data: Any,
                              problems: list[str] | None = None) -> StatusTable:
        """Resolve the mapping's names against ``GET /project/{key}/statuses``.

        With ``problems`` given, unknown names are added to it (``mapping check``); without, the
        first unknown name raises :class:`MappingError`.
        """
        where = mapping.source or None
        entries = data if isinstance(data, list) else []
        wanted = record.issue_type.casefold()
        entry = next((e for e in entries if isinstance(e, Mapping)
                      and (str(e.get("name", "")).casefold() == wanted or str(e.get("id")) == record.issue_type)),
                     None)
        if entry is None:
            have = ", ".join(str(e.get("name")) for e in entries if isinstance(e, Mapping)) or "none"
            message = f"project {record.project} has no issue type {record.issue_type!r} (it has: {have})."
            if problems is not None:
                problems.append(f"record.issue_type: {message}")
                return cls(record.project, record.issue_type, "", {})
            raise MappingError(where, Problem("record.issue_type", message))
        site = {
            str(s["id"]): SiteStatus(str(s["id"]), str(s.get("name", "")),
                                     str((s.get("statusCategory") or {}).get("key", "")))
            for s in entry.get("statuses", []) if isinstance(s, Mapping) and "id" in s
        }
        table = cls(record.project, str(entry.get("name")), str(entry.get("id")), site)
        by_name = {s.name.casefold(): s.id for s in site.values()}
        for key, name in status_names(mapping, record):
            sid = by_name.get(name.casefold()) or (name if name in site else None)
            if sid is None:
                known = ", ".join(s.name for s in site.values())
                message = (f"names status {name!r}, which the {table.issue_type} workflow of project "
                           f"{record.project} does not have (it has: {known}).")
                if problems is not None:
                    problems.append(f"{key}: {message}")
                    continue
                raise MappingError(where, Problem(key, message))
            table.ids.setdefault(name.casefold(), sid)
            table.names.setdefault(sid, name)
        return table

    def id_of(self, name: str) -> str | None:
        return self.ids.get(name.casefold())

    def name_of(self, status_id: str) -> str | None:
        """The mapping's spelling of a status, or None when the mapping does not name it."""
        return self.names.get(status_id)


def status_of(fields: Mapping[str, Any], table: StatusTable | None) -> tuple[str, str]:
    """``(status id, the mapping's name for it)`` of an issue; without a table, by display name."""
    status = fields.get("status")
    if not isinstance(status, Mapping):
        raise ValueError("the issue has no status")  # noqa: TRY004 - callers treat it as bad input
    sid = str(status.get("id", ""))
    if table is not None and table.site:
        name = table.name_of(sid)
        if name is None:
            shown = status.get("name", sid)
            raise ValueError(f"its status {shown!r} (id {sid}) is not one the mapping names")
        return sid, name
    return sid, str(status.get("name", ""))


def state_remote(mapping: MappingFile, record: JiraRecord, status_name: str,
                 fields: Mapping[str, Any]) -> dict[str, Any]:
    """The remote values ``Mapping.state_for`` compares: the status as the mapping spells it, plus the
    plain values of the state fields."""
    aliases = {k.casefold(): v for k, v in record.also_means.items()}
    remote: dict[str, Any] = {mapping.status_field: aliases.get(status_name.casefold(), status_name)}
    for key in record.state_fields:
        remote[key] = plain_value(fields.get(key))
    return remote


def read_state(mapping: MappingFile, record: JiraRecord, status_name: str, fields: Mapping[str, Any]) -> State:
    state = mapping.state_for(state_remote(mapping, record, status_name, fields))
    if state is None:
        extras = ", ".join(f"{k} = {plain_value(fields.get(k))!r}" for k in record.state_fields
                           if plain_value(fields.get(k)) is not None)
        raise ValueError(f"status {status_name!r}{' with ' + extras if extras else ''} matches no state in "
                         "the mapping's `states`")
    return state


class NoRoute(ValueError):
    """The declared transitions do not lead from the current status to the one wanted."""


@dataclass(frozen=True)
class MovePlan:
    """What a move does: transitions in order (with the fields each sends), then state-field edits."""

    target: str
    hops: list[Transition]
    hop_fields: list[dict[str, Any]]
    edits: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not self.hops and not self.edits


def target_status(mapping: MappingFile, record: JiraRecord, change: Change) -> str:
    """The status for ``change.state``, or the one ``record.by_outcome`` names for the change's outcome."""
    target = mapping.status_of(change.state)
    for status, table in record.by_outcome.items():
        if status.casefold() == target.casefold() and change.outcome in table:
            return table[change.outcome]
    return target


def plan_move(mapping: MappingFile, record: JiraRecord, current: str, fields: Mapping[str, Any],
              change: Change) -> MovePlan:
    """Plan the hops from status ``current`` (mapping spelling) to the status of ``change.state``.

    The route passes through the state's ``via`` statuses in order (those not yet behind it), each
    leg the shortest chain of declared transitions. A status that ``record.also_means`` reads as
    the target counts as being there. State fields the target names are set; those it does not
    name are cleared, so a stale sub-stage cannot make the record read as another state.
    """
    sm = mapping.states[change.state]
    target = target_status(mapping, record, change)
    aliases = {k.casefold(): v.casefold() for k, v in record.also_means.items()}
    here = current
    hops: list[Transition] = []
    at_target = here.casefold() == target.casefold() or aliases.get(here.casefold()) == target.casefold()
    if not at_target:
        via = [v for v in sm.via]
        folded = [v.casefold() for v in via]
        if here.casefold() in folded:
            via = via[folded.index(here.casefold()) + 1:]
        for waypoint in [*via, target]:
            if waypoint.casefold() == here.casefold():
                continue
            route = mapping.route(here, waypoint)
            if route is None:
                raise NoRoute(f"no declared transition route from {here!r} to {waypoint!r} "
                              f"(on the way to {change.state.value})")
            hops.extend(route)
            here = waypoint
    hop_fields: list[dict[str, Any]] = []
    for hop in hops:
        sent: dict[str, Any] = {}
        rule = record.resolution
        if rule is not None and hop.id is not None and hop.id in rule.transitions:
            name = rule.for_outcome(change.outcome)
            if name is not None:
                sent["resolution"] = {"name": name}
        hop_fields.append(sent)
    edits: dict[str, Any] = {}
    for key in record.state_fields:
        wanted = sm.remote.get(key)
        have = plain_value(fields.get(key))
        if str(have or "").casefold() != str(wanted or "").casefold():
            edits[key] = wanted or None
    return MovePlan(target, hops, hop_fields, edits)
