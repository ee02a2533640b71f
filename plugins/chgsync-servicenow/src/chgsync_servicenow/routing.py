"""Planning a state move on ServiceNow: which states to PATCH, in order, to reach a target.

A change moves one state per write, along its type's state model, and ServiceNow refuses (403) a
move the model lacks, including a "move" to the state the change is already in. The mapping gives
the preferred stops (``via``, e.g. Assess on the way to Authorize) and the per-type model
(``record.state_model``). The plan is the via stops the model can reach, then the target, each leg
the shortest path in the model; a stop the type never passes (an emergency change skips Assess) is
left out. Without a model (or when it has no path) the plan is the literal stops: the instance is the
authority and answers with its own refusal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence


def shortest(graph: Mapping[str, Sequence[str]], start: str, goal: str) -> list[str] | None:
    """States after ``start`` up to and including ``goal`` (breadth first), or None when unreachable."""
    if start == goal:
        return []
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, path = queue.popleft()
        for nxt in graph.get(state, ()):
            if nxt in seen:
                continue
            if nxt == goal:
                return path + [nxt]
            seen.add(nxt)
            queue.append((nxt, path + [nxt]))
    return None


def plan(current: str, target: str, via: Sequence[str] = (), graph: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The states to write, in order, to go from ``current`` to ``target`` (empty when already there)."""
    if current == target:
        return []
    stops = list(via)
    if current in stops:  # already past these stops
        stops = stops[stops.index(current) + 1:]
    stops = [s for s in stops if s != target] + [target]
    route: list[str] = []
    position = current
    for stop in stops:
        if stop == position:
            continue
        if not graph:
            route.append(stop)
            position = stop
            continue
        leg = shortest(graph, position, stop)
        if leg is None:
            if stop != target:
                continue  # this type never passes that stop
            return route + [target]  # no known way: try it and let the instance answer
        route += leg
        position = stop
    return route
