"""The built-in lifecycle rules, registered through ``register_rules`` exactly as a plugin's are.

Each rule is a pure function of a :class:`chgsync.validation.RuleContext`; codes are stable and
documented in ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from . import hookimpl
from .lifecycle import TERMINAL, ChangeType, State, allowed_targets
from .model import Change, Decision, Outcome, Verdict, point_label
from .schedule import (
    Interval,
    blackouts_overlapping,
    earliest_start,
    format_local,
    next_window,
    window_containing,
)
from .validation import Rule, RuleContext, Violation, field_value

V = Violation
PLANNED_MOVES = frozenset({State.SCHEDULED, State.IMPLEMENTING})

LABELS: dict[str, str] = {
    "title": "a title",
    "justification.reason": "a business justification",
    "justification.impact_if_not_done": "the business impact of not doing it",
    "implementation.steps": "implementation steps",
    "implementation.systems": "the systems affected",
    "risks": "a risk assessment",
    "risks.mitigation": "a mitigation for every risk",
    "rollback.trigger": "a rollback trigger",
    "rollback.steps": "rollback steps",
    "rollback.expected_duration": "the expected rollback time",
    "testing.pre_production": "pre-production test evidence",
    "testing.validation": "how success will be validated",
    "communication.stakeholders": "the stakeholders to inform",
    "communication.channels": "the communication channels",
    "schedule.planned_start": "a planned start",
    "schedule.planned_end": "a planned end",
    "schedule.actual_start": "the actual start",
    "schedule.actual_end": "the actual end",
    "catalog_entry": "the catalog entry (pre-approved runbook) it follows",
    "emergency.authorizer": "the designated authority who authorised it",
    "emergency.threshold": "the emergency threshold that was met",
    "emergency.retrospective_link": "a link to the retrospective ticket",
    "emergency.postmortem_link": "a link to the post-mortem",
    "outcome": "an outcome",
    "close_notes": "close notes",
}


def _empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _planned(change: Change) -> Interval | None:
    s = change.schedule
    if s.planned_start is None or s.planned_end is None:
        return None
    return Interval(s.planned_start, s.planned_end)


def _kind(change: Change) -> str:
    return f"{'An' if change.type == ChangeType.EMERGENCY else 'A'} {change.type.value} change"


# -- lifecycle ---------------------------------------------------------------------------------------
def check_lifecycle(ctx: RuleContext) -> Iterator[Violation]:
    """The move is an edge of the lifecycle for the change's type."""
    c, target = ctx.change, ctx.target
    if target == c.state:
        yield V("transition.same_state", f"{c.id} is already {target.label}.", "state")
    elif c.state in TERMINAL:
        yield V("transition.from_terminal", f"{c.id} is {c.state.label}, which is final; it cannot move again.",
                "state")
    elif target not in allowed_targets(c.type, c.state):
        allowed = ", ".join(s.label for s in sorted(allowed_targets(c.type, c.state))) or "nothing"
        yield V("transition.not_allowed",
                f"{_kind(c)} cannot go from {c.state.label} to {target.label}; from {c.state.label} it may go to "
                f"{allowed}.", "state")


# -- completeness ------------------------------------------------------------------------------------
def check_completeness(ctx: RuleContext) -> Iterator[Violation]:
    """The parts the policy requires for the target state are filled in."""
    c = ctx.change
    for path in ctx.policy.requirements.get(c.type, {}).get(ctx.target, []):
        for name, value in field_value(c, path):
            if _empty(value):
                what = LABELS.get(path, path.replace("_", " "))
                yield V(f"missing.{path}", f"{_kind(c)} needs {what} ({name}) before it can be {ctx.target.label}.",
                        name)


# -- standard change catalog -------------------------------------------------------------------------
def check_catalog(ctx: RuleContext) -> Iterator[Violation]:
    """A standard change follows a known catalog entry and stays within it."""
    c = ctx.change
    if c.type != ChangeType.STANDARD or ctx.target not in PLANNED_MOVES or c.catalog_entry is None:
        return
    entry = ctx.policy.catalog.get(c.catalog_entry)
    if entry is None:
        known = ", ".join(sorted(ctx.policy.catalog)) or "none are defined in the policy"
        yield V("catalog.unknown_entry",
                f"Standard change {c.id} follows catalog entry '{c.catalog_entry}', which is not in the catalog "
                f"(known entries: {known}).", "catalog_entry")
        return
    if entry.systems:
        allowed = {s.lower() for s in entry.systems}
        for i, system in enumerate(c.implementation.systems):
            if system.lower() not in allowed:
                yield V("catalog.system_not_covered",
                        f"Catalog entry '{c.catalog_entry}' is pre-approved for {', '.join(entry.systems)}, "
                        f"not for {system}; use a normal change.", f"implementation.systems[{i}]")
    duration = c.schedule.planned_duration
    if entry.max_duration is not None and duration is not None and duration > entry.max_duration:
        yield V("catalog.too_long",
                f"Catalog entry '{c.catalog_entry}' allows at most {entry.max_duration}, but {c.id} is planned "
                f"for {duration}.", "schedule.planned_end")
    risk = c.overall_risk
    if risk is not None and risk.rank > entry.max_risk.rank:
        yield V("catalog.risk_too_high",
                f"Catalog entry '{c.catalog_entry}' is pre-approved up to {entry.max_risk.value} risk, but {c.id} "
                f"is assessed {risk.value}; use a normal change.", "risks")


# -- CAB decisions -----------------------------------------------------------------------------------
def check_approvals(ctx: RuleContext) -> Iterator[Violation]:
    """The CAB roles required by type and risk approved; deferrals and rejections give reasons."""
    c, target, policy = ctx.change, ctx.target, ctx.policy
    latest = c.cab.latest()
    if target == State.APPROVED:
        required = policy.cab.roles_for(c.type, c.overall_risk)
        risk = c.overall_risk.value if c.overall_risk else "unassessed (treated as high)"
        for role in required:
            decision = latest.get(role)
            if decision is None:
                yield V("approval.missing",
                        f"{_kind(c)} at {risk} risk needs the approval of the {role.replace('_', ' ')}; "
                        "there is none.", "cab.approvals")
            elif decision.decision == Decision.REJECT:
                yield V("approval.rejected",
                        f"The {role.replace('_', ' ')} ({decision.approver}) rejected {c.id}: "
                        f"{decision.reason or 'no reason given'}.", "cab.approvals")
            elif decision.decision == Decision.DEFER:
                yield V("approval.deferred",
                        f"The {role.replace('_', ' ')} ({decision.approver}) deferred {c.id}: "
                        f"{decision.reason or 'no reason given'}.", "cab.approvals")
        for role, decision in latest.items():
            if role not in required and decision.decision == Decision.REJECT:
                yield V("approval.rejected",
                        f"The {role.replace('_', ' ')} ({decision.approver}) rejected {c.id}: "
                        f"{decision.reason or 'no reason given'}.", "cab.approvals")
    if target in (State.APPROVED, State.IMPLEMENTING) and policy.cab.forbid_self_approval and c.requester:
        for i, a in enumerate(c.cab.approvals):
            if a.decision == Decision.APPROVE and a.approver.casefold() == c.requester.casefold():
                yield V("approval.self_approval",
                        f"{a.approver} requested {c.id} and cannot also approve it as {a.role.replace('_', ' ')}.",
                        f"cab.approvals[{i}]")
    if c.state == State.CAB_REVIEW and target == State.DRAFT:
        defers = [a for a in latest.values() if a.decision == Decision.DEFER]
        if not defers:
            yield V("cab.defer_missing", f"{c.id} can only go back to Draft from CAB Review when the CAB defers it.",
                    "cab.approvals")
        elif not any(a.reason for a in defers):
            yield V("cab.defer_reason_missing", f"The CAB's deferral of {c.id} must give a reason.", "cab.approvals")
    if target == State.REJECTED:
        rejects = [a for a in latest.values() if a.decision == Decision.REJECT]
        if not rejects:
            yield V("cab.reject_missing", f"{c.id} can only be Rejected by a CAB decision to reject it.",
                    "cab.approvals")
        elif not any(a.reason for a in rejects):
            yield V("cab.reject_reason_missing", f"The CAB's rejection of {c.id} must give a reason.",
                    "cab.approvals")


def check_emergency_authority(ctx: RuleContext) -> Iterator[Violation]:
    """An emergency change skipping the e-CAB has the designated authority's approval."""
    c = ctx.change
    if c.type != ChangeType.EMERGENCY or ctx.target != State.IMPLEMENTING or c.state != State.DRAFT:
        return
    roles = ctx.policy.emergency.authority_roles
    if not any(a.role in roles and a.decision == Decision.APPROVE for a in c.cab.latest().values()):
        yield V("emergency.not_authorised",
                f"Emergency change {c.id} may skip the e-CAB only with the approval of "
                f"{' or '.join(r.replace('_', ' ') for r in roles)}; there is none.", "cab.approvals")


# -- timing ------------------------------------------------------------------------------------------
def check_lead_time(ctx: RuleContext) -> Iterator[Violation]:
    """Changes with a lead time were submitted enough business days before the planned start."""
    c, policy = ctx.change, ctx.policy
    days = policy.lead_time_business_days.get(c.type)
    if not days or ctx.target not in (State.CAB_REVIEW, State.APPROVED, State.SCHEDULED):
        return
    start = c.schedule.planned_start
    if start is None:
        return
    submitted = ctx.at if ctx.target == State.CAB_REVIEW else (c.entered(State.CAB_REVIEW) or ctx.at)
    earliest = earliest_start(submitted, days, policy.zone, ctx.holidays)
    if start < earliest:
        zone = policy.zone
        yield V("lead_time.too_short",
                f"{_kind(c)} needs {days} business days' notice: submitted {format_local(submitted, zone)}, it may "
                f"start from {format_local(earliest, zone)}, but it is planned for {format_local(start, zone)}.",
                "schedule.planned_start")


def check_window(ctx: RuleContext) -> Iterator[Violation]:
    """The planned time sits inside a change window; implementation starts inside it."""
    c, policy = ctx.change, ctx.policy
    if ctx.target not in PLANNED_MOVES or c.type not in policy.window_types:
        return
    windows = policy.windows.get(c.schedule.environment)
    planned = _planned(c)
    if not windows or planned is None:
        return
    zone = policy.zone
    if window_containing(windows, zone, planned) is None:
        nxt = next_window(windows, zone, max(ctx.at, planned.start - timedelta(days=1)))
        hint = f" The next window opens {format_local(nxt.start, zone)}." if nxt else ""
        yield V("window.outside",
                f"{c.id} is planned for {format_local(planned.start, zone)} to {format_local(planned.end, zone)}, "
                f"which is not inside a {c.schedule.environment} change window.{hint}", "schedule.planned_start")
    if ctx.target == State.IMPLEMENTING:
        if ctx.at < planned.start:
            yield V("window.not_open",
                    f"{c.id} may start no earlier than its planned start, {format_local(planned.start, zone)}.",
                    "schedule.planned_start")
        elif ctx.at >= planned.end:
            yield V("window.passed",
                    f"{c.id}'s planned window ended {format_local(planned.end, zone)}; reschedule it.",
                    "schedule.planned_end")
    est = c.schedule.estimated_duration
    if est is not None and est > planned.end - planned.start:
        yield V("schedule.estimate_exceeds_window",
                f"{c.id} is estimated to take {est}, longer than its planned window of {planned.end - planned.start}.",
                "schedule.estimated_duration")


def _interval_at_move(ctx: RuleContext) -> Interval | None:
    planned = _planned(ctx.change)
    if planned is not None:
        return planned
    if ctx.target == State.IMPLEMENTING:
        est = ctx.change.schedule.estimated_duration or timedelta(minutes=1)
        return Interval(ctx.at, ctx.at + est)
    return None


def check_blackout(ctx: RuleContext) -> Iterator[Violation]:
    """The planned time avoids blackout periods unless an allowed role overrode them."""
    c, policy = ctx.change, ctx.policy
    if ctx.target not in PLANNED_MOVES:
        return
    interval = _interval_at_move(ctx)
    if interval is None:
        return
    zone = policy.zone
    for b in blackouts_overlapping(policy.blackouts, interval):
        if c.type not in b.applies_to:
            continue
        overrides = [o for o in c.cab.overrides if o.blackout == b.name]
        if any(o.role in b.override_roles for o in overrides):
            continue
        for o in overrides:
            yield V("blackout.override_not_allowed",
                    f"{o.by} overrode blackout '{b.name}' as {o.role.replace('_', ' ')}, but only "
                    f"{', '.join(r.replace('_', ' ') for r in b.override_roles)} may.", "cab.overrides")
        yield V("blackout.overlap",
                f"{c.id} overlaps blackout '{b.name}' ({format_local(b.start, zone)} to {format_local(b.end, zone)})"
                f"{': ' + b.reason if b.reason else ''}.", "schedule.planned_start")


def check_conflicts(ctx: RuleContext) -> Iterator[Violation]:
    """No other planned change touches the same system at an overlapping time."""
    c, policy = ctx.change, ctx.policy
    if ctx.target not in PLANNED_MOVES | {State.APPROVED}:
        return
    mine = _interval_at_move(ctx)
    if mine is None:
        return
    mine = mine.widened(policy.conflicts.margin)
    systems = {s.casefold(): s for s in c.implementation.systems}
    for other in ctx.others:
        if other.id == c.id or other.state not in policy.conflicts.states:
            continue
        theirs = _planned(other)
        if theirs is None or not mine.overlaps(theirs):
            continue
        shared = sorted(systems[s.casefold()] for s in other.implementation.systems if s.casefold() in systems)
        if shared:
            zone = policy.zone
            yield V("conflict.overlap",
                    f"{c.id} and {other.id} ({other.state.label}) both touch {', '.join(shared)} and overlap: "
                    f"{other.id} runs {format_local(theirs.start, zone)} to {format_local(theirs.end, zone)}.",
                    "implementation.systems")


def check_checklist(ctx: RuleContext) -> Iterator[Violation]:
    """The pre-implementation checklist is complete before implementation starts."""
    c = ctx.change
    if ctx.target != State.IMPLEMENTING:
        return
    for item in ctx.policy.checklist.get(c.type, []):
        if not getattr(c.checklist, item):
            label = (type(c.checklist).model_fields[item].description or item.replace("_", " ")).rstrip(".")
            yield V("checklist.incomplete",
                    f"Pre-implementation checklist for {c.id}: '{label}' is not done.", f"checklist.{item}")


# -- post-implementation validation ------------------------------------------------------------------
SUCCESS = frozenset({Outcome.SUCCESSFUL, Outcome.SUCCESSFUL_WITH_ISSUES})


def check_validation(ctx: RuleContext) -> Iterator[Violation]:
    """A change closes as successful only after its validation points pass, or with an explicit override."""
    c, policy = ctx.change, ctx.policy
    if ctx.target != State.CLOSED or c.outcome not in SUCCESS or c.close_override is not None:
        return
    # successful_with_issues admits a failed check (that is the issue); neither closes with one missing
    strict = c.outcome == Outcome.SUCCESSFUL
    implemented = c.entered(State.IMPLEMENTED)
    zone = policy.zone
    how = (f"record it with `chgsync validate-point {c.id} --point {{label}} --result pass|fail`, or give a "
           "close override")
    for point in policy.validation_points:
        label = point_label(point)
        due = implemented + point if implemented is not None else None
        result = c.validation(point)
        when = f", due {format_local(due, zone)}," if due is not None else ""
        if result is None:
            yield V("validation.pending",
                    f"{c.id} cannot close as {c.outcome.value}: its {label} validation{when} has no result yet; "
                    f"{how.format(label=label)}.", "validations")
        elif due is not None and result.at < due:
            yield V("validation.early",
                    f"{c.id}'s {label} validation was recorded {format_local(result.at, zone)}, before it was due "
                    f"({format_local(due, zone)}); {how.format(label=label)} once it is due.", "validations")
        elif strict and result.result == Verdict.FAIL:
            yield V("validation.failed",
                    f"{c.id}'s {label} validation failed ({result.by}: {result.note or 'no note'}), so it cannot "
                    "close as successful: record a passing re-check, close it as successful_with_issues or "
                    "unsuccessful, or give a close override.", "validations")


def _rule(name: str, check: Callable[[RuleContext], Iterator[Violation]]) -> Rule:
    return Rule(name=name, check=check, description=(check.__doc__ or "").strip())



BUILTIN_RULES: tuple[Rule, ...] = (
    _rule("lifecycle", check_lifecycle),
    _rule("completeness", check_completeness),
    _rule("catalog", check_catalog),
    _rule("approvals", check_approvals),
    _rule("emergency_authority", check_emergency_authority),
    _rule("lead_time", check_lead_time),
    _rule("window", check_window),
    _rule("blackout", check_blackout),
    _rule("conflicts", check_conflicts),
    _rule("checklist", check_checklist),
    _rule("validation", check_validation),
)


@hookimpl
def register_rules(register: Callable[[Rule], None]) -> None:
    for rule in BUILTIN_RULES:
        register(rule)
