"""Composition codecs must survive the round trip for every value the model allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chgsync.codecs import CODECS, CodecError, text_to_risks, text_to_rollback, translate
from chgsync.model import Approval, Checklist, Justification, RiskRow, RollbackPlan, Stakeholder, Step
from chgsync.testing.strategies import (
    approvals,
    checklists,
    durations,
    justifications,
    risks,
    rollbacks,
    stakeholders,
    steps,
    text,
)


def roundtrip(codec: str, value: object) -> object:
    c = CODECS[codec]
    return c.decode(c.encode(value))


@settings(max_examples=150)
@given(steps)
def test_steps_roundtrip(value: list[Step]) -> None:
    assert roundtrip("steps_text", value) == value


@settings(max_examples=150)
@given(risks)
def test_risks_roundtrip(value: list[RiskRow]) -> None:
    assert roundtrip("risks_text", value) == value


@settings(max_examples=150)
@given(rollbacks)
def test_rollback_roundtrip(value: RollbackPlan) -> None:
    if value.trigger is None and not value.steps and value.expected_duration is None:
        assert CODECS["rollback_text"].encode(value) is None
    assert roundtrip("rollback_text", value) == value


@settings(max_examples=100)
@given(stakeholders)
def test_stakeholders_roundtrip(value: list[Stakeholder]) -> None:
    assert roundtrip("stakeholders_text", value) == value


@settings(max_examples=100)
@given(st.lists(text, max_size=5))
def test_lines_and_csv_roundtrip(value: list[str]) -> None:
    assert roundtrip("lines", value) == value
    assert roundtrip("csv", value) == [v.strip() for v in value if v.strip()]


@settings(max_examples=100)
@given(justifications)
def test_justification_roundtrip(value: Justification) -> None:
    assert roundtrip("justification_text", value) == value


@settings(max_examples=100)
@given(approvals)
def test_approvals_roundtrip(value: list[Approval]) -> None:
    assert roundtrip("approvals_text", value) == value


@settings(max_examples=100)
@given(st.none() | durations)
def test_duration_roundtrip(value: timedelta | None) -> None:
    assert roundtrip("duration", value) == value


def test_hand_written_backout_plan_keeps_every_line() -> None:
    plan = text_to_rollback("Stop the service\nRestore the snapshot")
    assert [s.description for s in plan.steps] == ["Stop the service", "Restore the snapshot"]


def test_malformed_risk_text_is_an_error_not_a_guess() -> None:
    with pytest.raises(CodecError, match="not in the"):
        text_to_risks("It might break")
    with pytest.raises(CodecError, match="likelihood"):
        text_to_risks("1. Disk fills\n   Likelihood: huge; Impact: low")


def test_enum_translation_both_ways() -> None:
    table = {"low": "4", "medium": "3", "high": "2"}
    assert translate(table, "high") == "2"
    assert translate(table, "2", reverse=True) == "high"
    with pytest.raises(CodecError, match="not one of"):
        translate(table, "9", reverse=True)


@given(checklists)
def test_checklist_roundtrip(value: Checklist) -> None:
    assert roundtrip("checklist_list", value) == value


def test_unknown_checklist_item_is_named() -> None:
    with pytest.raises(CodecError, match="coffee_made"):
        CODECS["checklist_list"].decode(["backup_verified", "coffee_made"])
