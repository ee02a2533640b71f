"""The checks chgsync.testing gives plugin tests pass what keeps the contract and fail what breaks it."""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import chgsync
from chgsync.errors import ConfigError, Problem, RateLimited, RemoteError
from chgsync.markers import MarkerPhase
from chgsync.notify import NotifierType
from chgsync.testing import ManualClock, assert_registers, config_problem, remote_failure
from chgsync.testing.emulator import Emulator, EmulatorType
from chgsync.testing.recorders import Recorder
from chgsync.testing.samples import sample_marker, sample_notice


def plugin_module(*, notifier: str = "pager", description: str = "Pages someone.") -> types.ModuleType:
    module = types.ModuleType("chgsync_pager.plugin")

    @chgsync.hookimpl
    def register_notifiers(register: Callable[[NotifierType], None]) -> None:
        register(NotifierType(name=notifier, factory=lambda settings: Recorder(), description=description))

    @chgsync.hookimpl
    def register_emulators(register: Callable[[EmulatorType], None]) -> None:
        register(EmulatorType(name="pager", factory=Emulator, description="A pager stand-in."))

    module.register_notifiers = register_notifiers  # type: ignore[attr-defined]
    module.register_emulators = register_emulators  # type: ignore[attr-defined]
    return module


def test_assert_registers_passes_a_plugin_that_registers_what_it_says() -> None:
    plugins = assert_registers(plugin_module(), notifiers=["pager"], emulators=["pager"])
    assert plugins.notifiers()["pager"].plugin == "chgsync_pager.plugin"


BOTH = {"notifiers": ["pager"], "emulators": ["pager"]}


@pytest.mark.parametrize(("module", "wanted", "words"), [
    (plugin_module(notifier="pagers"), BOTH, "registers notifiers"),
    (plugin_module(), {"notifiers": ["pager"]}, "registers emulators"),
    (plugin_module(), {**BOTH, "marker_sinks": ["pager"]}, "marker_sinks"),
    (plugin_module(description=" "), BOTH, "no description"),
])
def test_assert_registers_fails_a_plugin_that_does_not(module: types.ModuleType, wanted: dict[str, list[str]],
                                                      words: str) -> None:
    with pytest.raises(AssertionError, match=words):
        assert_registers(module, **wanted)


def refuse(*problems: Problem) -> Callable[[], None]:
    def build() -> None:
        raise ConfigError(None, list(problems))

    return build


def test_config_problem_returns_the_one_problem() -> None:
    problem = config_problem(refuse(Problem("token", "expected xoxb-… (slack notifier).")), field="token",
                             says="xoxb-", component="slack notifier", hidden=["hunter22"])
    assert problem.field == "token"


@pytest.mark.parametrize(("build", "words"), [
    (lambda: None, "no ConfigError"),
    (refuse(Problem("token", "bad (slack notifier)."), Problem("channel", "bad.")), "one problem"),
    (refuse(Problem("channel", "bad (slack notifier).")), "one problem on 'token'"),
    (refuse(Problem("token", "bad (slack notifier).")), "'xoxb-' is not in"),
    (refuse(Problem("token", "expected xoxb-.")), "does not name the component"),
    (refuse(Problem("token", "expected xoxb-, got 'hunter22' (slack notifier).")), "repeats a secret"),
])
def test_config_problem_fails_what_breaks_the_contract(build: Callable[[], None], words: str) -> None:
    with pytest.raises(AssertionError, match=words):
        config_problem(build, field="token", says="xoxb-", component="slack notifier", hidden=["hunter22"])


def fail(error: Exception | None) -> Callable[[], Any]:
    def call() -> None:
        if error is not None:
            raise error

    return call


def test_remote_failure_returns_the_error() -> None:
    error = remote_failure(fail(RateLimited("Acme", "post", "slow down", retry_after=3)), status=429,
                           retryable=True, says="slow down")
    assert isinstance(error, RateLimited)


@pytest.mark.parametrize(("error", "words"), [
    (None, "no RemoteError"),
    (RemoteError("Acme", "post", 500, "boom"), "status 500, expected 503"),
    (RemoteError("Acme", "post", 503, "boom token=abc123"), "repeats a secret"),
    (RemoteError("Acme", "post", 503, "kaput"), "'boom' is not in"),
])
def test_remote_failure_fails_what_breaks_the_contract(error: Exception | None, words: str) -> None:
    with pytest.raises(AssertionError, match=words):
        remote_failure(fail(error), status=503, retryable=True, says="boom", hidden=["abc123"])


def test_remote_failure_checks_retryable() -> None:
    with pytest.raises(AssertionError, match="retryable is False"):
        remote_failure(fail(RemoteError("Acme", "post", 400, "bad")), status=400, retryable=True)


def test_the_manual_clock_moves_only_when_told_or_slept() -> None:
    clock = ManualClock(now=10.0)
    clock.sleep(1.5)
    clock.advance(0.5)
    clock.now -= 5  # a clock may jump back
    assert clock() == 7.0 and clock.sleeps == [1.5]


def test_samples_take_overrides() -> None:
    ended = sample_marker("rolled_back", outcome="rolled_back")
    assert ended.phase == MarkerPhase.ROLLED_BACK and ended.key == "CHG-1001:mark:rolled_back"
    assert ended.started_at == ended.at - timedelta(minutes=30)
    assert sample_marker().started_at is None
    assert sample_notice(key="k>x").key == "k>x" and sample_notice().change_id == "CHG-7"
