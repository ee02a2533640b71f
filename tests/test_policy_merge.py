"""A policy file is merged over the built-in policy: mappings key by key, lists replaced."""

from pathlib import Path

from chgsync.lifecycle import ChangeType
from chgsync.model import Level
from chgsync.policy import Policy, load_policy


def test_nested_mappings_keep_their_other_defaults(tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text("cab:\n  required:\n    normal: {low: [change_manager]}\nlead_time_business_days: {standard: 2}\n")
    policy = load_policy(f)
    default = Policy()
    assert policy.cab.required[ChangeType.NORMAL][Level.LOW] == ["change_manager"]
    assert policy.cab.required[ChangeType.NORMAL][Level.HIGH] == default.cab.required[ChangeType.NORMAL][Level.HIGH]
    assert policy.cab.required[ChangeType.EMERGENCY] == default.cab.required[ChangeType.EMERGENCY]
    assert policy.lead_time_business_days == {ChangeType.NORMAL: 5, ChangeType.STANDARD: 2}


def test_lists_replace_rather_than_extend(tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text("windows:\n  production:\n    - {days: [wed], start: '22:00', end: '23:00'}\n")
    windows = load_policy(f).windows["production"]
    assert len(windows) == 1 and windows[0].days[0].value == "wed"
