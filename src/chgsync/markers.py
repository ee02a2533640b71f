"""Deploy markers: "change X started/finished/rolled back on service Y in environment Z"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    """``key`` is stable across retries of the same marker: sinks use it to deduplicate."""

    key: str
    change_id: str
    phase: MarkerPhase
    at: datetime
    services: tuple[str, ...]
    environment: str
    outcome: str | None = None
    title: str = ""


@runtime_checkable
class MarkerSink(Protocol):
    def mark(self, marker: DeployMarker) -> None:
        """Record the marker; raise :class:`chgsync.errors.RemoteError` when the sink failed."""
        ...


MarkerSinkFactory = Callable[[Mapping[str, Any]], MarkerSink]


class MarkerSinkType(Component[MarkerSinkFactory]):
    kind = "marker sink"
