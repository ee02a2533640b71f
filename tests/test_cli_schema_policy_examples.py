"""``chgsync schema``, ``chgsync policy show``, and the shipped examples doing what their headers say."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from chgsync.cli import cli
from chgsync.files import load_document
from chgsync.model import Change
from chgsync.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


# -- schema ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = run("schema")
    assert result.exit_code == 0
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_schema_is_a_valid_json_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"


def test_schema_has_every_top_level_field(schema: dict[str, Any]) -> None:
    fields = {f.alias or name for name, f in Change.model_fields.items()}
    assert fields <= set(schema["properties"])
    assert {"id", "title", "type", "state", "schedule", "cab", "checklist", "risks", "rollback", "history"} <= fields
    assert set(schema["required"]) == {"id", "title", "type"}


def test_schema_accepts_the_examples_and_refuses_unknown_fields(schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("normal.yaml", "standard.yaml", "emergency.yaml"):
        data = load_document(EXAMPLES / name)
        assert list(validator.iter_errors(data)) == [], name
    data = load_document(EXAMPLES / "normal.yaml")
    assert not validator.is_valid({**data, "colour": "red"})
    assert not validator.is_valid({**data, "type": "urgent"})
    assert not validator.is_valid({k: v for k, v in data.items() if k != "title"})


# -- policy show -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy_file", [None, "policy.yaml"], ids=["built-in", "example"])
def test_policy_show_prints_yaml_that_loads_back_equal(tmp_path: Path, policy_file: str | None) -> None:
    args = ["policy", "show"] + (["--policy", str(EXAMPLES / policy_file)] if policy_file else [])
    result = run(*args)
    assert result.exit_code == 0, result.output
    printed = tmp_path / "printed.yaml"
    printed.write_text(result.stdout, encoding="utf-8")
    expected = load_policy(EXAMPLES / policy_file if policy_file else None)
    assert load_policy(printed) == expected
    assert Policy.model_validate(yaml.safe_load(result.stdout)) == expected
    as_json = run(*args, "--json")
    assert as_json.exit_code == 0 and Policy.model_validate(json.loads(as_json.stdout)) == expected


def test_policy_show_states_the_defaults() -> None:
    shown = yaml.safe_load(run("policy", "show").stdout)
    assert shown["timezone"] == "UTC"
    assert shown["lead_time_business_days"] == {"normal": 5}
    assert shown["windows"] == {"production": [{"days": ["tue", "thu"], "start": "02:00:00", "end": "04:00:00"}]}
    assert shown["cab"]["required"]["normal"]["low"] == ["technical_lead", "change_manager"]
    assert shown["emergency"]["retrospective_due"] == "P1D" and shown["emergency"]["postmortem_due"] == "P2D"


def test_policy_show_refuses_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("timezone: Mars/Olympus\n")
    result = run("policy", "show", "--policy", str(bad))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {bad} is not a usable policy file: {bad}:1: field 'timezone': 'Mars/Olympus' "
                             "is not an IANA time zone (e.g. 'Europe/London').\n")


# -- examples ----------------------------------------------------------------------------------------------
# What each example's header says a reader will see, written out by hand.
DOCUMENTED = {
    "normal.yaml": "CHG-1042 may move Draft → CAB Review.",
    "standard.yaml": "CHG-1043 may move Draft → Scheduled.",
    "emergency.yaml": "CHG-1044 may move Draft → Implementing.",
}


def header_command(path: Path) -> list[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("chgsync "):
            return shlex.split(text)[1:]
    raise AssertionError(f"{path.name} has no `chgsync ...` command in its header comment")


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json")} == {*DOCUMENTED,
                                                                                              "policy.yaml"}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_example_validates_as_its_header_says(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    args = header_command(EXAMPLES / name)
    assert args[0] == "validate" and f"examples/{name}" in args and "--at" in args
    monkeypatch.chdir(ROOT)
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"examples/{name}: {DOCUMENTED[name]}\n"


def test_example_policy_loads_with_every_section() -> None:
    policy = load_policy(EXAMPLES / "policy.yaml")
    assert policy.timezone == "Europe/London"
    assert (policy.holidays.country, policy.holidays.subdivision) == ("GB", "ENG")
    assert set(policy.windows) == {"production", "staging"}
    assert [b.name for b in policy.blackouts] == ["Black Friday week", "Year-end freeze"]
    assert set(policy.catalog) == {"tls_cert_rotation"}
