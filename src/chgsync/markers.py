"""Deploy markers: "change X started/finished/rolled back on service Y in environment Z".

Markers go to monitoring (Datadog, Prometheus, Grafana, PagerDuty) so that a graph that bends
can be laid beside the change that bent it. Like notices, they travel through the outbox, one
item per sink, so a sink that is down delays only its own markers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from .registry import Component


class MarkerPhase(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class DeployMarker:
    """One marker. ``key`` is stable across retries of the same marker: sinks use it to deduplicate.

    ``started_at`` is when implementation began (for a finished or rolled-back marker, so a sink
    can draw a region or report a deployment's duration). ``previous`` is what this sink returned
    for this change's earlier marker (a Grafana annotation id, say), so it can close what it opened.
    ``outcome`` is the change's outcome once known (successful, unsuccessful, rolled_back, ...).
    """

    key: str
    change_id: str
    phase: MarkerPhase
    at: datetime
    services: tuple[str, ...]
    environment: str
    outcome: str | None = None
    title: str = ""
    started_at: datetime | None = None
    change_type: str = ""
    risk: str = ""
    links: Mapping[str, str] = field(default_factory=dict)
    previous: str | None = None

    @property
    def tags(self) -> tuple[str, ...]:
        """``key:value`` tags every tag-based sink should carry (Datadog lower-cases values)."""
        tags = [f"change_id:{self.change_id.lower()}", f"env:{self.environment}", "source:chgsync",
                f"phase:{self.phase.value}"]
        tags += [f"service:{s}" for s in self.services]
        if self.outcome:
            tags.append(f"outcome:{self.outcome}")
        return tuple(tags)


@runtime_checkable
class MarkerSink(Protocol):
    def mark(self, marker: DeployMarker) -> str | None:
        """Record the marker and return the sink's id for it, if any.

        Raise :class:`chgsync.errors.RemoteError` when the sink failed; retryable errors are
        retried with backoff, others dead-lettered.
        """
        ...


MarkerSinkFactory = Callable[[Mapping[str, Any]], MarkerSink]


class MarkerSinkType(Component[MarkerSinkFactory]):
    kind = "marker sink"
