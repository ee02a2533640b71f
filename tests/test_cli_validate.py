"""``chgsync validate``: exit 0 when clean, 1 with violations, 2 for unusable input that names file, field and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from chgsync.cli import cli

AT = "2026-11-02T09:00:00Z"  # the fixed clock: Monday


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def _write(text: str | bytes, name: str = "change.yaml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def change_file(write: Any, make_change: Any) -> Any:
    """A change built by the shared factory, written as YAML."""

    def _file(change_type: str = "normal", name: str = "change.yaml", **kwargs: Any) -> Path:
        data = make_change(change_type, **kwargs).model_dump(mode="json", by_alias=True, exclude_none=True)
        return write(yaml.safe_dump(data, sort_keys=False), name)

    return _file


# -- 0 and 1 -------------------------------------------------------------------------------------------------
def test_a_clean_change_exits_0(change_file: Any) -> None:
    path = change_file()
    result = run("validate", str(path), "--at", AT)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: CHG-100 may move Draft → CAB Review.\n"
    json_result = run("validate", str(path), "--at", AT, "--json")
    assert json_result.exit_code == 0 and json.loads(json_result.stdout) == []


def test_violations_exit_1_with_text(change_file: Any) -> None:
    path = change_file(set={"justification.reason": None, "rollback.steps": []})
    result = run("validate", str(path), "--at", AT)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}: CHG-100 may not move Draft → CAB Review (2 violations):",
        ("  - A normal change needs a business justification (justification.reason) before it can be CAB Review. "
         "[missing.justification.reason, justification.reason]"),
        ("  - A normal change needs rollback steps (rollback.steps) before it can be CAB Review. "
         "[missing.rollback.steps, rollback.steps]"),
    ]


def test_violations_exit_1_with_json(change_file: Any) -> None:
    path = change_file(set={"justification.reason": None, "schedule.planned_start": "2026-11-05T02:00:00Z",
                            "schedule.planned_end": "2026-11-05T03:00:00Z"})
    result = run("validate", str(path), "--at", AT, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert isinstance(report, list) and len(report) == 2
    for item in report:
        assert {"code", "message", "field"} <= set(item)
        assert all(isinstance(item[k], str) and item[k] for k in ("code", "message", "field"))
        assert (item["change"], item["file"], item["target"]) == ("CHG-100", str(path), "cab_review")
    assert sorted((i["code"], i["field"], i["rule"]) for i in report) == [
        ("lead_time.too_short", "schedule.planned_start", "lead_time"),
        ("missing.justification.reason", "justification.reason", "completeness"),
    ]


@pytest.mark.parametrize(("to", "expected_code"), [
    pytest.param("approved", "transition.not_allowed", id="lower-case"),
    pytest.param("CAB Review", None, id="label"),
    pytest.param("cab-review", None, id="dashes"),
    pytest.param("Cancelled", None, id="cancel"),
    pytest.param("draft", "transition.same_state", id="same-state"),
])
def test_explicit_target(change_file: Any, to: str, expected_code: str | None) -> None:
    result = run("validate", str(change_file()), "--at", AT, "--to", to, "--json")
    codes = {v["code"] for v in json.loads(result.stdout)}
    if expected_code is None:
        assert (result.exit_code, codes) == (0, set())
    else:
        assert result.exit_code == 1 and expected_code in codes


@pytest.mark.parametrize(("change_type", "state", "target"), [
    pytest.param("normal", "draft", "cab_review", id="normal-draft"),
    pytest.param("normal", "cab_review", "approved", id="normal-cab-review"),
    pytest.param("standard", "draft", "scheduled", id="standard-draft"),
    pytest.param("emergency", "draft", "implementing", id="emergency-draft"),
    pytest.param("emergency", "cab_review", "approved", id="emergency-ecab"),
    pytest.param("emergency", "approved", "implementing", id="emergency-approved"),
    pytest.param("emergency", "scheduled", "implementing", id="emergency-scheduled"),
])
def test_default_target_is_the_next_state_towards_closed(change_file: Any, change_type: str, state: str,
                                                         target: str) -> None:
    path = change_file(change_type, state=state, set={"id": "CHG-9", "justification": {}})
    result = run("validate", str(path), "--at", AT, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report, result.output
    assert {v["target"] for v in report} == {target}


@pytest.mark.parametrize("state", ["closed", "rejected", "cancelled"])
def test_nothing_to_check_after_a_final_state(change_file: Any, state: str) -> None:
    path = change_file(state=state)
    result = run("validate", str(path), "--at", AT)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: CHG-100 is {state.capitalize()}; there is no next state to check.\n"


def test_files_are_judged_together_for_conflicts(change_file: Any) -> None:
    # Both planned Tue 10 Nov 02:00-03:00 on orders-db; at 02:05 mine may be scheduled, theirs may start.
    submitted = {"history": [{"from": "draft", "to": "cab_review", "at": "2026-11-02T09:00:00Z"}]}
    mine = change_file(state="approved", name="mine.yaml", set=submitted)
    theirs = change_file(state="scheduled", name="theirs.yaml", set={"id": "CHG-101"})
    at = "2026-11-10T02:05:00Z"
    result = run("validate", str(mine), str(theirs), "--at", at, "--json")
    assert result.exit_code == 1
    assert [(v["file"], v["target"], v["code"]) for v in json.loads(result.stdout)] == [
        (str(mine), "scheduled", "conflict.overlap"), (str(theirs), "implementing", "conflict.overlap")]
    for alone in (mine, theirs):
        assert run("validate", str(alone), "--at", at).exit_code == 0


def test_policy_file_is_applied(change_file: Any, write: Any) -> None:
    policy = write("lead_time_business_days:\n  normal: 10\n", "policy.yaml")
    path = change_file()
    assert run("validate", str(path), "--at", AT).exit_code == 0
    result = run("validate", str(path), "--at", AT, "--policy", str(policy), "--json")
    assert result.exit_code == 1
    assert [v["code"] for v in json.loads(result.stdout)] == ["lead_time.too_short"]


def test_change_from_stdin(change_file: Any) -> None:
    text = change_file().read_text()
    result = run("validate", "-", "--at", AT, input=text)
    assert result.exit_code == 0, result.output
    broken = run("validate", "-", "--at", AT, input="id: [\n")
    assert broken.exit_code == 2 and "<stdin>" in broken.stderr


# -- 2: unusable input ---------------------------------------------------------------------------------------
BAD_FILES = [
    pytest.param("id: CHG-1\ntitle: t\n  type: normal\n",
                 ["change.yaml:3:", "malformed YAML", "mapping values are not allowed"], id="malformed-yaml"),
    pytest.param('{"id": "CHG-1", "title": "t",\n "type": "normal",,}\n', ["change.yaml:2:", "malformed"],
                 id="malformed-json"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nrisks:\n  - risk: r\n    likelihood: extreme\n    impact: low\n",
                 ["change.yaml:6:", "field 'risks[0].likelihood'", "expected 'low', 'medium' or 'high'",
                  "got 'extreme'"], id="wrong-enum"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nimplementation:\n  steps: 5\n",
                 ["change.yaml:5:", "field 'implementation.steps'", "expected a valid list", "got 5"],
                 id="wrong-type-number-for-list"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nchecklist:\n  backup_verified: maybe\n",
                 ["change.yaml:5:", "field 'checklist.backup_verified'", "boolean", "got 'maybe'"],
                 id="wrong-type-boolean"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nschedule: tomorrow\n",
                 ["change.yaml:4:", "field 'schedule'", "expected a mapping of fields, got str 'tomorrow'"],
                 id="wrong-type-text-for-section"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\ncolour: red\n",
                 ["change.yaml:4:", "field 'colour'", "unknown field", "expected one of:", "catalog_entry",
                  "schedule"], id="unknown-top-level-field"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nschedule:\n  environment: production\n  planed_start: x\n",
                 ["change.yaml:6:", "field 'schedule.planed_start'", "unknown field",
                  ("expected one of: actual_end, actual_start, environment, estimated_duration, planned_end, "
                   "planned_start")], id="unknown-nested-field"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nschedule:\n  planned_start: 2026-12-08T02:00:00\n",
                 ["change.yaml:5:", "field 'schedule.planned_start'", "expected a time with a zone",
                  "got '2026-12-08T02:00:00'"], id="time-without-zone"),
    pytest.param('{"id": "CHG-1", "title": "t", "type": "normal",\n'
                 ' "schedule": {"planned_start": "2026-12-08T02:00:00"}}\n',
                 ["change.yaml:2:", "field 'schedule.planned_start'", "expected a time with a zone"],
                 id="json-time-without-zone"),
    pytest.param("id: CHG-1\ntype: normal\n", ["field 'title'", "required"], id="missing-required-field"),
    pytest.param("id: CHG-1\ntitle: t\ntype: urgent\n",
                 ["change.yaml:3:", "field 'type'", "'standard', 'normal' or 'emergency'", "got 'urgent'"],
                 id="unknown-type"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nschedule:\n  planned_start: 2026-12-08T03:00:00Z\n"
                 "  planned_end: 2026-12-08T02:00:00Z\n",
                 ["change.yaml:4:", "field 'schedule'", "planned_end must be after planned_start"], id="end-before-start"),
    pytest.param("- id: CHG-1\n", ["change.yaml:1:", "expected a mapping of fields at the top level"],
                 id="top-level-list"),
    pytest.param("", ["the file is empty"], id="empty-file"),
    pytest.param(b"id: CHG-1\ntitle: \xff\n", ["not UTF-8"], id="not-utf8"),
    pytest.param("id: CHG-1\ntitle: t\ntype: normal\nrisks: high\ncolour: red\nchecklist:\n  oncall_available: 3\n",
                 ["(3 problems)", "change.yaml:4: field 'risks'", "change.yaml:5: field 'colour'",
                  "change.yaml:7: field 'checklist.oncall_available'"], id="every-problem-listed"),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_FILES)
def test_unusable_change_file_exits_2(write: Any, text: str | bytes, fragments: list[str]) -> None:
    path = write(text)
    result = run("validate", str(path), "--at", AT)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {path} is not a usable change file")
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("policy_text", "fragments"), [
    pytest.param("timezone: Mars/Olympus\n",
                 ["policy.yaml:1:", "field 'timezone'", "'Mars/Olympus' is not an IANA time zone",
                  "e.g. 'Europe/London'"], id="unknown-time-zone"),
    pytest.param("checklist:\n  normal: [backup_verified, coffee_made]\n",
                 ["policy.yaml:", "field 'checklist'", "unknown checklist item 'coffee_made'",
                  "expected one of backup_verified"], id="unknown-checklist-item"),
    pytest.param("holidays:\n  country: XX\n", ["policy.yaml:", "field 'holidays'", "unknown holiday calendar"],
                 id="unknown-holiday-calendar"),
    pytest.param("timezon: UTC\n", ["policy.yaml:1:", "field 'timezon'", "unknown field", "timezone"],
                 id="unknown-field"),
    pytest.param("windows:\n  production:\n    - days: [someday]\n      start: '02:00'\n      end: '04:00'\n",
                 ["policy.yaml:3:", "field 'windows.production[0].days[0]'", "'mon'"], id="unknown-weekday"),
    pytest.param("blackouts:\n  - name: Freeze\n    start: 2026-12-21T00:00:00\n    end: 2027-01-04T00:00:00Z\n",
                 ["policy.yaml:3:", "field 'blackouts[0].start'", "expected a time with a zone"],
                 id="blackout-without-zone"),
])
def test_unusable_policy_exits_2(write: Any, change_file: Any, policy_text: str, fragments: list[str]) -> None:
    policy = write(policy_text, "policy.yaml")
    result = run("validate", str(change_file()), "--at", AT, "--policy", str(policy))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {policy} is not a usable policy file")
    for fragment in fragments:
        assert fragment in result.stderr
    assert "expected 'Mars" not in result.stderr  # a value error reads as its own sentence


@pytest.mark.parametrize(("args", "fragments"), [
    pytest.param(["--to", "nowhere"], ["--to 'nowhere' is not a state", "expected one of: draft, cab_review"],
                 id="unknown-state"),
    pytest.param(["--at", "2026-11-02T09:00:00"], ["--at '2026-11-02T09:00:00' has no zone",
                                                   "2026-11-02T09:00:00Z"], id="at-without-zone"),
    pytest.param(["--at", "next tuesday"], ["--at 'next tuesday' is not an ISO-8601 time"], id="at-not-a-time"),
])
def test_unusable_options_exit_2(change_file: Any, args: list[str], fragments: list[str]) -> None:
    result = run("validate", str(change_file()), *(["--at", AT] if "--at" not in args else []), *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    for fragment in fragments:
        assert fragment in result.stderr


def test_missing_files_exit_2(tmp_path: Path, change_file: Any) -> None:
    missing = tmp_path / "nope.yaml"
    result = run("validate", str(missing), "--at", AT)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing} is not a usable change file: {missing}: the file does not exist.\n"
    result = run("validate", str(change_file()), "--at", AT, "--policy", str(missing))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing} is not a usable policy file: {missing}: the file does not exist.\n"


def test_one_unusable_file_among_several_exits_2(change_file: Any, write: Any) -> None:
    good = change_file()
    bad = write("id: CHG-2\n", "bad.yaml")
    result = run("validate", str(good), str(bad), "--at", AT)
    assert result.exit_code == 2 and str(bad) in result.stderr and result.stdout == ""


def test_a_directory_is_not_a_change_file(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path), "--at", AT)
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_validate_needs_a_file() -> None:
    assert run("validate").exit_code == 2


# -- the real executable -------------------------------------------------------------------------------------
def chgsync_exe() -> str:
    exe = Path(sys.executable).with_name("chgsync")
    assert exe.exists(), f"{exe} is not installed; run ./dev setup"
    return str(exe)


def run_exe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chgsync_exe(), *args], capture_output=True, text=True, timeout=60, check=False)


def test_real_executable_exit_codes(write: Any, change_file: Any) -> None:
    good = change_file(name="good.yaml")
    bad = write("id: CHG-1\ntitle: t\ntype: normal\nschedule:\n  planned_start: 2026-12-08T02:00:00\n", "bad.yaml")
    violating = change_file(name="violating.yaml", set={"rollback.steps": []})
    ok = run_exe("validate", str(good), "--at", AT)
    assert (ok.returncode, ok.stderr) == (0, ""), ok.stderr
    assert ok.stdout == f"{good}: CHG-100 may move Draft → CAB Review.\n"
    found = run_exe("validate", str(violating), "--at", AT, "--json")
    assert found.returncode == 1
    assert [(v["code"], v["field"]) for v in json.loads(found.stdout)] == [("missing.rollback.steps",
                                                                            "rollback.steps")]
    unusable = run_exe("validate", str(bad), "--at", AT)
    assert unusable.returncode == 2 and unusable.stdout == ""
    assert unusable.stderr == (f"Error: {bad} is not a usable change file: {bad}:5: field 'schedule.planned_start': "
                               "expected a time with a zone (e.g. 2026-12-01T02:00:00Z or +01:00), got "
                               "'2026-12-08T02:00:00'.\n")
