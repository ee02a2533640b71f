"""Judging a proposed move: the rule interface and the guard that runs every rule.

A rule is a pure function of a :class:`RuleContext` that yields :class:`Violation` objects. The
guard runs all of them and returns every violation, never just the first, so a person fixing a
change sees everything that stands in the way at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from .errors import ChgsyncError
from .lifecycle import State
from .model import Change
from .policy import Policy


@dataclass(frozen=True)
class Violation:
    """One reason a move may not happen. ``code`` is stable (for tooling); ``message`` is a sentence."""

    code: str
    message: str
    field: str
    rule: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field, "rule": self.rule}


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at. ``at`` is the clock's time, injected; rules never read a clock."""

    change: Change
    target: State
    at: datetime
    policy: Policy
    others: Sequence[Change] = ()

    @property
    def source(self) -> State:
        return self.change.state

    @cached_property
    def holidays(self) -> set[date]:
        years = {self.at.year, self.at.year + 1}
        if self.change.schedule.planned_start is not None:
            years.add(self.change.schedule.planned_start.year)
        # notice may count from an earlier move (submission to CAB Review), possibly in an earlier year
        years.update(h.at.year for h in self.change.history)
        return self.policy.holiday_calendar(range(min(years), max(years) + 1))


Check = Callable[[RuleContext], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    name: str
    check: Check
    description: str = ""
    plugin: str = field(default="", compare=False)


class TransitionRefused(ChgsyncError):
    """A move was refused; ``violations`` lists every reason."""

    def __init__(self, change_id: str, source: State, target: State, violations: list[Violation]) -> None:
        self.change_id = change_id
        self.source = source
        self.target = target
        self.violations = violations
        reasons = "\n".join(f"  - {v.message} [{v.code}]" for v in violations)
        super().__init__(
            f"{change_id} cannot move from {source.label} to {target.label} "
            f"({len(violations)} violation{'s' if len(violations) != 1 else ''}):\n{reasons}"
        )


class Guard:
    """Runs the registered rules. Build one per policy; it holds no per-change state."""

    def __init__(self, policy: Policy | None = None, rules: Sequence[Rule] | None = None) -> None:
        self.policy = policy or Policy()
        if rules is None:
            from .plugins import get_plugins

            rules = get_plugins().rules()
        self.rules = list(rules)

    def check(self, change: Change, target: State, at: datetime, others: Sequence[Change] = ()) -> list[Violation]:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"The time {at.isoformat()} has no zone; rules need an aware time.")
        ctx = RuleContext(change=change, target=target, at=at, policy=self.policy, others=others)
        found: list[Violation] = []
        for rule in self.rules:
            for v in rule.check(ctx):
                found.append(v if v.rule else Violation(v.code, v.message, v.field, rule.name))
        return found

    def move(self, change: Change, target: State, at: datetime, *, others: Sequence[Change] = (),
             by: str | None = None, reason: str | None = None) -> Change:
        """The change moved to ``target``, or :class:`TransitionRefused` with every violation."""
        violations = self.check(change, target, at, others)
        if violations:
            raise TransitionRefused(change.id, change.state, target, violations)
        return change.moved(target, at, by=by, reason=reason)


def field_value(obj: Any, path: str) -> list[tuple[str, Any]]:
    """Resolve a dotted path, fanning out over lists: ``risks.mitigation`` → one pair per risk row."""
    results: list[tuple[str, Any]] = [("", obj)]
    for part in path.split("."):
        nxt: list[tuple[str, Any]] = []
        for prefix, value in results:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    nxt.append((f"{prefix}[{i}].{part}", getattr(item, part, None)))
            else:
                name = f"{prefix}.{part}" if prefix else part
                nxt.append((name, getattr(value, part, None) if value is not None else None))
        results = nxt
    return results
