"""The plugin manager and the typed facade the core calls hooks through.

Built-in behaviour is registered like any plugin (``DEFAULT_PLUGINS``). Third-party plugins come
from the entry-point group ``chgsync``; which of them load is controlled by environment variables:

``CHGSYNC_LOAD_PLUGINS``
    Comma-separated distribution names to load; set but empty loads none. Unset loads all.
    The test suite sets it empty so that whatever happens to be installed never leaks into tests.
``CHGSYNC_DISABLED_PLUGINS``
    Comma-separated entry-point or distribution names never to load.
``CHGSYNC_TRACE_PLUGINS``
    Any non-empty value prints every hook call to stderr.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys

from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points

from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from . import PROJECT, __version__, hookspecs
from .errors import PluginError

if TYPE_CHECKING:
    from .adapter import AdapterType
    from .lifecycle import State
    from .markers import MarkerSinkType
    from .model import Change
    from .notify import NotifierType
    from .triggers import MetricBackendType
    from .testing.emulator import EmulatorType
    from .validation import Rule

DEFAULT_PLUGINS: tuple[str, ...] = ("chgsync.rules",)

T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str
    hooks: tuple[str, ...]
    builtin: bool


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class Plugins:
    """Typed access to every hook. Core code calls these methods, never ``pm.hook`` directly."""

    def __init__(self, *, load_entrypoints: bool = True) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._dist: dict[str, tuple[str, str]] = {}
        for modname in DEFAULT_PLUGINS:
            self.pm.register(importlib.import_module(modname), name=modname)
            self._dist[modname] = ("chgsync", __version__)
        if load_entrypoints:
            self._load_entrypoints()
        self.pm.check_pending()
        if os.environ.get("CHGSYNC_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
            self.pm.enable_tracing()

    def _load_entrypoints(self) -> None:
        allowed = _env_list("CHGSYNC_LOAD_PLUGINS")
        blocked = _env_list("CHGSYNC_DISABLED_PLUGINS") or set()
        for ep in entry_points(group=PROJECT):
            dist = ep.dist.name if ep.dist is not None else ep.name
            if allowed is not None and dist not in allowed and ep.name not in allowed:
                continue
            if dist in blocked or ep.name in blocked:
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin names itself, it does not crash with a trace
                raise PluginError(ep.name, f"could not be imported from {ep.value!r}: {exc}") from exc
            self._checked_register(plugin, ep.name)
            self._dist[ep.name] = (dist, ep.dist.version if ep.dist is not None else "?")

    def _checked_register(self, plugin: object, name: str | None) -> str:
        """Register ``plugin``; a hook that is misspelled or takes unknown arguments is a PluginError."""
        try:
            registered = self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            raise PluginError(name or repr(plugin), str(exc)) from exc
        assert registered is not None
        return registered

    # -- registration for tests and embedding --------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> str:
        registered = self._checked_register(plugin, name)
        self._dist.setdefault(registered, ("(registered in process)", "-"))
        return registered

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._dist.pop(name, None)

    # -- registration hooks ---------------------------------------------------------------------------
    def _collect(self, hookname: str, cls: type[T]) -> dict[str, T]:
        found: dict[str, Any] = {}
        hook = getattr(self.pm.hook, hookname)
        for impl in hook.get_hookimpls():
            plugin_name = self.pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(item: object, _plugin: str = plugin_name) -> None:
                if not isinstance(item, cls):
                    raise PluginError(_plugin, f"{hookname} registered {item!r}; expected a {cls.__name__}.")
                name = getattr(item, "name")
                if name in found:
                    raise PluginError(
                        _plugin, f"{cls.__name__} {name!r} is already registered by plugin '{found[name].plugin}'."
                    )
                found[name] = dataclasses.replace(item, plugin=_plugin)  # type: ignore[type-var]

            impl.function(**{arg: register for arg in impl.argnames})
        return found

    def rules(self) -> list[Rule]:
        from .validation import Rule

        return list(self._collect("register_rules", Rule).values())

    def adapters(self) -> dict[str, AdapterType]:
        from .adapter import AdapterType

        return self._collect("register_adapters", AdapterType)

    def emulators(self) -> dict[str, EmulatorType]:
        from .testing.emulator import EmulatorType

        return self._collect("register_emulators", EmulatorType)

    def notifiers(self) -> dict[str, NotifierType]:
        from .notify import NotifierType

        return self._collect("register_notifiers", NotifierType)

    def marker_sinks(self) -> dict[str, MarkerSinkType]:
        from .markers import MarkerSinkType

        return self._collect("register_marker_sinks", MarkerSinkType)

    def metric_backends(self) -> dict[str, MetricBackendType]:
        from .triggers import MetricBackendType

        return self._collect("register_metric_backends", MetricBackendType)

    # -- observers -----------------------------------------------------------------------------------
    def change_transitioned(self, change: Change, previous: State, at: datetime) -> list[Exception]:
        """Tell every observer; return (rather than raise) what they raised, so a move is never undone."""
        errors: list[Exception] = []
        for impl in reversed(self.pm.hook.change_transitioned.get_hookimpls()):
            kwargs = {"change": change, "previous": previous, "at": at}
            try:
                impl.function(**{a: kwargs[a] for a in impl.argnames})
            except Exception as exc:  # observers cannot veto; the caller logs these
                errors.append(exc)
        return errors

    # -- introspection -------------------------------------------------------------------------------
    def describe(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            dist, version = self._dist.get(name, ("?", "?"))
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            infos.append(PluginInfo(name, version, dist, hooks, builtin=name in DEFAULT_PLUGINS))
        return sorted(infos, key=lambda i: (not i.builtin, i.name))


_default: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use (import cost is paid only when needed)."""
    global _default
    if _default is None:
        _default = Plugins()
    return _default


def reset_plugins() -> None:
    global _default
    _default = None


__all__ = ["DEFAULT_PLUGINS", "PluginInfo", "Plugins", "get_plugins", "reset_plugins"]


