"""Hypothesis strategies for canonical change values, for round-trip property tests.

chgsync's own codec and adapter tests use these, and a plugin author can build the same test for
an adapter on them: ``canonical → the JSON the adapter sends → canonical`` is the identity on every
mapped field, for every value drawn here. Where a tool holds less than the model allows (one line of
text, times to the second), narrow locally and say why, e.g. ``changes(times=moments(timedelta(seconds=1)),
parts={"title": one_line})``.

The values are what the model allows, less what the core codecs' text formats document they cannot
hold: a stakeholder name ending in ``>``, an approver containing ``": "``, a justification reason
containing ``"Impact if not done: "``, a metric query with a newline or ``" for "``. Text is never
empty (tools hold empty text as no value).

Needs ``hypothesis``, a test dependency only: import this module from tests, never from chgsync
itself (nor from :mod:`chgsync.testing`'s other modules, which plugins load as pytest plugins).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ..lifecycle import ChangeType
from ..model import (
    Approval,
    Change,
    Checklist,
    Decision,
    Justification,
    Level,
    MetricCondition,
    Outcome,
    Override,
    RiskRow,
    RollbackPlan,
    RollbackTrigger,
    Stakeholder,
    Step,
    Timing,
)

__all__ = [
    "approvals",
    "change_ids",
    "changes",
    "checklists",
    "conditions",
    "durations",
    "free_text",
    "justifications",
    "levels",
    "moments",
    "overrides",
    "risks",
    "rollbacks",
    "slugs",
    "stakeholders",
    "steps",
    "text",
    "triggers",
    "urls",
    "zones",
]

# -- scalars -------------------------------------------------------------------------------------------
#: A text slot (title, reason, step, system...): non-empty after stripping; any characters, newlines,
#: backslashes and "1." included.
text = st.text(min_size=1, max_size=40).map(str.strip).filter(bool)
#: Free text that keeps its whitespace (description, close notes); not empty.
free_text = st.text(min_size=1, max_size=60)
#: A slug (role, channel, environment, catalog entry, emergency threshold).
slugs = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
#: A change ID, up to the model's 64 characters.
change_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,63}", fullmatch=True)
#: A likelihood or impact.
levels = st.sampled_from(list(Level))
#: A duration in whole seconds, up to ten days.
durations = st.integers(min_value=0, max_value=10 * 24 * 3600).map(lambda s: timedelta(seconds=s))
#: A link (retrospective, post-mortem).
urls = st.builds(lambda p: f"https://wiki.example.com/{p}",
                 st.from_regex(r"[A-Za-z0-9_/-]{0,30}", fullmatch=True))
#: The zones of :func:`moments`: UTC, a half-hour offset and a negative one.
zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def moments(resolution: timedelta = timedelta(microseconds=1)) -> SearchStrategy[datetime]:
    """Aware times from the last day of 1999 to the end of 2099 (wall-clock), in one of :data:`zones`,
    truncated to ``resolution`` (a tool that keeps milliseconds: ``timedelta(milliseconds=1)``; whole
    seconds: ``timedelta(seconds=1)``)."""
    if resolution <= timedelta(0):
        raise ValueError("resolution must be positive")
    last = datetime(2099, 12, 31, 23, 59, 59, 999_999)
    return st.datetimes(min_value=datetime(1999, 12, 31), max_value=last, timezones=zones).map(
        lambda d: d - (d - _EPOCH) % resolution)


# -- the parts of a change -----------------------------------------------------------------------------
#: Implementation or rollback steps (a list).
steps = st.lists(st.builds(Step, description=text, command=st.none() | text, owner=st.none() | text),
                 max_size=4)
#: A risk assessment (a list of rows).
risks = st.lists(st.builds(RiskRow, risk=text, likelihood=levels, impact=levels, mitigation=st.none() | text),
                 max_size=4)
#: A rollback trigger's metric condition, or none.
conditions = st.none() | st.builds(
    lambda q, op, t, f: MetricCondition.model_validate({"query": q, "op": op, "threshold": t, "for": f}),
    text.filter(lambda s: "\n" not in s and " for " not in s),
    st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    durations,
)
#: A rollback trigger, or none.
triggers = st.none() | st.builds(RollbackTrigger, description=text, condition=conditions)
#: A rollback plan: trigger (with or without a metric condition), steps, expected duration; any may be unset.
rollbacks = st.builds(RollbackPlan, trigger=triggers, steps=steps, expected_duration=st.none() | durations)
#: A justification; either part may be unset.
justifications = st.builds(Justification,
                           reason=st.none() | text.filter(lambda s: "Impact if not done: " not in s),
                           impact_if_not_done=st.none() | text)
#: Stakeholders (a list).
stakeholders = st.lists(st.builds(Stakeholder, name=text.filter(lambda s: not s.endswith(">")),
                                  contact=st.none() | text), max_size=4)
#: CAB decisions (a list), at any UTC time to the microsecond.
approvals = st.lists(st.builds(Approval, role=slugs, approver=text.filter(lambda s: ": " not in s),
                               decision=st.sampled_from(list(Decision)), reason=st.none() | text,
                               at=st.datetimes(timezones=st.just(UTC))), max_size=3)
#: Blackout overrides (a list).
overrides = st.lists(st.builds(Override, blackout=text, by=text, role=slugs, reason=text,
                               at=st.datetimes(timezones=st.just(UTC))), max_size=2)
#: A pre-implementation checklist, any items ticked.
checklists = st.fixed_dictionaries({name: st.booleans() for name in Checklist.model_fields}).map(
    lambda items: Checklist(**items))


# -- whole changes ---------------------------------------------------------------------------------------
class _Maybe:
    """A group of parts that is either none or all drawn (``emergency``)."""

    def __init__(self, parts: dict[str, Any]) -> None:
        self.parts = parts


def _spec(times: SearchStrategy[datetime]) -> dict[str, Any]:
    """Every part a change manager writes, by canonical path (as mapping files name them)."""
    return {
        "id": change_ids,
        "title": text,
        "type": st.sampled_from(list(ChangeType)),
        "description": st.none() | free_text,
        "requester": st.none() | text,
        "implementer": st.none() | text,
        "catalog_entry": st.none() | slugs,
        "justification": justifications,
        "implementation": {"steps": steps, "systems": st.lists(text, max_size=5),
                           "dependencies": st.lists(text, max_size=5)},
        "risks": risks,
        "rollback": rollbacks,
        "testing": {"pre_production": st.none() | text, "evidence": st.lists(text, max_size=3),
                    "validation": st.lists(text, max_size=4)},
        "communication": {"stakeholders": stakeholders,
                          "timing": st.lists(st.sampled_from(list(Timing)), max_size=3),
                          "channels": st.lists(slugs, max_size=3)},
        "schedule": {"environment": slugs,
                     "planned_start": st.none() | times, "planned_end": st.none() | times,
                     "estimated_duration": st.none() | durations,
                     "actual_start": st.none() | times, "actual_end": st.none() | times},
        "cab": {"approvals": approvals, "overrides": overrides},
        "checklist": checklists,
        "emergency": _Maybe({"authorizer": st.none() | text, "threshold": st.none() | slugs,
                             "retrospective_due": st.none() | times, "retrospective_link": st.none() | urls,
                             "postmortem_due": st.none() | times, "postmortem_link": st.none() | urls}),
        "outcome": st.none() | st.sampled_from(list(Outcome)),
        "close_notes": st.none() | free_text,
    }


def _paths(spec: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, part in spec.items():
        path = prefix + key
        out.add(path)
        inner = part.parts if isinstance(part, _Maybe) else part
        if isinstance(inner, dict):
            out |= _paths(inner, path + ".")
    return out


def _draw(draw: st.DrawFn, part: Any, path: str, parts: Mapping[str, SearchStrategy[Any]]) -> Any:
    if path in parts:
        return draw(parts[path])
    if isinstance(part, _Maybe):
        return _draw(draw, part.parts, path, parts) if draw(st.booleans()) else None
    if isinstance(part, dict):
        return {key: _draw(draw, inner, f"{path}.{key}" if path else key, parts)
                for key, inner in part.items()}
    return draw(part)


def _ordered(schedule: Any) -> Any:
    """Start before end, as the model asks (a planned window may not be empty): independent draws, sorted."""
    if isinstance(schedule, dict):
        windows = (("planned_start", "planned_end", True), ("actual_start", "actual_end", False))
        for start, end, strict in windows:
            a, b = schedule.get(start), schedule.get(end)
            if a is not None and b is not None:
                if b < a:
                    schedule[start], schedule[end] = b, a
                elif strict and a == b:
                    schedule[end] = None
    return schedule


def changes(*, times: SearchStrategy[datetime] | None = None,
            parts: Mapping[str, SearchStrategy[Any]] | None = None) -> SearchStrategy[Change]:
    """Whole changes, every part a change manager writes drawn (state, links and history, the sync's
    bookkeeping, stay at their defaults).

    ``times``: the strategy for the times a tool holds as date-times (schedule, emergency due dates);
    default :func:`moments` to the microsecond. ``parts``: strategies that replace the default of a part,
    by its canonical path as mapping files write it (``"title"``, ``"emergency.authorizer"``,
    ``"schedule.environment"``), for what a tool holds less of. Planned and actual start and end are
    drawn independently and then ordered, so either may be set alone.
    """
    spec = _spec(times if times is not None else moments())
    parts = dict(parts or {})
    if unknown := set(parts) - _paths(spec):
        raise ValueError(f"no such part of a change: {', '.join(sorted(unknown))}")

    @st.composite
    def draw_change(draw: st.DrawFn) -> Change:
        data = _draw(draw, spec, "", parts)
        data["schedule"] = _ordered(data["schedule"])
        return Change.model_validate(data)

    return draw_change()
