"""Workflows as data: statuses, transitions between them, and the checks that make a definition usable.

A workflow here is what a Jira admin draws: an initial status, transitions with ids and names
(ids are per edge; one name such as "Approve" may appear on several edges), optional sources
(none means a global transition, available from every other status), an optional resolution set
when the transition lands in a done-category status, and the fields its screen offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chgsync.errors import Problem

from .model import Status, Transition, Workflow

GLOBAL_MARKERS = ("*", "any")


def build_workflow(
    definition: Mapping[str, Any],
    statuses: Mapping[str, Status],
    where: str,
    problems: list[Problem],
    *,
    known_fields: set[str],
    known_resolutions: set[str],
) -> Workflow | None:
    """A :class:`Workflow` from its seed definition, or None with the reasons added to ``problems``."""
    before = len(problems)
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(
            Problem(f"{where}.name", "is required: the workflow's name, which projects refer to.")
        )
        return None

    def status_id(ref: Any, path: str) -> str | None:
        st = _status(statuses, ref)
        if st is None:
            known = ", ".join(sorted(s.name for s in statuses.values()))
            problems.append(
                Problem(path, f"names status {ref!r}, which is not defined; known statuses: {known}.")
            )
            return None
        return st.id

    initial = status_id(definition.get("initial"), f"{where}.initial")
    transitions: list[Transition] = []
    raw_transitions = definition.get("transitions")
    if not isinstance(raw_transitions, list) or not raw_transitions:
        problems.append(Problem(f"{where}.transitions", "must be a non-empty list of transitions."))
        raw_transitions = []
    seen_ids: set[str] = set()
    for n, raw in enumerate(raw_transitions):
        path = f"{where}.transitions[{n}]"
        if not isinstance(raw, Mapping):
            problems.append(Problem(path, "must be a mapping with 'id', 'name', 'to' and optionally 'from'."))
            continue
        tid = str(raw.get("id", "")).strip()
        if not tid.isdigit():
            problems.append(
                Problem(
                    f"{path}.id", f"must be a number (Jira transition ids are digits), got {raw.get('id')!r}."
                )
            )
        elif tid in seen_ids:
            problems.append(
                Problem(f"{path}.id", f"repeats transition id {tid}; ids are unique within a workflow.")
            )
        seen_ids.add(tid)
        tname = raw.get("name")
        if not isinstance(tname, str) or not tname.strip():
            problems.append(Problem(f"{path}.name", "is required: the transition's name, e.g. 'Approve'."))
        target = status_id(raw.get("to"), f"{path}.to")
        sources_raw = raw.get("from", "*")
        sources: list[str] = []
        if isinstance(sources_raw, str) and sources_raw.lower() in GLOBAL_MARKERS:
            pass
        else:
            refs = sources_raw if isinstance(sources_raw, list) else [sources_raw]
            for m, ref in enumerate(refs):
                sid = status_id(ref, f"{path}.from[{m}]" if isinstance(sources_raw, list) else f"{path}.from")
                if sid is not None:
                    sources.append(sid)
        resolution = raw.get("resolution")
        if resolution is not None and str(resolution) not in known_resolutions:
            problems.append(
                Problem(
                    f"{path}.resolution",
                    f"names resolution {resolution!r}, which is not defined; "
                    f"known: {', '.join(sorted(known_resolutions))}.",
                )
            )
        screen = raw.get("screen", [])
        if not isinstance(screen, list) or not all(isinstance(s, str) for s in screen):
            problems.append(Problem(f"{path}.screen", "must be a list of field ids."))
            screen = []
        for fid in screen:
            if fid not in known_fields:
                problems.append(Problem(f"{path}.screen", f"names field {fid!r}, which is not defined."))
        if target is not None and isinstance(tname, str) and tid.isdigit():
            transitions.append(
                Transition(
                    tid,
                    tname,
                    target,
                    tuple(sources),
                    str(resolution) if resolution is not None else None,
                    tuple(screen),
                )
            )
    if len(problems) > before or initial is None:
        return None
    used = [initial] + [s for t in transitions for s in (*t.sources, t.to)]
    return Workflow(name, initial, transitions, list(dict.fromkeys(used)))


def _status(statuses: Mapping[str, Status], ref: Any) -> Status | None:
    if ref is None:
        return None
    text = str(ref)
    if text in statuses:
        return statuses[text]
    return next((s for s in statuses.values() if s.name.lower() == text.lower()), None)
