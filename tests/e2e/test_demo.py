"""`chgsync demo` is the README's first command: it must act out both stories and close both changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chgsync_jira.plugin
import chgsync_servicenow.plugin

from chgsync.demo import run
from chgsync.lifecycle import State
from chgsync.plugins import Plugins


def test_demo_closes_both_changes_and_shows_the_revert(tmp_path: Path) -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    plugins.register(chgsync_servicenow.plugin, name="chgsync_servicenow")
    lines: list[str] = []
    changes = run(lines.append, directory=tmp_path, plugins=plugins)
    text = "\n".join(lines)
    assert [c.state for c in changes] == [State.CLOSED, State.CLOSED]
    normal, emergency = changes
    assert [h.to_state for h in normal.history] == [State.CAB_REVIEW, State.APPROVED, State.SCHEDULED,
                                                    State.IMPLEMENTING, State.IMPLEMENTED, State.CLOSED]
    assert [h.to_state for h in emergency.history] == [State.IMPLEMENTING, State.IMPLEMENTED, State.CLOSED]
    assert "REFUSED" in text and "this move was reverted" in text and "jira: moved it back" in text
    assert "created in servicenow" in text


def test_demo_command_needs_the_adapter_plugins(tmp_path: Path) -> None:
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": ""}
    result = subprocess.run([sys.executable, "-m", "chgsync.cli", "demo", "--dir", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "install chgsync-jira and chgsync-servicenow" in result.stderr
