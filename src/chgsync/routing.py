"""Who hears what: a change's communication plan plus the routes in the daemon configuration.

A change's plan names channel kinds ("slack", "email", "statuspage") and when its stakeholders want
to hear (before, during, after); configured routes add channels per event, change type and
environment (the on-call Slack channel hears every implementation start, the status page every
emergency). With no routes configured every channel hears every event, which is what a team
trying chgsync out expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from .lifecycle import ChangeType
from .model import Change
from .notify import Event


class Route(BaseModel):
    """Send these events, for changes of these types in these environments, to these channels."""

    model_config = ConfigDict(extra="forbid")
    events: list[Event] = Field(description="Events to send; see chgsync.notify.Event.")
    channels: list[str] = Field(min_length=1, description="Names of configured notifiers.")
    types: list[ChangeType] = Field(default_factory=list, description="Change types; empty means all.")
    environments: list[str] = Field(default_factory=list, description="Environments; empty means all.")
    to: list[str] = Field(default_factory=list, description="Extra recipients (addresses, handles).")


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routes: list[Route] = Field(default_factory=list)
    follow_plan: bool = Field(True, description="Also use the channels named in each change's communication plan.")


class Router:
    """Decides the channels and recipients of one notice. ``channels`` maps notifier name → plugin type."""

    def __init__(self, routing: Routing, channels: Mapping[str, str]) -> None:
        self.routing = routing
        self.channels = dict(channels)
        unknown = sorted({c for r in routing.routes for c in r.channels} - set(channels))
        if unknown:
            raise ValueError(f"routes name channels that are not configured as notifiers: {', '.join(unknown)}")

    def route(self, change: Change, event: Event) -> dict[str, tuple[str, ...]]:
        """channel name → extra recipients for that channel (the plan's stakeholders are added by the caller)."""
        if not self.routing.routes and not self._planned(change):
            return {name: () for name in self.channels}
        out: dict[str, list[str]] = {}
        if self.routing.follow_plan and self._plan_wants(change, event):
            for name in self._planned(change):
                out.setdefault(name, [])
        for route in self.routing.routes:
            if event not in route.events:
                continue
            if route.types and change.type not in route.types:
                continue
            if route.environments and change.schedule.environment not in route.environments:
                continue
            for name in route.channels:
                out.setdefault(name, []).extend(route.to)
        return {name: tuple(dict.fromkeys(to)) for name, to in out.items()}

    def _planned(self, change: Change) -> list[str]:
        kinds = set(change.communication.channels)
        return [name for name, kind in self.channels.items() if name in kinds or kind in kinds]

    @staticmethod
    def _plan_wants(change: Change, event: Event) -> bool:
        timing = [t.value for t in change.communication.timing]
        return not timing or event.timing in timing


def recipients(change: Change, extra: Sequence[str]) -> tuple[str, ...]:
    """The change's stakeholders' contacts, plus ``extra``, without repeats."""
    people = [s.contact for s in change.communication.stakeholders if s.contact]
    return tuple(dict.fromkeys([*people, *filter(None, extra)]))
