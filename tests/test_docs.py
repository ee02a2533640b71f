"""The generated reference pages must match the code: an undocumented hook or a drifted signature fails."""

from __future__ import annotations

import inspect

import pytest

from chgsync import docgen, hookspecs
from chgsync.plugins import Plugins


def test_generated_docs_are_current() -> None:
    assert docgen.main(["--check"]) == 0, "run: python -m chgsync.docgen"


def test_every_hook_in_the_manager_is_a_documented_spec() -> None:
    pm = Plugins(load_entrypoints=False).pm
    specs = {fn.__name__: fn for fn in docgen.hook_functions()}
    hooks = {name for name in dir(pm.hook) if not name.startswith("_")}
    assert hooks == set(specs)
    page = (docgen.DOCS / "plugin_hooks.md").read_text()
    for name, fn in specs.items():
        assert inspect.getdoc(fn), f"hook {name} has no docstring"
        assert f"## {name}\n" in page
        assert docgen.hook_signature(fn) in page


def test_an_undocumented_hook_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def register_things(register):  # type: ignore[no-untyped-def]
        pass

    register_things.chgsync_spec = {}  # type: ignore[attr-defined]
    register_things.__module__ = hookspecs.__name__
    monkeypatch.setattr(hookspecs, "register_things", register_things, raising=False)
    with pytest.raises(SystemExit, match="register_things has no docstring"):
        docgen.render_hooks()
