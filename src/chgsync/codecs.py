"""Value codecs: how a canonical value becomes a plain remote value and back, losslessly.

A mapping file names a codec per field. Codecs work on plain values (``str``, ``list[str]``,
``datetime``, ``float``, ``bool``, ``None``); the adapter then puts them in its tool's wire shape
(a Jira option object, a ServiceNow zone-less timestamp). Composition codecs turn a structure
into text a person can read in the ticketing UI and parse it back, so that the canonical value
survives the round trip: ``decode(encode(x)) == x`` for every value the model allows, which the
property tests check. Text a person wrote by hand that does not follow the format raises
:class:`CodecError`; the adapter reports it instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .model import (
    Approval,
    Checklist,
    Justification,
    MetricCondition,
    RiskRow,
    RollbackPlan,
    RollbackTrigger,
    Stakeholder,
    Step,
)


class CodecError(ValueError):
    """A remote value that the codec cannot turn into the canonical value."""


@dataclass(frozen=True)
class Codec:
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    description: str


# -- escaping for one-line slots ---------------------------------------------------------------------
def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _unesc(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split(text: str) -> list[str]:
    """Lines split on newline only (str.splitlines also splits on \x1c-\x1e, \x85, \u2028...)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


_DURATION = TypeAdapter(timedelta)


def format_duration(value: timedelta) -> str:
    """ISO 8601 (``PT1H30M``); pydantic reads it back to the same timedelta."""
    dumped = _DURATION.dump_python(value, mode="json")
    return str(dumped)


def parse_duration(text: str) -> timedelta:
    try:
        return _DURATION.validate_python(text.strip())
    except ValidationError:
        raise CodecError(f"{text!r} is not an ISO 8601 duration such as PT15M") from None


# -- simple codecs -----------------------------------------------------------------------------------
def _text_encode(v: str | None) -> str | None:
    return v


def _text_decode(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise CodecError(f"expected text, got {type(v).__name__}")
    return v


def _lines_encode(v: list[str]) -> str | None:
    return "\n".join(_esc(x) for x in v) if v else None


def _lines_decode(v: Any) -> list[str]:
    if not v:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [_unesc(line) for line in _split(str(v)) if line.strip()]


def _csv_encode(v: list[str]) -> str | None:
    return ", ".join(x.replace("\\", "\\\\").replace(",", "\\,") for x in v) if v else None


def _csv_decode(v: Any) -> list[str]:
    if not v:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    items, current, chars = [], [], iter(str(v))
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _list_encode(v: list[str]) -> list[str]:
    return list(v)


def _list_decode(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, str):
        return _csv_decode(v)
    return [str(x) for x in v]


def _datetime_encode(v: datetime | None) -> datetime | None:
    return v


def _datetime_decode(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v
    raise CodecError(f"expected a time, got {v!r}")


def _duration_encode(v: timedelta | None) -> str | None:
    return format_duration(v) if v is not None else None


def _duration_decode(v: Any) -> timedelta | None:
    if v is None or v == "":
        return None
    return parse_duration(str(v))


def _bool_encode(v: bool) -> bool:
    return bool(v)


def _bool_decode(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in {"true", "1", "yes"}


# -- compositions ------------------------------------------------------------------------------------
def steps_to_text(steps: list[Step]) -> str | None:
    if not steps:
        return None
    lines = []
    for i, s in enumerate(steps, 1):
        lines.append(f"{i}. {_esc(s.description)}")
        if s.command is not None:
            lines.append(f"   $ {_esc(s.command)}")
        if s.owner is not None:
            lines.append(f"   Owner: {_esc(s.owner)}")
    return "\n".join(lines)


_STEP = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")


def text_to_steps(text: Any) -> list[Step]:
    if not text:
        return []
    lines = _split(str(text))
    if not any(_STEP.match(line) for line in lines):
        # Hand-written text without numbering: each line is a step.
        lines = [f"{i}. {line.strip()}" for i, line in enumerate((x for x in lines if x.strip()), 1)]
    steps: list[dict[str, Any]] = []
    for raw in lines:
        if not raw.strip():
            continue
        m = _STEP.match(raw)
        if m:
            steps.append({"description": _unesc(m.group(2))})
        elif raw.strip().startswith("$ ") and steps:
            steps[-1]["command"] = _unesc(raw.strip()[2:])
        elif raw.strip().startswith("Owner: ") and steps:
            steps[-1]["owner"] = _unesc(raw.strip()[len("Owner: "):])
        elif steps:
            steps[-1]["description"] += " " + raw.strip()
    try:
        return [Step.model_validate(s) for s in steps]
    except ValidationError as exc:
        raise CodecError(f"unusable steps: {exc.errors()[0]['msg']}") from None


def rollback_to_text(plan: RollbackPlan) -> str | None:
    parts: list[str] = []
    if plan.trigger is not None:
        parts.append(f"Trigger: {_esc(plan.trigger.description)}")
        c = plan.trigger.condition
        if c is not None:
            parts.append(f"Condition: {_esc(c.query)} {c.op} {c.threshold!r} for {format_duration(c.for_)}")
    steps = steps_to_text(plan.steps)
    if steps:
        parts.append("Steps:")
        parts.append(steps)
    if plan.expected_duration is not None:
        parts.append(f"Expected time: {format_duration(plan.expected_duration)}")
    return "\n".join(parts) or None


_COND = re.compile(r"^(?P<q>.*) (?P<op>>=|<=|==|!=|>|<) (?P<t>\S+) for (?P<for>\S+)$")


def text_to_rollback(text: Any) -> RollbackPlan:
    if not text:
        return RollbackPlan()
    trigger: RollbackTrigger | None = None
    condition: MetricCondition | None = None
    steps_lines: list[str] = []
    expected: timedelta | None = None
    in_steps = False
    free: list[str] = []
    for line in _split(str(text)):
        if line.startswith("Trigger: "):
            trigger = RollbackTrigger(description=_unesc(line[len("Trigger: "):]))
            in_steps = False
        elif line.startswith("Condition: "):
            m = _COND.match(line[len("Condition: "):])
            if not m:
                raise CodecError(f"rollback condition {line!r} is not '<query> <op> <threshold> for <duration>'")
            try:
                condition = MetricCondition.model_validate(
                    {"query": _unesc(m["q"]), "op": m["op"], "threshold": float(m["t"]), "for": parse_duration(m["for"])}
                )
            except (ValidationError, ValueError) as exc:
                raise CodecError(f"rollback condition {line!r}: {exc}") from None
        elif line.strip() == "Steps:":
            in_steps = True
        elif line.startswith("Expected time: "):
            expected = parse_duration(line[len("Expected time: "):])
            in_steps = False
        elif in_steps:
            steps_lines.append(line)
        elif line.strip():
            free.append(line.strip())
    if trigger is None and not steps_lines and expected is None:
        # A hand-written backout plan: keep every line as a step rather than lose it.
        return RollbackPlan(steps=text_to_steps("\n".join(free)))
    if condition is not None and trigger is not None:
        trigger = trigger.model_copy(update={"condition": condition})
    return RollbackPlan(trigger=trigger, steps=text_to_steps("\n".join(steps_lines)), expected_duration=expected)


def risks_to_text(rows: list[RiskRow]) -> str | None:
    if not rows:
        return None
    out = []
    for i, r in enumerate(rows, 1):
        out.append(f"{i}. {_esc(r.risk)}")
        out.append(f"   Likelihood: {r.likelihood.value}; Impact: {r.impact.value}; Level: {r.level.value}")
        if r.mitigation is not None:
            out.append(f"   Mitigation: {_esc(r.mitigation)}")
    return "\n".join(out)


_RISK_LI = re.compile(r"^\s*Likelihood: (\w+); Impact: (\w+)(?:; Level: \w+)?\s*$")


def text_to_risks(text: Any) -> list[RiskRow]:
    if not text:
        return []
    rows: list[dict[str, Any]] = []
    for line in _split(str(text)):
        if not line.strip():
            continue
        m = _STEP.match(line)
        li = _RISK_LI.match(line)
        if m and not li:
            rows.append({"risk": _unesc(m.group(2))})
        elif li and rows:
            rows[-1]["likelihood"], rows[-1]["impact"] = li.group(1).lower(), li.group(2).lower()
        elif line.strip().startswith("Mitigation: ") and rows:
            rows[-1]["mitigation"] = _unesc(line.strip()[len("Mitigation: "):])
        else:
            raise CodecError(f"risk assessment line {line.strip()!r} is not in the '1. risk / Likelihood: ...' format")
    try:
        return [RiskRow.model_validate(r) for r in rows]
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CodecError(f"risk assessment: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def justification_to_text(j: Justification) -> str | None:
    parts = []
    if j.reason is not None:
        parts.append(j.reason)
    if j.impact_if_not_done is not None:
        parts.append(f"Impact if not done: {j.impact_if_not_done}")
    return "\n\n".join(parts) or None


def text_to_justification(text: Any) -> Justification:
    if not text:
        return Justification()
    body = str(text)
    marker = "Impact if not done: "
    reason, impact = body, None
    if body.startswith(marker):
        reason, impact = "", body[len(marker):]
    elif "\n\n" + marker in body:
        reason, impact = body.split("\n\n" + marker, 1)
    return Justification(reason=reason or None, impact_if_not_done=impact or None)


def stakeholders_to_text(items: list[Stakeholder]) -> str | None:
    if not items:
        return None
    return "\n".join(_esc(s.name) + (f" <{_esc(s.contact)}>" if s.contact is not None else "") for s in items)


_STAKE = re.compile(r"^(?P<name>.*?)(?: <(?P<contact>.*)>)?$")


def text_to_stakeholders(text: Any) -> list[Stakeholder]:
    if not text:
        return []
    if isinstance(text, list):
        return [Stakeholder(name=str(x)) for x in text]
    out = []
    for line in _split(str(text)):
        if line.strip():
            m = _STAKE.match(line.strip())
            assert m is not None
            contact = m["contact"]
            out.append(Stakeholder(name=_unesc(m["name"]), contact=_unesc(contact) if contact is not None else None))
    return out


def approvals_to_text(items: list[Approval]) -> str | None:
    if not items:
        return None
    return "\n".join(
        f"{a.at.isoformat()} {a.role} {_esc(a.approver)}: {a.decision.value}"
        + (f" — {_esc(a.reason)}" if a.reason is not None else "")
        for a in items
    )


_APPROVAL = re.compile(r"^(?P<at>\S+) (?P<role>[a-z][a-z0-9_]*) (?P<who>.+?): (?P<d>approve|defer|reject)(?: — (?P<why>.*))?$")


def text_to_approvals(text: Any) -> list[Approval]:
    if not text:
        return []
    out = []
    for line in _split(str(text)):
        if not line.strip():
            continue
        m = _APPROVAL.match(line.strip())
        if not m:
            raise CodecError(f"CAB decision line {line.strip()!r} is not '<time> <role> <approver>: <decision> — <reason>'")
        out.append(Approval.model_validate({"at": m["at"], "role": m["role"], "approver": _unesc(m["who"]),
                                            "decision": m["d"], "reason": _unesc(m["why"]) if m["why"] is not None else None}))
    return out


def checklist_to_list(checklist: Checklist) -> list[str]:
    return [name for name in Checklist.model_fields if getattr(checklist, name)]


def list_to_checklist(value: Any) -> Checklist:
    items = _list_decode(value)
    known = set(Checklist.model_fields)
    unknown = [i for i in items if i not in known]
    if unknown:
        raise CodecError(f"unknown checklist items {unknown}; expected some of {', '.join(sorted(known))}")
    return Checklist(**{name: True for name in items})


CODECS: dict[str, Codec] = {
    c.name: c
    for c in (
        Codec("text", _text_encode, _text_decode, "Text as is; empty remote text is no value."),
        Codec("enum", _text_encode, _text_decode, "An enumeration translated through the field's `values` table."),
        Codec("lines", _lines_encode, _lines_decode, "A list, one item per line of a text field."),
        Codec("csv", _csv_encode, _csv_decode, "A list as comma-separated text."),
        Codec("list", _list_encode, _list_decode, "A list to a multi-valued remote field (labels, multi-select)."),
        Codec("datetime", _datetime_encode, _datetime_decode, "A time; the adapter writes its tool's format."),
        Codec("duration", _duration_encode, _duration_decode, "An ISO 8601 duration such as PT15M."),
        Codec("bool", _bool_encode, _bool_decode, "A yes/no value."),
        Codec("steps_text", steps_to_text, text_to_steps, "Ordered steps as a numbered list."),
        Codec("rollback_text", rollback_to_text, text_to_rollback, "Trigger, condition, steps and time as text."),
        Codec("risks_text", risks_to_text, text_to_risks, "The risk table as a numbered list."),
        Codec("justification_text", justification_to_text, text_to_justification, "Why, and the impact of not doing it."),
        Codec("stakeholders_text", stakeholders_to_text, text_to_stakeholders, "One stakeholder per line, contact in <>."),
        Codec("approvals_text", approvals_to_text, text_to_approvals, "CAB decisions, one per line."),
        Codec("checklist_list", checklist_to_list, list_to_checklist,
              "The checklist as the list of items done (a multi-select or labels field)."),
    )
}


def translate(values: Mapping[str, str] | None, value: Any, *, reverse: bool = False) -> Any:
    """Apply an enumeration table in either direction; unknown values raise :class:`CodecError`."""
    if values is None or value is None:
        return value
    table = {v: k for k, v in values.items()} if reverse else dict(values)
    key = str(value.value if hasattr(value, "value") else value)
    if key not in table:
        if reverse:
            lowered = {k.casefold(): v for k, v in table.items()}
            if key.casefold() in lowered:
                return lowered[key.casefold()]
        raise CodecError(f"{key!r} is not one of {', '.join(sorted(table))}")
    return table[key]
