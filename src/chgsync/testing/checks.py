"""Checks every plugin package's tests make of its components, written once.

Why: a notifier, marker sink or metric backend is judged by chgsync through a few contracts (it
registers through the hooks; bad settings are one ConfigError per problem, naming the setting and
never a secret; a failure is a RemoteError the outbox can decide on). Each check here states one
contract in full, so a package's test says which case it drives and what is specific to it, and
all packages are held to the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from ..errors import ConfigError, Problem, RemoteError
from ..plugins import Plugins
from .emulator import Emulator

#: The secret :func:`assert_registers` builds each emulator with: 32 letters and digits, a shape
#: every stand-in takes as a key or token.
EMULATOR_SECRET = "chgsyncregistrationcheck00000001"


def assert_registers(plugin: object, *, notifiers: Collection[str] = (), marker_sinks: Collection[str] = (),
                     metric_backends: Collection[str] = (), emulators: Collection[str] = (),
                     adapters: Collection[str] = ()) -> Plugins:
    """Register ``plugin`` (the module a package's entry point names) with a fresh :class:`Plugins`
    and check it registers exactly these components, each with a factory and a description.

    Each emulator is built (not started) with ``secret=EMULATOR_SECRET``, as ``chgsync emulate``
    builds it, and must keep that secret. The Plugins is returned so a test can go on, building a
    component from its registered factory, say.
    """
    plugins = Plugins(load_entrypoints=False)
    name = plugins.register(plugin, getattr(plugin, "__name__", None))
    wanted = {"notifiers": notifiers, "marker_sinks": marker_sinks, "metric_backends": metric_backends,
              "emulators": emulators, "adapters": adapters}
    for kind, names in wanted.items():
        found = {n: c for n, c in getattr(plugins, kind)().items() if c.plugin == name}
        assert sorted(found) == sorted(names), \
            f"{name} registers {kind} {sorted(found)}, expected {sorted(names)}"
        for component in found.values():
            assert callable(component.factory), f"{kind} {component.name!r}: the factory is not callable"
            assert component.description.strip(), f"{kind} {component.name!r} has no description"
    for emulator_name in emulators:
        built = plugins.emulators()[emulator_name].factory(secret=EMULATOR_SECRET)
        assert isinstance(built, Emulator), f"emulator {emulator_name!r} built {built!r}, not an Emulator"
        assert built.secret == EMULATOR_SECRET, f"emulator {emulator_name!r} ignored the secret it was given"
    return plugins


def config_problem(build: Callable[[], object], *, field: str, says: str = "", component: str = "",
                   hidden: Iterable[str] = ()) -> Problem:
    """Call ``build`` with bad settings; return the one problem of the :class:`ConfigError` it raises.

    The problem must be on ``field`` and contain ``says`` and ``component``; no part of the error
    may repeat any of ``hidden`` (secrets in the settings).
    """
    try:
        build()
    except ConfigError as exc:
        error = exc
    else:
        raise AssertionError(f"no ConfigError; expected one about {field!r}")
    assert [p.field for p in error.problems] == [field], f"expected one problem on {field!r}: {error}"
    [problem] = error.problems
    assert says in problem.message, f"{says!r} is not in {problem.message!r}"
    assert component in problem.message, f"{problem.message!r} does not name the component {component!r}"
    for secret in hidden:
        assert secret not in str(error), f"the error repeats a secret: {error}"
    return problem


def remote_failure(call: Callable[[], object], *, status: int | None, retryable: bool, says: str = "",
                   hidden: Iterable[str] = ()) -> RemoteError:
    """Call ``call`` (a ``send``, a ``mark``) that must fail; return the :class:`RemoteError` it raises.

    The error must carry ``status`` (None: no answer at all), be retryable or not as the outbox
    should treat it, and contain ``says``; no part of it may repeat any of ``hidden``.
    """
    try:
        call()
    except RemoteError as exc:
        error = exc
    else:
        raise AssertionError(f"no RemoteError; expected one with status {status}")
    assert error.status == status, f"status {error.status}, expected {status}: {error}"
    assert error.retryable is retryable, f"retryable is {error.retryable}, expected {retryable}: {error}"
    assert says in str(error), f"{says!r} is not in {str(error)!r}"
    for secret in hidden:
        assert secret not in str(error), f"the error repeats a secret: {error}"
    return error
