"""The package README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from chgsync_jira.emulator import JiraEmulator

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block(language: str, after: str) -> str:
    (block,) = re.findall(
        rf"```{language}\n(.*?)```", README.split(after, 1)[1].split("\n## ", 1)[0], flags=re.S
    )
    return block


def test_the_fixture_example_runs(jira_emulator: JiraEmulator, webhook_receiver: Any) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_block("python", "## Using the emulator in your tests"), "README.md", "exec"), namespace)
    namespace["test_my_plugin_creates_a_change"](jira_emulator, webhook_receiver)


def test_the_seed_example_loads() -> None:
    with JiraEmulator(seed=yaml.safe_load(_block("yaml", "## Seed files"))) as emu:
        issue = emu.session().get(f"{emu.base_url}/rest/api/2/issue/FIN-1").json()
        assert issue["fields"]["status"]["name"] == "Scheduled"
        assert issue["fields"]["customfield_10070"]["value"] == "GL"
        assert emu.site.settings.time_zone == "UTC" and emu.account.time_zone == "UTC"
