"""Encoded queries (``sysparm_query``): parsing and evaluation against stored records.

Grammar: terms joined by ``^``; ``^OR`` ors a term with the one before it, ``^NQ`` starts a new
or-ed group, ``ORDERBY``/``ORDERBYDESC`` order the result and ``^EQ`` is ignored; ``^^`` is a
literal caret inside a value. A term whose field does not exist (or whose operator is unknown) is
dropped and the rest still runs, so a typo can return the whole table: that is what the product
does unless ``glide.invalid_query.returns_no_rows`` is set, which ``strict`` emulates.

Operators the platform has but the emulator does not evaluate (relative dates, dynamic filters,
business-rule-only change operators) are refused with a 400 rather than silently dropped: a
test should learn that the emulator cannot answer it, not get a plausible wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .errors import ApiError
from .schema import Field, Table
from .store import Record, Store
from .times import day_end, day_start, local_today, parse_glide, to_glide

UNARY = ("ISNOTEMPTY", "ISEMPTY", "EMPTYSTRING", "ANYTHING")
# Longest first wherever one operator is a prefix of another.
OPERATORS = (
    *UNARY,
    "NOT LIKE",
    "NOT IN",
    "NSAMEAS",
    "SAMEAS",
    "STARTSWITH",
    "ENDSWITH",
    "LIKE",
    "BETWEEN",
    "GT_OR_EQUALS_FIELD",
    "LT_OR_EQUALS_FIELD",
    "GT_FIELD",
    "LT_FIELD",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
UNSUPPORTED = (
    "IN_HIERARCHY",
    "INSTANCEOF",
    "RELATIVE",
    "DATEPART",
    "MORETHAN",
    "LESSTHAN",
    "DYNAMIC",
    "VALCHANGES",
    "CHANGESFROM",
    "CHANGESTO",
    "NOTON",
    "ON",
    "NOT ON",
)

#: Negative and field-to-field operators compare in SQL, where an empty (NULL) value matches nothing:
#: ``assigned_to!=X`` does not return unassigned records (ServiceNow KB0715430).
NULL_NEVER_MATCHES = frozenset({"!=", "NOT IN", "NOT LIKE", "SAMEAS", "NSAMEAS"})

_TERM_RE = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: str


@dataclass
class Query:
    """``groups`` are or-ed (``^NQ``); each is a list of and-ed clauses; each clause or-s conditions."""

    groups: list[list[list[Condition]]] = field(default_factory=lambda: [[]])
    order: list[tuple[str, bool]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def split_terms(text: str) -> list[str]:
    """Split on ``^`` while keeping ``^^`` as a literal caret."""
    terms: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "^":
            if i + 1 < len(text) and text[i + 1] == "^":
                current.append("^")
                i += 2
                continue
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    terms.append("".join(current))
    return terms


def parse(text: str, valid_path: Callable[[str], bool]) -> Query:
    query = Query()
    for raw in split_terms(text or ""):
        term = raw
        if term in ("", "EQ"):
            continue
        if term == "NQ":
            query.groups.append([])
            continue
        if term.startswith("NQ") and _TERM_RE.match(term[2:]):
            query.groups.append([])
            term = term[2:]
        if term.startswith("ORDERBY"):
            desc = term.startswith("ORDERBYDESC")
            path = term[len("ORDERBYDESC" if desc else "ORDERBY") :]
            if valid_path(path):
                query.order.append((path, desc))
            else:
                query.dropped.append(raw)
            continue
        is_or = term.startswith("OR") and bool(_TERM_RE.match(term[2:]))
        if is_or:
            term = term[2:]
        cond = _condition(term)
        if (
            cond is None
            or not valid_path(cond.path)
            or (cond.op in ("SAMEAS", "NSAMEAS") or cond.op.endswith("_FIELD"))
            and not valid_path(cond.value)
        ):
            query.dropped.append(raw)
            continue
        clauses = query.groups[-1]
        if is_or and clauses:
            clauses[-1].append(cond)
        else:
            clauses.append([cond])
    return query


def _condition(term: str) -> Condition | None:
    m = _TERM_RE.match(term)
    if not m:
        return None
    path, rest = m.group(1), m.group(2)
    for op in OPERATORS:
        if rest.startswith(op):
            value = "" if op in UNARY else rest[len(op) :]
            return Condition(path, op, value)
    for op in UNSUPPORTED:
        if rest.startswith(op):
            raise ApiError(
                400,
                "Invalid query",
                f"The emulator does not evaluate the '{op}' operator (in '{term}'); "
                "use =, !=, <, <=, >, >=, LIKE, STARTSWITH, ENDSWITH, IN, BETWEEN or ISEMPTY.",
            )
    return None


# -- evaluation ----------------------------------------------------------------------------------------
@dataclass
class Context:
    """What evaluating values needs: the store for dot-walks and display values, the user's zone and id."""

    store: Store
    table: Table
    tz: tzinfo
    now: datetime
    user_sys_id: str = ""
    user_name: str = ""


def matches(query: Query, record: Record, ctx: Context) -> bool:
    return any(all(any(_test(c, record, ctx) for c in clause) for clause in group) for group in query.groups)


def run(query: Query, records: Iterable[Record], ctx: Context, strict: bool = False) -> list[Record]:
    if strict and query.dropped:
        return []
    found = [r for r in records if matches(query, r, ctx)]
    for path, desc in reversed(query.order):
        found.sort(key=lambda r, p=path: _sort_key(r, p, ctx), reverse=desc)  # type: ignore[misc]
    return found


def _resolve(record: Record, path: str, ctx: Context) -> tuple[Field | None, str]:
    parts = path.split(".")
    table: Table | None = ctx.table
    current: Record | None = record
    for i, part in enumerate(parts):
        if table is None or part not in table.fields:
            return None, ""
        f = table.fields[part]
        value = current.get(part, "") if current is not None else ""
        if i == len(parts) - 1:
            return f, value
        located = ctx.store.locate(f.reference if f.type == "reference" else "sys_user_group", value)
        table = located.table if located else ctx.store.reference_schema(f.reference)
        current = located.record if located else None
    return None, ""


def _kind(f: Field) -> str:
    if f.type == "integer":
        return "number"
    if f.type in ("glide_date_time", "glide_date"):
        return "date"
    return "string"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparable(f: Field, text: str, ctx: Context) -> Any:
    """A value in the form its field compares in; ``None`` when it cannot be read that way."""
    kind = _kind(f)
    if kind == "number":
        return _number(text)
    if kind == "date":
        moment = query_date(text, ctx)
        return to_glide(moment) if moment else None
    return text


def _test(cond: Condition, record: Record, ctx: Context) -> bool:
    f, raw = _resolve(record, cond.path, ctx)
    if f is None:
        return True
    op, value = cond.op, cond.value
    if op == "ANYTHING":
        return True
    if op in ("ISEMPTY", "EMPTYSTRING"):
        return raw == ""
    if op == "ISNOTEMPTY":
        return raw != ""
    if value.startswith("javascript:") and _kind(f) != "date":
        value = _script_value(value, ctx)
    if raw == "" and op in NULL_NEVER_MATCHES:
        return False
    if op in ("SAMEAS", "NSAMEAS"):
        _, other = _resolve(record, value, ctx)
        return other != "" and (raw == other) == (op == "SAMEAS")
    if op.endswith("_FIELD"):
        _, other = _resolve(record, value, ctx)
        a, b = _number(raw), _number(other)
        if a is None or b is None:
            return False
        return {
            "GT_FIELD": a > b,
            "LT_FIELD": a < b,
            "GT_OR_EQUALS_FIELD": a >= b,
            "LT_OR_EQUALS_FIELD": a <= b,
        }[op]
    if op in ("LIKE", "NOT LIKE", "STARTSWITH", "ENDSWITH"):
        text = ctx.store.display_value(f.reference, raw) if f.type == "reference" else raw
        hay, needle = text.lower(), value.lower()
        if op == "STARTSWITH":
            return hay.startswith(needle)
        if op == "ENDSWITH":
            return hay.endswith(needle)
        return (needle in hay) == (op == "LIKE")
    if op in ("IN", "NOT IN"):
        options = value.split(",")
        inside = raw in options or (
            _kind(f) == "number"
            and _number(raw) in {_number(o) for o in options}
            and _number(raw) is not None
        )
        return inside == (op == "IN")
    if op in ("=", "!="):
        same = _equal(f, raw, value, ctx)
        return same if op == "=" else not same
    if op == "BETWEEN":
        low, _, high = value.partition("@")
        x, a, b = (_comparable(f, v, ctx) for v in (raw, low, high))
        if raw == "" or x is None or a is None or b is None:
            return False
        return bool(a <= x <= b)
    # ordering comparisons: an empty value never compares (SQL NULL semantics)
    if raw == "":
        return False
    x, y = _comparable(f, raw, ctx), _comparable(f, value, ctx)
    if x is None or y is None:
        return False
    return bool({">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op])


def _equal(f: Field, raw: str, value: str, ctx: Context) -> bool:
    kind = _kind(f)
    if kind == "date" and raw and value:
        return bool(_comparable(f, raw, ctx) == _comparable(f, value, ctx))
    if kind == "number" and raw and value:
        a, b = _number(raw), _number(value)
        if a is not None and b is not None:
            return a == b
    return raw == value


def _sort_key(record: Record, path: str, ctx: Context) -> tuple[int, Any]:
    f, raw = _resolve(record, path, ctx)
    if f is None or raw == "":
        return (0, "")
    if f.type == "reference":
        return (1, ctx.store.display_value(f.reference, raw).lower())
    if _kind(f) == "number":
        n = _number(raw)
        return (1, n) if n is not None else (2, raw)
    if _kind(f) == "date":
        return (1, raw)
    return (1, raw.lower())


# -- javascript: values --------------------------------------------------------------------------------
_CALL_RE = re.compile(r"^javascript:\s*gs\.(\w+)\((.*)\)\s*;?\s*$", re.DOTALL)


def _args(text: str) -> list[str]:
    return [a.strip().strip("'\"") for a in text.split(",")] if text.strip() else []


def _script_value(value: str, ctx: Context) -> str:
    m = _CALL_RE.match(value)
    if m and m.group(1) == "getUserID":
        return ctx.user_sys_id
    if m and m.group(1) == "getUserName":
        return ctx.user_name
    raise ApiError(
        400,
        "Invalid query",
        f"The emulator does not evaluate '{value}'; it knows gs.getUserID(), "
        "gs.getUserName(), gs.dateGenerate() and the gs.daysAgo*/beginningOf*/endOf* date helpers.",
    )


def query_date(text: str, ctx: Context) -> datetime | None:
    """A date operand: a UTC literal, or a ``javascript:gs...`` helper read in the user's zone."""
    if not text.startswith("javascript:"):
        return parse_glide(text)
    m = _CALL_RE.match(text)
    if not m:
        return _script_date_error(text)
    name, args = m.group(1), _args(m.group(2))
    today = local_today(ctx.now, ctx.tz)
    if name == "dateGenerate" and args:
        day = args[0]
        when = args[1] if len(args) > 1 else ""
        if " " in day and not when:  # pysnow writes one "yyyy-MM-dd HH:mm:ss" argument
            day, when = day.split(" ", 1)
        if when == "start" or when == "":
            when = "00:00:00"
        elif when == "end":
            when = "23:59:59"
        return parse_glide(f"{day} {when}", ctx.tz)
    n = int(args[0]) if args and args[0].lstrip("-").isdigit() else 0
    helpers: dict[str, Callable[[], datetime]] = {
        "nowDateTime": lambda: ctx.now,
        "now": lambda: ctx.now,
        "daysAgo": lambda: ctx.now - timedelta(days=n),
        "hoursAgo": lambda: ctx.now - timedelta(hours=n),
        "minutesAgo": lambda: ctx.now - timedelta(minutes=n),
        "daysAgoStart": lambda: day_start(today - timedelta(days=n), ctx.tz),
        "daysAgoEnd": lambda: day_end(today - timedelta(days=n), ctx.tz),
        "beginningOfToday": lambda: day_start(today, ctx.tz),
        "endOfToday": lambda: day_end(today, ctx.tz),
        "beginningOfYesterday": lambda: day_start(today - timedelta(days=1), ctx.tz),
        "endOfYesterday": lambda: day_end(today - timedelta(days=1), ctx.tz),
        "beginningOfTomorrow": lambda: day_start(today + timedelta(days=1), ctx.tz),
        "endOfTomorrow": lambda: day_end(today + timedelta(days=1), ctx.tz),
    }
    if name in helpers:
        return helpers[name]().astimezone(UTC)
    return _script_date_error(text)


def _script_date_error(text: str) -> datetime:
    raise ApiError(
        400,
        "Invalid query",
        f"The emulator does not evaluate '{text}'; use a UTC literal such as "
        "'2026-11-26 10:00:00', gs.dateGenerate('2026-11-26','10:00:00') or a gs.daysAgo*/beginningOf* "
        "helper.",
    )
