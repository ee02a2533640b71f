"""``check()`` / ``chgsync mapping check``, ``chgsync normalize``, mapping-file and settings errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chgsync_servicenow.adapter import ServiceNowAdapter, from_settings
from chgsync_servicenow.check import Schema, compare
from chgsync_servicenow.config import record_settings
from chgsync_servicenow.emulator import ServiceNowEmulator
from click.testing import CliRunner

from chgsync.cli import cli
from chgsync.errors import ConfigError, MappingError
from chgsync.lifecycle import ChangeType
from chgsync.mapping import MAPPINGS_DIR, load_mapping
from chgsync.plugins import reset_plugins
from chgsync.testing.samples import sample_change

SHIPPED = MAPPINGS_DIR / "servicenow-change-request.yaml"


def edited(tmp_path: Path, *replacements: tuple[str, str], name: str = "edited.yaml") -> Path:
    text = SHIPPED.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def with_plugin(monkeypatch: pytest.MonkeyPatch, emulator: ServiceNowEmulator) -> Iterator[dict[str, str]]:
    """The CLI with this package loaded through its entry point, and the emulator's credentials."""
    monkeypatch.setenv("CHGSYNC_LOAD_PLUGINS", "chgsync-servicenow")
    monkeypatch.setenv("SERVICENOW_USER", emulator.user)
    monkeypatch.setenv("SERVICENOW_PASSWORD", emulator.secret)
    reset_plugins()
    yield {"url": emulator.base_url}
    reset_plugins()


# -- check() against the emulator ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def instance() -> Iterator[ServiceNowEmulator]:
    """One emulator for the read-only checks of this module (checks write nothing)."""
    with ServiceNowEmulator() as emu:
        yield emu


def test_the_shipped_mapping_matches_the_instance(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    emulator.requests.clear()
    assert adapter.check() == []
    paths = [r.path.split("/table/")[1].split("/")[0] for r in emulator.requests]
    assert paths == ["sys_db_object", "sys_db_object", "sys_dictionary", "sys_choice"]  # change_request -> task
    assert adapter.calls["check"] == 4


@pytest.mark.parametrize(("replacement", "problem"), [
    (("remote: risk_impact_analysis", "remote: u_risk_table"),
     "fields[7] (risks → u_risk_table): change_request has no field 'u_risk_table'."),
    (('approval: requested}', 'approval: pending}'),
     ("states.cab_review (approval: pending): 'pending' is not a choice of change_request.approval (choices: "
     "'not requested', 'requested', 'approved', 'rejected', 'cancelled', 'not_required', 'duplicate').")),
    (('remote: {state: "0"}', 'remote: {state: "1"}'),
     ("states.implemented (state: 1): '1' is not a choice of change_request.state (choices: '-5', '-4', '-3', "
     "'-2', '-1', '0', '3', '4').")),
    (('    via: ["-2"]', '    via: ["-9"]'),
     "states.implementing.via[0] (-9): '-9' is not a choice of change_request.state"),
    (("successful_with_issues: successful_issues", "successful_with_issues: successful_with_issues"),
     "fields[14] (outcome → close_code): 'successful_with_issues' is not a choice of change_request.close_code"),
    (("remote: description", "remote: requested_by"),
     ("fields[2] (description → requested_by): change_request.requested_by is a reference (it holds sys_ids, not "
     "text); codec text writes text.")),
    (("remote: start_date", "remote: justification"),
     ("fields[10] (schedule.planned_start → justification): change_request.justification is string, not a "
     "date/time (codec datetime).")),
    (("remote: close_notes", "remote: task_effective_number"),
     ("fields[15] (close_notes → task_effective_number): change_request.task_effective_number is read-only; "
     "ServiceNow ignores writes to it.")),
    (("comment_field: work_notes", "comment_field: close_notes"),
     "record.comment_field (close_notes): change_request.close_notes is string, not a journal field"),
    (("key: correlation_id", "key: u_jira_key"), "record.link.key (u_jira_key): change_request has no field"),
    (('values: {low: "4", medium: "3", high: "2"}', 'values: {low: "5", medium: "3", high: "2"}'),
     "record.overall_risk.values.low (5): '5' is not a choice of change_request.risk"),
    (('      "-5": ["-3", "-2", "4"]', '      "-5": ["-3", "-7", "4"]'),
     "record.state_model.emergency.-5[1] (-7): '-7' is not a choice of change_request.state"),
    (("table: change_request", "table: change_requests"),
     "record.table (change_requests): the instance has no table 'change_requests'."),
], ids=lambda v: v[1][:40] if isinstance(v, tuple) else None)
def test_each_mismatch_names_the_mapping_key(tmp_path: Path, instance: ServiceNowEmulator,
                                              make_adapter: Callable[..., ServiceNowAdapter],
                                              replacement: tuple[str, str], problem: str) -> None:
    adapter = make_adapter(instance, mapping=str(edited(tmp_path, replacement)))
    problems = adapter.check()
    assert any(p.startswith(problem) or problem in p for p in problems), problems
    assert len(problems) == 1, problems


def test_inherited_fields_and_overridden_choices_follow_the_platform() -> None:
    """Fields change_request inherits are rows of task; its own state choices override task's."""
    mapping = load_mapping(SHIPPED)
    dictionary = [
        {"name": "task", "element": e, "internal_type": "string"}
        for e in ("short_description", "description", "close_notes", "correlation_id", "correlation_display")
    ] + [{"name": "task", "element": e, "internal_type": t} for e, t in (
        ("state", "integer"), ("approval", "string"), ("work_start", "glide_date_time"),
        ("work_end", "glide_date_time"), ("work_notes", "journal_input"))] + [
        {"name": "task", "element": "assigned_to", "internal_type": "reference", "reference": "sys_user"}] + [
        {"name": "change_request", "element": e, "internal_type": t} for e, t in (
            ("type", "string"), ("justification", "string"), ("implementation_plan", "string"),
            ("change_plan", "string"), ("risk_impact_analysis", "string"), ("backout_plan", "string"),
            ("test_plan", "string"), ("start_date", "glide_date_time"), ("end_date", "glide_date_time"),
            ("close_code", "string"), ("risk", "integer"), ("u_chgsync_id", "string"))] + [
        {"name": "change_request", "element": "requested_by", "internal_type": "reference", "reference": "sys_user"}]
    choices = [{"name": "task", "element": "state", "value": v} for v in ("1", "2", "3", "4", "7")]
    choices += [{"name": "change_request", "element": "state", "value": v}
                for v in ("-5", "-4", "-3", "-2", "-1", "0", "3", "4")]
    choices += [{"name": "task", "element": "approval", "value": v} for v in ("requested", "approved", "rejected")]
    choices += [{"name": "change_request", "element": "type", "value": v} for v in ("standard", "normal", "emergency")]
    choices += [{"name": "change_request", "element": "close_code", "value": v}
                for v in ("successful", "successful_issues", "unsuccessful")]
    choices += [{"name": "change_request", "element": "risk", "value": v} for v in ("2", "3", "4")]
    choices += [{"name": "change_request", "element": "risk", "value": "1", "inactive": "true"}]
    schema = Schema.from_rows("change_request", ["change_request", "task"], dictionary, choices)
    assert compare(mapping, record_settings(mapping), schema) == []
    without_own_states = Schema.from_rows("change_request", ["change_request", "task"], dictionary,
                                          [c for c in choices if not (c["element"] == "state"
                                                                      and c["name"] == "change_request")])
    problems = compare(mapping, record_settings(mapping), without_own_states)
    assert "states.draft (state: -5): '-5' is not a choice of change_request.state (choices: '1', '2', '3', " \
           "'4', '7')." in problems


# -- the CLI ---------------------------------------------------------------------------------------------
def test_cli_mapping_check_passes_and_fails_with_exact_keys(with_plugin: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["mapping", "check", "--mapping", str(SHIPPED), "--url", with_plugin["url"]])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == f"{SHIPPED} matches {with_plugin['url']}."
    bad = edited(tmp_path, ("remote: risk_impact_analysis", "remote: u_risk_table"),
                 ('remote: {state: "-1"}', 'remote: {state: "-11"}'))
    result = runner.invoke(cli, ["mapping", "check", "--mapping", str(bad), "--url", with_plugin["url"]])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad} does not match {with_plugin['url']} (2 problems):",
        "  - fields[7] (risks → u_risk_table): change_request has no field 'u_risk_table'.",
        ("  - states.implementing (state: -11): '-11' is not a choice of change_request.state (choices: '-5', '-4', "
        "'-3', '-2', '-1', '0', '3', '4')."),
    ]


def test_cli_mapping_check_reports_an_unreachable_instance(with_plugin: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICENOW_PASSWORD", "wrong")
    result = CliRunner().invoke(cli, ["mapping", "check", "--mapping", str(SHIPPED), "--url", with_plugin["url"]])
    assert result.exit_code == 2
    assert "Cannot check" in result.output and "User Not Authenticated" in result.output


@pytest.mark.parametrize(("text", "expected"), [
    ("system: servicenow\nname: x\nfields:\n  - canonical: titel\n    remote: short_description\n",
     ":4: field 'fields[0].canonical': 'titel' is not a canonical field"),
    ("system: servicenow\nname: x\nfields: [\n", "malformed YAML or JSON"),
    (SHIPPED.read_text().replace("    values: {standard: standard, normal: normal, emergency: emergency}",
                                 "    values: {standard: standard, normal: normal}"),
     "field 'fields[3]': Value error, values must map every ChangeType member; missing ['emergency']"),
    (SHIPPED.read_text().replace("    read_as: {unsuccessful: unsuccessful}\n", ""),
     "values map several canonical values to ['unsuccessful']: say in 'read_as'"),
], ids=["unknown-canonical", "broken-yaml", "enum-incomplete", "shared-value-unresolved"])
def test_cli_a_malformed_mapping_fails_with_file_line_and_key(with_plugin: dict[str, str], tmp_path: Path,
                                                              text: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["mapping", "check", "--mapping", str(path), "--url", with_plugin["url"]])
    assert result.exit_code == 2
    assert f"{path} is not a usable mapping file" in result.output
    assert expected.replace("Value error, ", "") in result.output.replace("Value error, ", "")


def test_a_malformed_record_section_names_file_line_and_key(tmp_path: Path, with_plugin: dict[str, str]) -> None:
    bad = edited(tmp_path, ("  comment_field: work_notes", "  coment_field: work_notes"),
                 ('    "3": [outcome, close_notes]', '    "3": [outcome, close_note]'))
    with pytest.raises(MappingError) as info:
        from_settings({"url": "http://127.0.0.1:9", "mapping": str(bad)})
    message = str(info.value)
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "coment_field" in t)
    assert f"{bad}:{line}: field 'record.coment_field': unknown field" in message
    with pytest.raises(MappingError) as info:
        from_settings({"url": "http://127.0.0.1:9", "mapping": str(edited(
            tmp_path, ('    "3": [outcome, close_notes]', '    "3": [outcome, close_note]'), name="b.yaml"))})
    assert "field 'record.on_enter.3[1]': 'close_note' is not a mapped canonical field" in str(info.value)
    result = CliRunner().invoke(cli, ["mapping", "check", "--mapping", str(bad), "--url", with_plugin["url"]])
    assert result.exit_code == 2 and f"{bad}:{line}: field 'record.coment_field'" in result.output


def test_cli_normalize_prints_the_canonical_change(with_plugin: dict[str, str], adapter: ServiceNowAdapter,
                                                   api: Any, tmp_path: Path) -> None:
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-31")).ref
    payload = tmp_path / "record.json"
    payload.write_text(json.dumps(api.get("change_request", ref.id).json()))
    result = CliRunner().invoke(cli, ["normalize", "--from", "servicenow", str(payload)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["id"], printed["state"], printed["type"]) == ("CHG-31", "draft", "normal")
    assert printed["implementation"]["systems"] == ["orders-db", "orders-worker"]
    assert printed["schedule"]["planned_start"] == "2026-12-08T02:00:00Z"


@pytest.mark.parametrize(("content", "expected"), [
    ("{nope", "is not JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"state": "-5", "short_description": "x", "type": "normal", "risk_impact_analysis": "Low risk"}',
     "risk_impact_analysis (risks)"),
    ('{"hello": "world"}', "has none of the mapped fields"),
])
def test_cli_normalize_refuses_a_bad_payload(with_plugin: dict[str, str], tmp_path: Path, content: str,
                                             expected: str) -> None:
    payload = tmp_path / "bad.json"
    payload.write_text(content)
    result = CliRunner().invoke(cli, ["normalize", "--from", "servicenow", str(payload)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and expected in result.output


def test_cli_end_to_end_in_a_subprocess(tmp_path: Path) -> None:
    """The installed entry point, a separate process, stdin: what a person types."""
    notification = {"table": "change_request", "operation": "update", "sys_id": "a" * 32, "sys_mod_count": "3",
                    "record": {"sys_id": "a" * 32, "number": "CHG0030009", "state": "-2", "approval": "approved",
                               "type": "standard", "short_description": "Rotate TLS certificates",
                               "u_chgsync_id": "CHG-9", "close_code": "", "start_date": "2026-12-01 02:00:00"}}
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": "chgsync-servicenow"}
    done = subprocess.run([sys.executable, "-m", "chgsync.cli", "normalize", "--from", "servicenow", "-"],
                          input=json.dumps(notification), capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (printed["id"], printed["state"], printed["schedule"]["planned_start"]) == (
        "CHG-9", "scheduled", "2026-12-01T02:00:00Z")


# -- settings --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "expected"), [
    ({"url": "http://x", "webhook_secrte": "s"}, "field 'webhook_secrte': is not a ServiceNow adapter setting"),
    ({"url": "example.service-now.com"}, "field 'url': expected the instance's base URL"),
    ({"url": "http://x", "timeout": 0}, "field 'timeout': expected a positive number"),
    ({"url": "http://x", "page_size": 20000}, "field 'page_size': expected a whole number from 1 to 10000"),
    ({"url": "http://x", "retry": {"tries": 3}}, "field 'retry':"),
    ({"url": "http://x", "verify": 3}, "field 'verify': expected true, false or the path of a CA bundle"),
])
def test_unusable_settings_are_config_errors(settings: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_settings(settings)
    assert expected in str(info.value)


def test_settings_from_a_config_file(tmp_path: Path) -> None:
    adapter = from_settings({"name": "snow-prod", "url": "https://example.service-now.com/", "user": "svc",
                             "token": "t0k", "mapping": str(SHIPPED), "retry": {"attempts": 2, "base": 0.5},
                             "verify": "false", "timeout": 5, "webhook_secret": "s", "page_size": 200})
    assert (adapter.name, adapter.url, adapter.client.verify, adapter.client.timeout) == (
        "snow-prod", "https://example.service-now.com", False, 5.0)
    assert adapter.retry.attempts == 2 and adapter.client.session.auth == ("svc", "t0k")
    jira_mapping = tmp_path / "jira.yaml"
    jira_mapping.write_text(SHIPPED.read_text().replace("system: servicenow", "system: jira"))
    with pytest.raises(MappingError) as info:
        from_settings({"url": "http://x", "mapping": str(jira_mapping)})
    assert "this is a mapping for 'jira', not for 'servicenow'" in str(info.value)


def test_registered_through_the_entry_point(with_plugin: dict[str, str]) -> None:
    from chgsync.plugins import get_plugins

    adapter_type = get_plugins().adapters()["servicenow"]
    adapter = adapter_type.factory({"name": "servicenow", "url": with_plugin["url"], "user": "u", "password": "p"})
    assert isinstance(adapter, ServiceNowAdapter) and adapter.mapping.name == "servicenow-change-request"


def test_settings_as_the_daemon_resolves_them(emulator: ServiceNowEmulator) -> None:
    """Secrets come from ``*_env`` keys as ``Secret`` strings that hide in reprs; they must still work."""
    from chgsync.daemon.config import resolve

    settings = resolve("adapters", "servicenow", {"url": emulator.base_url, "user": emulator.user,
                                                  "password_env": "SN_PW", "webhook_secret_env": "SN_WS"},
                       "chgsync.yaml", {"SN_PW": emulator.secret, "SN_WS": "shh"})
    assert emulator.secret not in repr(settings)
    adapter = from_settings({"name": "servicenow", **settings})
    assert adapter.find("CHG-404") is None  # authenticated
    raw = json.dumps({"sys_id": "c" * 32, "sys_mod_count": "1"}).encode()
    assert adapter.parse_webhook({"x-sn-webhook-secret": "shh"}, raw).delivery_id == f"{'c' * 32}:1"
