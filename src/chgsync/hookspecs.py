"""The hooks chgsync calls. One function per hook; each docstring is the hook's documentation.

``docs/plugin_hooks.md`` is generated from this module (``python -m chgsync.docgen``) and a test fails
when a hook is missing from it or its documented signature has drifted.

Registration hooks take a ``register`` callback rather than returning lists, so that chgsync can
validate each registration where it happens and add keyword arguments later without breaking
plugins. Implementations may accept any subset of a hook's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

from . import PROJECT

if TYPE_CHECKING:
    from .adapter import AdapterType
    from .lifecycle import State
    from .markers import MarkerSinkType
    from .model import Change
    from .notify import NotifierType
    from .triggers import MetricBackendType
    from .testing.emulator import EmulatorType
    from .validation import Rule

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def register_rules(register: Callable[[Rule], None]) -> None:
    """Register transition guards: rules every change must pass to move between states.

    Call ``register(Rule(name=..., check=..., description=...))`` once per rule. ``check`` receives
    a :class:`chgsync.validation.RuleContext` (the change, the target state, the clock's time, the
    policy and the other scheduled changes) and yields :class:`chgsync.validation.Violation` objects,
    one per problem, never stopping at the first. Rules must be pure: no I/O, no reading the clock.
    chgsync's own lifecycle rules are registered through this hook, so an organisation's extra rules
    (say, "database changes need a DBA approval") sit beside them as equals. Rule names are unique.
    """


@hookspec
def register_adapters(register: Callable[[AdapterType], None]) -> None:
    """Register ticketing adapters: the code that maps the canonical change onto a remote tool.

    Call ``register(AdapterType(name="jira", factory=..., description=...))``. ``factory`` receives
    the adapter's section of the daemon configuration and returns an object implementing
    :class:`chgsync.adapter.Adapter`. The name is what configuration files and ``--from`` options use.
    """


@hookspec
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    """Register emulators: local HTTP servers that behave like a remote product, for tests and demos.

    Call ``register(EmulatorType(name="jira", factory=..., description=...))``. ``factory`` accepts
    the keyword arguments of :class:`chgsync.testing.emulator.Emulator` and returns an unstarted
    emulator. ``chgsync emulate NAME`` serves what is registered under ``NAME``; an adapter plugin
    ships its tool's emulator so that its users can test without the real product.
    """


@hookspec
def register_notifiers(register: Callable[[NotifierType], None]) -> None:
    """Register notification channels (Slack, email, a status page, ...).

    Call ``register(NotifierType(name="slack", factory=..., description=...))``. ``factory``
    receives the channel's configuration and returns an object implementing
    :class:`chgsync.notify.Notifier`. Messages reach notifiers through the daemon's outbox, so a
    notifier is called at least once per message and must treat the message's ``key`` as an
    idempotency key.
    """


@hookspec
def register_marker_sinks(register: Callable[[MarkerSinkType], None]) -> None:
    """Register deploy-marker sinks: places that record "change X started/finished on service Y".

    Call ``register(MarkerSinkType(name="datadog", factory=..., description=...))``. ``factory``
    receives the sink's configuration and returns an object implementing
    :class:`chgsync.markers.MarkerSink`. Like notifiers, sinks are driven by the outbox and receive
    each marker with a stable ``key``.
    """


@hookspec
def register_metric_backends(register: Callable[[MetricBackendType], None]) -> None:
    """Register metric backends that answer rollback-trigger queries (Prometheus, ...).

    Call ``register(MetricBackendType(name="prometheus", factory=..., description=...))``.
    ``factory`` receives the backend's configuration and returns an object implementing
    :class:`chgsync.triggers.MetricBackend`. The daemon asks it, during a change's
    post-implementation validation, whether the change's rollback trigger holds.
    """


@hookspec
def change_transitioned(change: Change, previous: State, at: datetime) -> None:
    """Observe a change that has moved from ``previous`` to ``change.state`` at time ``at``.

    Called after the move is recorded. Observers must not raise to veto a move (register a rule for
    that) and must not block: anything slow belongs in the outbox. Exceptions are logged and do not
    undo the move.
    """
