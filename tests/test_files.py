"""Loading change and policy files: YAML's implicit types, problems with field and line, error attributes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from chgsync.errors import ChangeFileError, InputError, PolicyError, Problem
from chgsync.files import load_document, load_model, parse_text
from chgsync.model import Change
from chgsync.policy import load_policy


def write(tmp_path: Path, text: str, name: str = "file.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unquoted_times_of_day_are_not_base_60_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "windows:\n  staging:\n    - days: [mon]\n      start: 08:30\n      end: 17:00\n")
    window = load_policy(path).windows["staging"][0]
    assert (window.start, window.end) == (time(8, 30), time(17, 0))


def test_a_one_digit_hour_is_refused_not_misread(tmp_path: Path) -> None:
    path = write(tmp_path, "windows:\n  staging:\n    - days: [mon]\n      start: 9:00\n      end: '17:00'\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    [problem] = exc.value.problems
    assert (problem.field, problem.line) == ("windows.staging[0].start", 4)
    assert "got '9:00'" in problem.message


def test_a_base_60_duration_is_refused_not_read_as_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "id: CHG-1\ntitle: t\ntype: normal\nrollback:\n  expected_duration: 1:30\n")
    with pytest.raises(ChangeFileError) as exc:
        load_model(path, Change, ChangeFileError)
    assert [(p.field, p.line) for p in exc.value.problems] == [("rollback.expected_duration", 5)]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 12", 12), ("a: -3", -3), ("a: 0x1f", 31), ("a: 1_000", 1000), ("a: 1.5", 1.5), ("a: true", True),
    ("a: '17:00'", "17:00"), ("a: 17:00", "17:00"), ("a: 1:30:00", "1:30:00"),
    ("a: 2026-12-08T02:00:00Z", "2026-12-08T02:00:00Z"), ("a: 2026-12-08", "2026-12-08"),
], ids=lambda v: str(v))
def test_implicit_scalar_types(text: str, expected: object) -> None:
    data, _ = parse_text(text, "x.yaml")
    assert data["a"] == expected and type(data["a"]) is type(expected)


def test_times_keep_their_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "id: CHG-1\ntitle: t\ntype: normal\nschedule:\n  planned_start: 2026-12-08T02:00:00+01:00\n"
                           "  planned_end: 2026-12-08T02:00:00Z\n")
    schedule = load_model(path, Change).schedule
    assert schedule.planned_start == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert schedule.planned_duration == timedelta(hours=1)


def test_problems_carry_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join([
        "id: CHG-1",                      # 1
        "title: t",                       # 2
        "type: normal",                   # 3
        "risks:",                         # 4
        "  - risk: a",                    # 5
        "    likelihood: low",            # 6
        "    impact: low",                # 7
        "  - risk: b",                    # 8
        "    likelihood: often",          # 9
        "    impact: low",                # 10
        "implementation:",                # 11
        "  steps:",                       # 12
        "    - fine",                     # 13
        "    - description: ''",          # 14
    ]) + "\n")
    with pytest.raises(ChangeFileError) as exc:
        load_model(path, Change, ChangeFileError)
    err = exc.value
    assert err.source == str(path)
    assert sorted((p.line, p.field) for p in err.problems) == [(9, "risks[1].likelihood"),
                                                              (14, "implementation.steps[1].description")]
    assert str(err).startswith(f"{path} is not a usable change file (2 problems):\n  - ")
    assert (f"\n  - {path}:9: field 'risks[1].likelihood': expected 'low', 'medium' or 'high', got 'often'."
            in str(err))


def test_problem_rendering() -> None:
    assert Problem("a.b", "bad.", 3).render("f.yaml") == "f.yaml:3: field 'a.b': bad."
    assert Problem("", "bad.", None).render("f.yaml") == "f.yaml: bad."
    assert Problem("a", "bad.", 2).render() == "line 2: field 'a': bad."
    assert str(InputError(None, "nothing to read")) == "Unusable input: nothing to read"


def test_load_document_names_its_kind(tmp_path: Path) -> None:
    assert load_document(write(tmp_path, "a: [1, 2]\n")) == {"a": [1, 2]}
    with pytest.raises(InputError, match=r"is not a usable seed file: .*seed.yaml:2: malformed YAML"):
        load_document(write(tmp_path, "a: [1, 2\n", "seed.yaml"), kind="seed")


def test_a_policy_file_overrides_only_what_it_sets(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "timezone: Europe/London\nlead_time_business_days:\n  normal: 3\n"))
    assert policy.timezone == "Europe/London"
    assert policy.lead_time_business_days == {"normal": 3}
    default = load_policy(None)
    assert policy.windows == default.windows and policy.cab == default.cab


def test_json_indented_with_tabs_is_read(tmp_path: Path) -> None:
    text = '{\n\t"id": "CHG-1",\n\t"title": "t",\n\t"type": "normal",\n\t"description": "a\\tb"\n}\n'
    change = load_model(write(tmp_path, text, "change.json"), Change)
    assert (change.id, change.description) == ("CHG-1", "a\tb")
    with pytest.raises(ChangeFileError) as exc:
        load_model(write(tmp_path, text.replace('"type"', '"colour": 1,\n\t"type"'), "bad.json"), Change,
                   ChangeFileError)
    assert [(p.field, p.line) for p in exc.value.problems] == [("colour", 4)]
