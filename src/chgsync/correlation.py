"""Did a recent change cause this? Rank changes against an alert or incident, purely.

The score follows what incident tools do (PagerDuty's "most recent" and "related service",
BigPanda's time-and-tag matching), kept explainable: every suspect comes with the reasons that
put it there, in sentences a person can check. Hard filters first (same environment, the change
started before the signal and ended at most ``lookback`` before it), then a weighted score:

- time proximity, 1.0 when the signal began during implementation, else ``exp(-Δ/τ)`` with Δ the
  time since the change ended;
- overlap of affected systems with the signal's services (none known on the signal: a little
  credit, so a service-less alert still points somewhere);
- a prior from the change's risk and type.

A signal that names a change (a ``change_id`` label) makes that change certain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from .lifecycle import State
from .model import Change, Level
from .signals import Signal, normalise_env

WEIGHTS = {"time": 0.5, "scope": 0.4, "prior": 0.1}
LIKELY = 0.75


class CorrelationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lookback: timedelta = Field(timedelta(hours=24), description="How long after a change ends it stays a suspect.")
    tau: timedelta = Field(timedelta(minutes=30), description="Time proximity halves roughly every 0.7·tau.")
    min_score: float = Field(0.4, ge=0, le=1, description="Suspects scoring less are not reported.")
    limit: int = Field(3, ge=1, le=20, description="At most this many suspects per signal.")


@dataclass(frozen=True)
class Suspect:
    change_id: str
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return "likely" if self.score >= LIKELY else "suspect"


def implementation_span(change: Change) -> tuple[datetime, datetime] | None:
    """When the change was being implemented: recorded times, else its history. None if it never started."""
    start = change.schedule.actual_start or change.entered(State.IMPLEMENTING) or change.entered(State.IMPLEMENTED)
    if start is None:
        return None
    end = change.schedule.actual_end or change.entered(State.IMPLEMENTED)
    if change.state == State.IMPLEMENTING and change.schedule.actual_end is None:
        end = None  # still under way
    return start, end or start


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def score(change: Change, signal: Signal, settings: CorrelationSettings) -> Suspect | None:
    """The change as a suspect for the signal, or None when the hard filters rule it out."""
    span = implementation_span(change)
    if span is None:
        return None
    start, end = span
    ongoing = change.state == State.IMPLEMENTING and change.schedule.actual_end is None
    at = signal.started_at
    if signal.change_id and signal.change_id.lower() == change.id.lower():
        return Suspect(change.id, 1.0, (f"the alert names {change.id}",))
    env = normalise_env(change.schedule.environment)
    if signal.environment and env and signal.environment != env:
        return None
    if at < start or (not ongoing and at > end + settings.lookback):
        return None
    reasons: list[str] = []
    if ongoing or at <= end:
        time_score = 1.0
        reasons.append(f"began during its implementation ({_minutes(at - start)} after it started)")
    else:
        time_score = math.exp(-(at - end) / settings.tau)
        reasons.append(f"began {_minutes(at - end)} after it was implemented")
    systems = {s.lower() for s in change.implementation.systems}
    services = {s.lower() for s in signal.services}
    shared = sorted(systems & services)
    if shared:
        scope = 1.0
        reasons.append(f"same service {', '.join(shared)}")
    elif not services:
        scope = 0.3
        reasons.append("the alert names no service")
    else:
        scope = 0.0
    risk = change.overall_risk
    prior = {Level.HIGH: 1.0, Level.MEDIUM: 0.6, Level.LOW: 0.3}.get(risk, 0.5) if risk else 0.5
    if change.type.value == "emergency":
        prior = min(1.0, prior + 0.2)
    total = WEIGHTS["time"] * time_score + WEIGHTS["scope"] * scope + WEIGHTS["prior"] * prior
    if risk is not None:
        reasons.append(f"{risk.value} risk {change.type.value} change")
    return Suspect(change.id, round(total, 3), tuple(reasons))


def rank(signal: Signal, changes: Iterable[Change], settings: CorrelationSettings | None = None) -> list[Suspect]:
    """The suspects for ``signal``, best first, at most ``settings.limit``, each scoring ≥ ``min_score``."""
    settings = settings or CorrelationSettings()
    found = [s for c in changes if (s := score(c, signal, settings)) is not None and s.score >= settings.min_score]
    found.sort(key=lambda s: (-s.score, s.change_id))
    return found[: settings.limit]


def comment_text(signal: Signal, suspect: Suspect) -> str:
    """The note left on a suspected change's tickets."""
    where = f" on {', '.join(signal.services)}" if signal.services else ""
    link = f" ({signal.url})" if signal.url else ""
    return (f"{signal.title}{where} after Change {suspect.change_id}: chgsync rates it {suspect.label} "
            f"(score {suspect.score:.2f}) because it {'; '.join(suspect.reasons)}. Alert started "
            f"{signal.started_at:%Y-%m-%d %H:%M %Z}{link}. Confirm or dismiss before recording it as the cause.")
