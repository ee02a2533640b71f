"""``chgsync mapping check`` and ``chgsync normalize --from jira`` end to end: the adapter loaded through
its entry point (``CHGSYNC_LOAD_PLUGINS=chgsync-jira``), credentials from JIRA_USER / JIRA_TOKEN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chgsync_jira.emulator import JiraEmulator
from click.testing import CliRunner, Result

from chgsync.cli import cli
from chgsync.lifecycle import ChangeType, State
from chgsync.mapping import shipped_mapping
from chgsync.plugins import reset_plugins
from chgsync.testing.samples import sample_change

JSM_FILE = shipped_mapping("jira-service-management")
SOFTWARE_FILE = shipped_mapping("jira-software")


@pytest.fixture
def run(jira_emulator: JiraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CHGSYNC_LOAD_PLUGINS", "chgsync-jira")
    monkeypatch.setenv("JIRA_USER", jira_emulator.user)
    monkeypatch.setenv("JIRA_TOKEN", jira_emulator.secret)
    reset_plugins()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=stdin)

    yield invoke
    reset_plugins()


def edited(tmp_path: Path, source: Path, *replacements: tuple[str, str]) -> Path:
    text = source.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / source.name
    path.write_text(text)
    return path


@pytest.mark.parametrize("mapping", [JSM_FILE, SOFTWARE_FILE], ids=lambda p: p.stem)
def test_the_shipped_mappings_match_the_emulator(run: Any, jira_emulator: JiraEmulator, mapping: Path) -> None:
    result = run("mapping", "check", "--mapping", str(mapping), "--url", jira_emulator.base_url)
    assert result.exit_code == 0, result.output
    assert result.output == f"{mapping} matches {jira_emulator.base_url}.\n"


def test_a_wrong_field_id_and_an_unknown_transition_are_named_by_key(run: Any, jira_emulator: JiraEmulator,
                                                                     tmp_path: Path) -> None:
    bad = edited(tmp_path, JSM_FILE,
                 ("remote: customfield_10045", "remote: customfield_19999"),
                 ('{id: "41", name: Approve', '{id: "71", name: Approve'),
                 ("normal: Normal,", "normal: Normall,"),
                 ("remote: customfield_10049", "remote: customfield_10060"),
                 ("remote: {status: Declined}", "remote: {status: Declinde}"),
                 ('{id: "11", name: Submit for review, from: [Planning]', '{id: "11", name: Submit, from: [Planning]'))
    result = run("mapping", "check", "--mapping", str(bad), "--url", jira_emulator.base_url)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad} does not match {jira_emulator.base_url} (7 problems):",
        ("  - states.rejected.remote.status: names status 'Declinde', which the Change workflow of "
         "project CHG does not have (it has: Planning, Peer review, Awaiting CAB approval, Declined, Awaiting "
         "implementation, Implementing, Completed, Failed, Canceled)."),
        ("  - fields[2] (type → customfield_10040): 'Normall' is not an option of 'Change type' "
         "(options: Standard, Normal, Emergency)."),
        ("  - fields[10] (testing.pre_production → customfield_10060): 'Deployment environment' is not on the "
         "Change screen of project CHG, so Jira refuses to set it."),
        ("  - fields[10] (testing.pre_production → customfield_10060): the mapping writes it as textarea, but "
         "'Deployment environment' is a field of type option."),
        "  - fields[17] (schedule.planned_start → customfield_19999): no such field on this site.",
        ('  - transitions[0] (id 11, Submit): transition 11 from "Planning" to "Peer review" is called '
         '"Submit for review" on this site, not "Submit".'),
        ('  - transitions[3] (id 71, Approve): no transition 71 from "Awaiting CAB approval" to '
         '"Awaiting implementation".'),
    ]


def test_a_global_transition_that_is_not_global_on_the_site(run: Any, jira_emulator: JiraEmulator,
                                                            tmp_path: Path) -> None:
    bad = edited(tmp_path, SOFTWARE_FILE, ('{id: "31", name: Done, from: ["*"], to: Done}',
                                           '{id: "41", name: Done, from: ["*"], to: Done}'))
    result = run("mapping", "check", "--mapping", str(bad), "--url", jira_emulator.base_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        '  - transitions[2] (id 41, Done): no transition 41 from any status (a global transition) to "Done".']


def test_states_no_declared_transition_reaches(run: Any, jira_emulator: JiraEmulator, tmp_path: Path) -> None:
    bad = edited(tmp_path, SOFTWARE_FILE, ('  - {id: "31", name: Done, from: ["*"], to: Done}\n', ""))
    result = run("mapping", "check", "--mapping", str(bad), "--url", jira_emulator.base_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f'  - states.{state}: no declared transitions lead from "To Do" to "Done", so chgsync could never move a '
        "change there." for state in ("implemented", "closed", "rejected", "cancelled")]


def test_an_unknown_project_is_one_sentence(run: Any, jira_emulator: JiraEmulator, tmp_path: Path) -> None:
    bad = edited(tmp_path, SOFTWARE_FILE, ("project: OPS", "project: OOPS"))
    result = run("mapping", "check", "--mapping", str(bad), "--url", jira_emulator.base_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == ("  - record.project: there is no project 'OOPS' on this site "
                                             "(No project could be found with key 'OOPS'.).")


@pytest.mark.parametrize(("old", "new", "where", "message"), [
    ("codec: rollback_text", "codec: rollbak_text", "field 'fields[9].codec'", "unknown codec 'rollbak_text'"),
    ("comments: internal", "comments: secret", "field 'record.comments'",
     "expected 'public' or 'internal', got 'secret'."),
    ("    customfield_10054: option          # Change stage", "    customfield_10054: select",
     "field 'record.state_fields'", "customfield_10054: unknown shape 'select'"),
])
def test_a_malformed_mapping_names_file_line_and_key(run: Any, jira_emulator: JiraEmulator, tmp_path: Path,
                                                     old: str, new: str, where: str, message: str) -> None:
    bad = edited(tmp_path, JSM_FILE, (old, new))
    line = 1 + bad.read_text().split(new, 1)[0].count("\n")
    result = run("mapping", "check", "--mapping", str(bad), "--url", jira_emulator.base_url)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {bad} is not a usable mapping file: {bad}:")
    assert f"{where}: {message}" in result.output
    reported = int(result.output.split(f"{bad}:")[1].split(":")[0])
    assert reported in (line, line - 1)  # the key's line (YAML reports a mapping at its parent key)


def test_missing_credentials_are_asked_for(run: Any, jira_emulator: JiraEmulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIRA_TOKEN")
    result = run("mapping", "check", "--mapping", str(JSM_FILE), "--url", jira_emulator.base_url)
    assert result.exit_code == 2
    assert "Set JIRA_USER and JIRA_TOKEN (or JIRA_PASSWORD) in the environment" in result.output


# -- normalize -----------------------------------------------------------------------------------------
@pytest.fixture
def moved(jira_emulator: JiraEmulator, make_adapter: Any, webhook_receiver: Any) -> tuple[Any, Any]:
    jira_emulator.webhooks.subscribe(webhook_receiver.url)
    adapter = make_adapter(jira_emulator)
    change = sample_change(ChangeType.NORMAL, id="CHG-300")
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    assert jira_emulator.webhooks.wait_idle()
    return adapter, ref


def test_normalize_prints_the_change_in_an_issue_and_in_a_webhook(run: Any, jira_emulator: JiraEmulator,
                                                                   moved: tuple[Any, Any], webhook_receiver: Any,
                                                                   tmp_path: Path) -> None:
    adapter, ref = moved
    issue = tmp_path / "issue.json"
    issue.write_text(jira_emulator.session().get(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}").text)
    result = run("normalize", "--from", "jira", str(issue))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["id"] == "CHG-300" and printed["state"] == "cab_review"
    assert printed["rollback"]["trigger"]["condition"]["for"] == "PT5M"
    assert printed == json.loads(adapter.get(ref).change.model_dump_json(by_alias=True, exclude_none=True))

    body = webhook_receiver.received[-1].body  # the transition's jira:issue_updated
    from_stdin = run("normalize", "--from", "jira", "-", stdin=body.decode())
    assert from_stdin.exit_code == 0, from_stdin.output
    assert json.loads(from_stdin.output) == printed


def test_normalize_with_the_software_mapping(run: Any, jira_emulator: JiraEmulator, make_adapter: Any,
                                             tmp_path: Path) -> None:
    ref = make_adapter(jira_emulator, "jira-software").create(sample_change(ChangeType.STANDARD, id="CHG-301")).ref
    issue = tmp_path / "task.json"
    issue.write_text(jira_emulator.session().get(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}").text)
    result = run("normalize", "--from", "jira", "--mapping", str(SOFTWARE_FILE), str(issue))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["schedule"]["environment"] == "production"


@pytest.mark.parametrize(("payload", "message"), [
    ('{"foo": 1}', "cannot be turned into a change: Unusable input: expected a Jira issue"),
    ("[1, 2]", "must hold a JSON object (a record or a webhook body), not list."),
    ("{not json", "is not JSON: Expecting property name enclosed in double quotes at line 1, column 2."),
    ('{"key": "CHG-1", "fields": {"summary": "x", "status": {"id": "1", "name": "Nowhere"}}}',
     "CHG-1: status 'Nowhere' matches no state in the mapping's `states`."),
    (('{"key": "CHG-1", "fields": {"summary": "x", "status": {"name": "Planning"}, '
      '"customfield_10045": "next tuesday"}}'),
     "CHG-1: customfield_10045 (schedule.planned_start): 'next tuesday' is not a Jira timestamp"),
])
def test_normalize_refuses_a_bad_payload_with_a_reason(run: Any, tmp_path: Path, payload: str, message: str) -> None:
    path = tmp_path / "payload.json"
    path.write_text(payload)
    result = run("normalize", "--from", "jira", str(path))
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and message in result.output


def test_the_installed_command_finds_the_adapter_through_its_entry_point(jira_emulator: JiraEmulator,
                                                                         moved: tuple[Any, Any],
                                                                         tmp_path: Path) -> None:
    _, ref = moved
    issue = tmp_path / "issue.json"
    issue.write_text(jira_emulator.session().get(f"{jira_emulator.base_url}/rest/api/2/issue/{ref.key}").text)
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": "chgsync-jira", "JIRA_USER": jira_emulator.user,
           "JIRA_TOKEN": jira_emulator.secret}
    chgsync = str(Path(sys.executable).with_name("chgsync"))
    done = subprocess.run([chgsync, "normalize", "--from", "jira", str(issue)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == "CHG-300"
    checked = subprocess.run([chgsync, "mapping", "check", "--mapping", str(JSM_FILE), "--url",
                              jira_emulator.base_url], env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert checked.returncode == 0 and "matches" in checked.stdout, checked.stderr
