"""Rollback triggers: does a change's machine-checkable condition hold right now?

A change's rollback plan may carry a condition (a query, a comparison and a threshold, held for
some time). A metric backend plugin (Prometheus, ...) answers the query as a series of samples;
:func:`judge` decides, purely, from those samples. No data is *unknown*, never healthy: a service
that stopped receiving traffic after a change must not pass as a good change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from .model import MetricCondition
from .registry import Component


class TriggerState(StrEnum):
    HOLDS = "holds"          # rollback recommended
    CLEAR = "clear"
    UNKNOWN = "unknown"      # no samples, or only NaN


@dataclass(frozen=True)
class TriggerVerdict:
    state: TriggerState
    value: float | None  # the latest sample
    reason: str


Sample = tuple[datetime, float]


@runtime_checkable
class MetricBackend(Protocol):
    """Where rollback-trigger queries are answered."""

    def series(self, query: str, start: datetime, end: datetime, step: timedelta) -> list[Sample]:
        """The query's value from ``start`` to ``end`` every ``step``, oldest first.

        A query that returns several series is reduced by the backend to the worst (largest)
        value per step; raise :class:`chgsync.errors.RemoteError` when the backend failed, and
        :class:`chgsync.errors.InputError` for a query it rejects as malformed.
        """
        ...


MetricBackendFactory = Callable[[Mapping[str, Any]], MetricBackend]


class MetricBackendType(Component[MetricBackendFactory]):
    kind = "metric backend"


def window(condition: MetricCondition, now: datetime, step: timedelta) -> tuple[datetime, datetime]:
    """The span to ask for: the hold time (at least one step) ending now."""
    return now - max(condition.for_, step), now


def judge(condition: MetricCondition, samples: Sequence[Sample], now: datetime) -> TriggerVerdict:
    """HOLDS when every usable sample in the hold window breaches; with no hold time, the latest one."""
    start = now - condition.for_
    usable = [(t, v) for t, v in samples if not math.isnan(v) and t <= now]
    if not usable:
        return TriggerVerdict(TriggerState.UNKNOWN, None, f"{condition.query} returned no data.")
    latest = usable[-1][1]
    held = [(t, v) for t, v in usable if t >= start] if condition.for_ else usable[-1:]
    if not held:
        return TriggerVerdict(TriggerState.UNKNOWN, latest, f"{condition.query} has no data in the last {condition.for_}.")
    breaching = [v for _, v in held if condition.holds(v)]
    desc = f"{condition.query} {condition.op} {condition.threshold:g}"
    if len(breaching) == len(held):
        span = f" for {condition.for_}" if condition.for_ else ""
        return TriggerVerdict(TriggerState.HOLDS, latest, f"{desc} held{span} (latest value {latest:g}).")
    return TriggerVerdict(TriggerState.CLEAR, latest, f"{desc} does not hold (latest value {latest:g}).")
