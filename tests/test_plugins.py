"""The plugin system: extra rules beside the built-ins, bad registrations, entry points, ``chgsync plugins``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import chgsync
import chgsync.plugins
from chgsync.cli import cli
from chgsync.errors import PluginError
from chgsync.lifecycle import State
from chgsync.plugins import Plugins
from chgsync.rules import BUILTIN_RULES
from chgsync.validation import Guard, Rule, RuleContext, TransitionRefused, Violation

BUILTIN_NAMES = ["lifecycle", "completeness", "catalog", "approvals", "emergency_authority", "lead_time", "window",
                 "blackout", "conflicts", "checklist", "validation"]


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


def check_dba(ctx: RuleContext) -> Iterator[Violation]:
    """Database changes need a DBA's approval."""
    if ctx.target != State.APPROVED:
        return
    dbs = [s for s in ctx.change.implementation.systems if s.endswith("-db")]
    if dbs and not any(a.role == "dba" and a.decision == "approve" for a in ctx.change.cab.latest().values()):
        yield Violation("dba.approval_missing", f"{ctx.change.id} touches {', '.join(dbs)}; a DBA must approve it.",
                        "cab.approvals")


DBA_RULE = Rule(name="dba_approval", check=check_dba, description="Database changes need a DBA's approval.")


class DbaPlugin:
    """A plugin written as a class."""

    @chgsync.hookimpl
    def register_rules(self, register: Callable[[Rule], None]) -> None:
        register(DBA_RULE)


def module_plugin(name: str, *rules: Any) -> types.ModuleType:
    """A plugin written as a module whose ``register_rules`` registers ``rules`` (whatever they are)."""
    module = types.ModuleType(name)

    @chgsync.hookimpl
    def register_rules(register: Callable[[Any], None]) -> None:
        for rule in rules:
            register(rule)

    module.register_rules = register_rules  # type: ignore[attr-defined]
    return module


def test_the_suite_loads_no_installed_plugins() -> None:
    assert os.environ.get("CHGSYNC_LOAD_PLUGINS") == ""
    assert [i.name for i in Plugins().describe()] == ["chgsync.rules"]
    assert [r.name for r in Plugins().rules()] == BUILTIN_NAMES


def test_builtin_rules_are_registered_like_a_plugin(chgsync_plugins: Plugins) -> None:
    rules = chgsync_plugins.rules()
    assert [r.name for r in rules] == BUILTIN_NAMES == [r.name for r in BUILTIN_RULES]
    assert {r.plugin for r in rules} == {"chgsync.rules"}
    assert all(r.description for r in rules)


@pytest.mark.parametrize("plugin", [DbaPlugin(), module_plugin("dba_module", DBA_RULE)], ids=["class", "module"])
def test_a_plugin_rule_is_consulted_beside_the_builtins(chgsync_plugins: Plugins, make_change: Any, policy: Any,
                                                       plugin: object) -> None:
    chgsync_plugins.register(plugin, name="dba")
    rules = chgsync_plugins.rules()
    assert [r.name for r in rules] == [*BUILTIN_NAMES, "dba_approval"]
    assert rules[-1].plugin == "dba"
    guard = Guard(policy, rules=rules)
    change = make_change("normal", state="cab_review", set={"cab.approvals[1].decision": "defer",
                                                            "cab.approvals[1].reason": "Wait"})
    found = guard.check(change, State.APPROVED, T("2026-11-03T11:00:00Z"))
    assert sorted((v.rule, v.code, v.field) for v in found) == [
        ("approvals", "approval.deferred", "cab.approvals"),
        ("dba_approval", "dba.approval_missing", "cab.approvals"),
    ]
    with_dba = make_change("normal", state="cab_review", set={"cab.approvals[1].role": "dba"})
    assert [v.code for v in guard.check(with_dba, State.APPROVED, T("2026-11-03T11:00:00Z"))] == ["approval.missing"]
    with pytest.raises(TransitionRefused) as refused:
        guard.move(change, State.APPROVED, T("2026-11-03T11:00:00Z"))
    assert "CHG-100 touches orders-db; a DBA must approve it. [dba.approval_missing]" in str(refused.value)


def test_the_default_guard_uses_the_process_plugins(monkeypatch: pytest.MonkeyPatch, make_change: Any) -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(DbaPlugin(), name="dba")
    monkeypatch.setattr(chgsync.plugins, "_default", plugins)
    guard = Guard()
    assert [r.name for r in guard.rules] == [*BUILTIN_NAMES, "dba_approval"]
    change = make_change("normal", state="cab_review")
    assert [v.code for v in guard.check(change, State.APPROVED, T("2026-11-03T11:00:00Z"))] == ["dba.approval_missing"]


def test_a_rule_may_name_itself_in_its_violations(chgsync_plugins: Plugins, make_change: Any, policy: Any) -> None:
    def check(ctx: RuleContext) -> Iterator[Violation]:
        yield Violation("x.always", "Always.", "state", rule="custom-name")
        yield Violation("x.again", "Again.", "state")

    chgsync_plugins.register(module_plugin("always", Rule(name="always", check=check)), name="always")
    guard = Guard(policy, rules=chgsync_plugins.rules())
    found = guard.check(make_change("normal"), State.CAB_REVIEW, T("2026-11-02T09:00:00Z"))
    assert [(v.code, v.rule) for v in found] == [("x.always", "custom-name"), ("x.again", "always")]


def test_a_plugin_may_replace_the_builtin_rules_in_a_guard(make_change: Any, policy: Any) -> None:
    guard = Guard(policy, rules=[DBA_RULE])
    change = make_change("normal", state="closed")  # the lifecycle rule is not there to object
    assert [v.code for v in guard.check(change, State.APPROVED, T("2026-11-03T11:00:00Z"))] == [
        "dba.approval_missing"]


# -- bad registrations ---------------------------------------------------------------------------------------
def test_a_rule_name_taken_by_a_builtin_is_refused(chgsync_plugins: Plugins) -> None:
    chgsync_plugins.register(module_plugin("dup", Rule(name="lifecycle", check=check_dba)), name="dup")
    with pytest.raises(PluginError) as exc:
        chgsync_plugins.rules()
    assert exc.value.plugin == "dup"
    assert str(exc.value) == "Plugin 'dup': Rule 'lifecycle' is already registered by plugin 'chgsync.rules'."


def test_a_rule_name_taken_by_another_plugin_is_refused(chgsync_plugins: Plugins) -> None:
    chgsync_plugins.register(DbaPlugin(), name="first")
    chgsync_plugins.register(module_plugin("second", DBA_RULE), name="second")
    with pytest.raises(PluginError, match="Rule 'dba_approval' is already registered by plugin '(first|second)'"):
        chgsync_plugins.rules()


def test_the_same_rule_twice_from_one_plugin_is_refused(chgsync_plugins: Plugins) -> None:
    chgsync_plugins.register(module_plugin("twice", DBA_RULE, DBA_RULE), name="twice")
    with pytest.raises(PluginError, match=r"^Plugin 'twice': Rule 'dba_approval' is already registered"):
        chgsync_plugins.rules()


@pytest.mark.parametrize("thing", [
    pytest.param(check_dba, id="a-bare-function"),
    pytest.param({"name": "dba", "check": check_dba}, id="a-dict"),
    pytest.param(Violation("a", "b", "c"), id="a-violation"),
    pytest.param("dba_approval", id="a-name"),
])
def test_registering_something_that_is_not_a_rule_is_refused(chgsync_plugins: Plugins, thing: object) -> None:
    chgsync_plugins.register(module_plugin("wrong", thing), name="wrong")
    with pytest.raises(PluginError) as exc:
        chgsync_plugins.rules()
    assert exc.value.plugin == "wrong"
    assert str(exc.value).startswith(f"Plugin 'wrong': register_rules registered {thing!r}")
    assert str(exc.value).endswith("expected a Rule.")


class MisspelledHook:
    @chgsync.hookimpl
    def register_rule(self, register: Callable[[Rule], None]) -> None:
        register(DBA_RULE)


class UnknownArgument:
    @chgsync.hookimpl
    def register_rules(self, register: Callable[[Rule], None], config: Any) -> None:
        register(DBA_RULE)


@pytest.mark.parametrize(("plugin", "fragment"), [
    pytest.param(MisspelledHook(), "unknown hook 'register_rule'", id="misspelled-hook"),
    pytest.param(UnknownArgument(), "{'config'} are declared in the hookimpl", id="unknown-argument"),
])
def test_a_plugin_with_a_bad_hook_is_refused_and_left_out(chgsync_plugins: Plugins, plugin: object,
                                                          fragment: str) -> None:
    with pytest.raises(PluginError) as exc:
        chgsync_plugins.register(plugin, name="bad")
    assert exc.value.plugin == "bad" and fragment in str(exc.value)
    assert [i.name for i in chgsync_plugins.describe()] == ["chgsync.rules"]
    assert [r.name for r in chgsync_plugins.rules()] == BUILTIN_NAMES


def test_unregistering_a_plugin_removes_its_rules(chgsync_plugins: Plugins) -> None:
    chgsync_plugins.register(DbaPlugin(), name="dba")
    chgsync_plugins.unregister("dba")
    assert [r.name for r in chgsync_plugins.rules()] == BUILTIN_NAMES


def test_observers_cannot_veto_a_move(chgsync_plugins: Plugins, make_change: Any) -> None:
    seen: list[tuple[str, State]] = []

    class Broken:
        @chgsync.hookimpl
        def change_transitioned(self, change: Any) -> None:
            raise RuntimeError("observer failed")

    class Recorder:
        @chgsync.hookimpl
        def change_transitioned(self, change: Any, previous: State) -> None:
            seen.append((change.id, previous))

    chgsync_plugins.register(Broken(), name="broken")
    chgsync_plugins.register(Recorder(), name="recorder")
    change = make_change("normal").moved(State.CAB_REVIEW, T("2026-11-02T09:00:00Z"))
    errors = chgsync_plugins.change_transitioned(change, State.DRAFT, T("2026-11-02T09:00:00Z"))
    assert [str(e) for e in errors] == ["observer failed"]
    assert seen == [("CHG-100", State.DRAFT)]


# -- entry points and CHGSYNC_LOAD_PLUGINS --------------------------------------------------------------------
@pytest.fixture
def fake_entry_point(monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed-looking plugin ``fake`` (entry point and module), registering the DBA rule."""
    monkeypatch.setitem(sys.modules, "chgsync_fake_plugin", module_plugin("chgsync_fake_plugin", DBA_RULE))
    eps = [EntryPoint(name="fake", value="chgsync_fake_plugin", group="chgsync")]
    monkeypatch.setattr(chgsync.plugins, "entry_points", lambda group: eps if group == "chgsync" else [])
    return "fake"


@pytest.mark.parametrize(("load", "disabled", "loaded"), [
    pytest.param("", None, False, id="load-empty-loads-none"),
    pytest.param(None, None, True, id="unset-loads-all"),
    pytest.param("fake", None, True, id="named"),
    pytest.param(" other , fake ", None, True, id="named-in-a-list"),
    pytest.param("other", None, False, id="not-named"),
    pytest.param(None, "fake", False, id="disabled"),
    pytest.param("fake", "fake", False, id="disabled-wins"),
])
def test_which_entry_points_load(monkeypatch: pytest.MonkeyPatch, fake_entry_point: str, load: str | None,
                                 disabled: str | None, loaded: bool) -> None:
    for name, value in (("CHGSYNC_LOAD_PLUGINS", load), ("CHGSYNC_DISABLED_PLUGINS", disabled)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    plugins = Plugins()
    assert ("fake" in [i.name for i in plugins.describe()]) is loaded
    assert ("dba_approval" in [r.name for r in plugins.rules()]) is loaded


def test_an_entry_point_with_a_bad_hook_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chgsync_typo_plugin", MisspelledHook())
    eps = [EntryPoint(name="typo", value="chgsync_typo_plugin", group="chgsync")]
    monkeypatch.setattr(chgsync.plugins, "entry_points", lambda group: eps)
    monkeypatch.delenv("CHGSYNC_LOAD_PLUGINS")
    with pytest.raises(PluginError, match=r"^Plugin 'typo': unknown hook 'register_rule'"):
        Plugins()


def test_a_broken_entry_point_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPoint(name="broken", value="chgsync_no_such_module_anywhere", group="chgsync")]
    monkeypatch.setattr(chgsync.plugins, "entry_points", lambda group: eps)
    monkeypatch.delenv("CHGSYNC_LOAD_PLUGINS")
    with pytest.raises(PluginError, match=r"^Plugin 'broken': could not be imported from "
                                          r"'chgsync_no_such_module_anywhere'"):
        Plugins()


# -- chgsync plugins --------------------------------------------------------------------------------------------
BUILTIN_INFO = {"name": "chgsync.rules", "distribution": "chgsync", "version": chgsync.__version__, "builtin": True,
                "hooks": ["register_rules"]}


def test_plugins_json_lists_the_builtin_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chgsync.plugins, "_default", None)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [BUILTIN_INFO]


def test_plugins_lists_what_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(DbaPlugin(), name="dba")
    monkeypatch.setattr(chgsync.plugins, "_default", plugins)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert json.loads(result.stdout) == [BUILTIN_INFO, {"name": "dba", "distribution": "(registered in process)",
                                                        "version": "-", "builtin": False,
                                                        "hooks": ["register_rules"]}]
    table = CliRunner().invoke(cli, ["plugins"])
    assert table.exit_code == 0 and "chgsync.rules" in table.stdout and "dba" in table.stdout


def test_real_executable_lists_only_the_builtins() -> None:
    exe = Path(sys.executable).with_name("chgsync")
    result = subprocess.run([str(exe), "plugins", "--json"], capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "CHGSYNC_LOAD_PLUGINS": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [BUILTIN_INFO]
