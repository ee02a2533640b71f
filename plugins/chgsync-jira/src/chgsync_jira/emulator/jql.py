"""JQL: the part an integration uses, parsed and evaluated the way Jira Cloud does.

Supported: ``AND``/``OR``/``NOT`` and parentheses; ``= != > >= < <= ~ !~ IN, NOT IN, IS [NOT] EMPTY``;
fields by id, clause name, display name or ``cf[N]``; date literals with minute precision read in
the searching user's zone (``"2026-11-26 10:00"``, ``-5m``, ``startOfDay()``); ``currentUser()``;
``ORDER BY`` with several keys. Syntax errors answer with Jira's ``Error in the JQL Query: ...
(line 1, character N)`` wording; unknown fields and values with Jira's sentences. History operators
(``WAS``, ``CHANGED``) are refused with a message that says the emulator lacks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .errors import JiraError
from .fields import search_text
from .model import FieldDef, Issue
from .store import Site
from .timefmt import DATE_FORMAT_HELP, parse_jql_date, parse_period, start_of_day

OPERATORS_HELP = (
    "'=', '!=', '~', '<=', '>=', '>', '<', '!~', 'is', 'in', 'not in', 'was', 'was in', 'was not', "
    "'was not in', 'changed' or 'is not'"
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc", "was", "changed"}


# -- tokens --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # word, string, op, lparen, rparen, comma, and, or, not, eof
    text: str
    pos: int  # 1-based character position

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


_OPS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")
_WORD_RE = re.compile(r"[^\s()=,!<>~\"'&|]+")


def syntax_error(message: str) -> JiraError:
    return JiraError(400, f"Error in the JQL Query: {message}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        pos = i + 1
        if ch == "(":
            tokens.append(Token("lparen", ch, pos))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, pos))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, pos))
            i += 1
        elif text.startswith("&&", i):
            tokens.append(Token("and", "&&", pos))
            i += 2
        elif text.startswith("||", i):
            tokens.append(Token("or", "||", pos))
            i += 2
        elif ch in "\"'":
            value, i = _read_string(text, i)
            tokens.append(Token("string", value, pos))
        elif any(text.startswith(op, i) for op in _OPS):
            op = next(op for op in _OPS if text.startswith(op, i))
            tokens.append(Token("op", op, pos))
            i += len(op)
        elif ch == "!":
            tokens.append(Token("not", "!", pos))
            i += 1
        else:
            m = _WORD_RE.match(text, i)
            if not m:
                raise syntax_error(
                    f"The character '{ch}' is a reserved JQL character. You must enclose it in a "
                    f"string or use the escape '\\u{ord(ch):04x}' instead. (line 1, character {pos})"
                )
            tokens.append(Token("word", m.group(0), pos))
            i = m.end()
    tokens.append(Token("eof", "", n + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise syntax_error(
        f"The quoted string '{''.join(out)}' has not been completed. (line 1, character {start + 1})"
    )


# -- syntax tree ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool
    pos: int


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Empty:
    pos: int


Operand = Value | Func | Empty | tuple[Value | Func | Empty, ...]


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    operand: Operand
    pos: int


@dataclass(frozen=True)
class Bool:
    kind: str  # and, or, not
    parts: tuple[Node, ...]


Node = Clause | Bool


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    pos: int


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[SortKey, ...] = ()


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Query:
        where = None
        if not (self.tok.kind == "eof" or self.tok.is_word("order")):
            where = self.expr()
        order: list[SortKey] = []
        if self.tok.is_word("order"):
            self.take()
            if not self.tok.is_word("by"):
                raise syntax_error(
                    f"Expecting 'by' but got '{self.tok.text}'. (line 1, character {self.tok.pos})"
                )
            self.take()
            while True:
                tok = self.tok
                if tok.kind not in ("word", "string") or tok.is_word(*(_KEYWORDS - {"empty"})):
                    raise syntax_error(
                        "Expecting a field name at the end of the query."
                        if tok.kind == "eof"
                        else f"Expecting a field name but got '{tok.text}'. (line 1, character {tok.pos})"
                    )
                self.take()
                descending = False
                if self.tok.is_word("asc", "desc"):
                    descending = self.take().text.lower() == "desc"
                order.append(SortKey(tok.text, descending, tok.pos))
                if self.tok.kind == "comma":
                    self.take()
                    continue
                break
        if self.tok.kind != "eof":
            tok = self.tok
            expected = "either 'ASC' or 'DESC'" if order else "either 'OR' or 'AND'"
            raise syntax_error(f"Expecting {expected} but got '{tok.text}'. (line 1, character {tok.pos})")
        return Query(where, tuple(order))

    def expr(self) -> Node:
        parts = [self.term()]
        while self.tok.kind == "or" or self.tok.is_word("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Bool("or", tuple(parts))

    def term(self) -> Node:
        parts = [self.factor()]
        while self.tok.kind == "and" or self.tok.is_word("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Bool("and", tuple(parts))

    def factor(self) -> Node:
        tok = self.tok
        if tok.kind == "not" or tok.is_word("not"):
            self.take()
            return Bool("not", (self.factor(),))
        if tok.kind == "lparen":
            self.take()
            inner = self.expr()
            if self.tok.kind != "rparen":
                if self.tok.kind == "eof":
                    raise syntax_error("Expecting ')' before the end of the query.")
                raise syntax_error(
                    f"Expecting ')' but got '{self.tok.text}'. (line 1, character {self.tok.pos})"
                )
            self.take()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        tok = self.tok
        if tok.kind == "eof":
            raise syntax_error("Expecting a field name at the end of the query.")
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise syntax_error(
                f"Expecting a field name but got '{tok.text}'. You must surround '{tok.text}' in "
                f"quotation marks to use it as a field name. (line 1, character {tok.pos})"
            )
        self.take()
        op = self.operator()
        operand = self.operand(op)
        return Clause(tok.text, op, operand, tok.pos)

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.take()
            return tok.text
        if tok.is_word("in"):
            self.take()
            return "in"
        if tok.is_word("not") or tok.kind == "not":
            self.take()
            if self.tok.is_word("in"):
                self.take()
                return "not in"
            raise syntax_error(
                f"Expecting 'IN' but got '{self.tok.text}'. (line 1, character {self.tok.pos})"
            )
        if tok.is_word("is"):
            self.take()
            if self.tok.is_word("not") or self.tok.kind == "not":
                self.take()
                return "is not"
            return "is"
        if tok.is_word("was", "changed"):
            raise JiraError(
                400,
                f"The '{tok.text.upper()}' operator (issue history search) is not supported by the "
                "chgsync Jira emulator.",
            )
        got = tok.text if tok.kind != "eof" else "the end of the query"
        raise syntax_error(
            f"Expecting operator but got '{got}'. The valid operators are {OPERATORS_HELP}. "
            f"(line 1, character {tok.pos})"
        )

    def operand(self, op: str) -> Operand:
        if op in ("in", "not in"):
            if self.tok.kind != "lparen":
                return (self.single(),)
            self.take()
            items = [self.single()]
            while self.tok.kind == "comma":
                self.take()
                items.append(self.single())
            if self.tok.kind != "rparen":
                if self.tok.kind == "eof":
                    raise syntax_error("Expecting ')' before the end of the query.")
                raise syntax_error(
                    f"Expecting ')' but got '{self.tok.text}'. (line 1, character {self.tok.pos})"
                )
            self.take()
            return tuple(items)
        return self.single()

    def single(self) -> Value | Func | Empty:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Value(tok.text, True, tok.pos)
        if tok.kind == "word" and tok.text.lower() in ("empty", "null"):
            self.take()
            return Empty(tok.pos)
        if tok.kind == "word" and tok.text.lower() not in _KEYWORDS:
            self.take()
            if self.tok.kind == "lparen":
                self.take()
                args: list[str] = []
                while self.tok.kind in ("word", "string"):
                    args.append(self.take().text)
                    if self.tok.kind == "comma":
                        self.take()
                if self.tok.kind != "rparen":
                    raise syntax_error(
                        f"Expecting ')' but got '{self.tok.text or 'the end of the query'}'. "
                        f"(line 1, character {self.tok.pos})"
                    )
                self.take()
                return Func(tok.text, tuple(args), tok.pos)
            return Value(tok.text, False, tok.pos)
        got = tok.text if tok.kind != "eof" else ""
        if tok.kind == "eof":
            raise syntax_error("Expecting either a value, list or function before the end of the query.")
        raise syntax_error(
            f"Expecting either a value, list or function but got '{got}'. You must surround '{got}' "
            f"in quotation marks to use it as a value. (line 1, character {tok.pos})"
        )


def parse(text: str) -> Query:
    return Parser(text or "").parse()


# -- evaluation ----------------------------------------------------------------------------------------
@dataclass
class Context:
    """Who searches and when: JQL dates and ``currentUser()`` depend on it."""

    site: Site
    now: datetime
    tz: tzinfo
    account_id: str | None


Predicate = Callable[[Issue], bool]

_TEXT_KINDS = ("string", "text", "url")
_DATE_KINDS = ("date", "datetime", "datetime_ro")


@dataclass
class Compiled:
    predicate: Predicate
    order: list[tuple[Callable[[Issue], Any], bool]] = field(default_factory=list)
    bounded: bool = True

    def run(self, issues: list[Issue]) -> list[Issue]:
        found = [i for i in issues if self.predicate(i)]
        keys = self.order or [(_issue_id, True)]
        # least significant key first: stable sorts then leave ties to the earlier keys; id breaks the rest
        for keyfn, descending in reversed([*keys, (_issue_id, keys[-1][1])]):
            found.sort(key=lambda i, k=keyfn: _sortable(k(i)), reverse=descending)  # type: ignore[misc]
        return found


def _issue_id(issue: Issue) -> int:
    return int(issue.id)


def _sortable(value: Any) -> tuple[int, Any]:
    return (1, 0) if value is None else (0, value)


def compile_query(query: Query, ctx: Context) -> Compiled:
    predicate = _compile(query.where, ctx) if query.where is not None else (lambda _i: True)
    order = [_sort_key(k, ctx) for k in query.order]
    return Compiled(predicate, order, bounded=query.where is not None)


def compile_text(text: str, ctx: Context) -> Compiled:
    return compile_query(parse(text), ctx)


def _compile(node: Node, ctx: Context) -> Predicate:
    if isinstance(node, Bool):
        parts = [_compile(p, ctx) for p in node.parts]
        if node.kind == "and":
            return lambda i: all(p(i) for p in parts)
        if node.kind == "or":
            return lambda i: any(p(i) for p in parts)
        inner = parts[0]
        return lambda i: not inner(i)
    return _clause(node, ctx)


def _field(name: str, ctx: Context) -> FieldDef:
    f = ctx.site.field_for_clause(name)
    if f is None or not f.searchable:
        raise JiraError(400, f"Field '{name}' does not exist or you do not have permission to view it.")
    return f


def _unsupported(op: str, name: str) -> JiraError:
    return JiraError(400, f"The operator '{op}' is not supported by the '{name}' field.")


def _values(operand: Operand) -> list[Value | Func | Empty]:
    return list(operand) if isinstance(operand, tuple) else [operand]


def _clause(c: Clause, ctx: Context) -> Predicate:
    if c.field.lower() == "text":
        return _text_clause(c, ctx, None)
    f = _field(c.field, ctx)
    op = c.op
    if op in ("is", "is not"):
        if not isinstance(c.operand, Empty):
            raise syntax_error(
                f"The operator '{op}' only supports EMPTY or NULL as a value. (line 1, character {c.pos})"
            )
        getter = _getter(f)
        return (lambda i: _blank(getter(i))) if op == "is" else (lambda i: not _blank(getter(i)))
    if f.kind in _TEXT_KINDS or f.id == "comment":
        return _text_clause(c, ctx, f)
    if op in ("~", "!~"):
        raise _unsupported(op, c.field)
    if f.kind in _DATE_KINDS:
        return _date_clause(c, f, ctx)
    if f.kind == "number":
        return _number_clause(c, f)
    if f.id == "issuekey":
        return _key_clause(c, ctx)
    resolver = _resolver(f, ctx)
    if op in (">", ">=", "<", "<="):
        raise _unsupported(op, c.field)
    wanted: set[Any] = set()
    match_empty = False
    for v in _values(c.operand):
        if isinstance(v, Empty):
            match_empty = True
            continue
        resolved = resolver(v)
        match_empty = match_empty or None in resolved
        wanted.update(r for r in resolved if r is not None)
    getter = _getter(f)

    def matches(issue: Issue) -> bool:
        current = getter(issue)
        items = set(current) if isinstance(current, list) else ({current} if current is not None else set())
        if not items:
            return match_empty
        return bool(items & wanted)

    if op in ("=", "in"):
        return matches
    # Jira's != and NOT IN never match an empty field
    return lambda i: not _blank(getter(i)) and not matches(i)


def _blank(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _getter(f: FieldDef) -> Callable[[Issue], Any]:
    fid = f.id
    special: dict[str, Callable[[Issue], Any]] = {
        "project": lambda i: i.project_id,
        "issuetype": lambda i: i.issue_type_id,
        "status": lambda i: i.status_id,
        "statusCategory": lambda i: i.status_id,
        "created": lambda i: i.created,
        "updated": lambda i: i.updated,
        "resolutiondate": lambda i: i.resolution_date,
        "statuscategorychangedate": lambda i: i.status_changed or i.created,
        "creator": lambda i: i.creator,
        "issuekey": lambda i: i.key,
        "comment": lambda i: [c.body.wiki() for c in i.comments],
        "lastViewed": lambda i: None,
    }
    if fid in special:
        return special[fid]
    return lambda i: i.values.get(fid)


def _resolver(f: FieldDef, ctx: Context) -> Callable[[Value | Func], list[Any]]:
    site = ctx.site

    def not_exist(v: Value | Func) -> JiraError:
        text = v.text if isinstance(v, Value) else f"{v.name}()"
        return JiraError(400, f"The value '{text}' does not exist for the field '{f.clause_names[0]}'.")

    def resolve(v: Value | Func) -> list[Any]:
        if isinstance(v, Func):
            if v.name.lower() == "currentuser" and f.kind in ("user", "users", "user_ro"):
                return [ctx.account_id]
            raise _function_error(v)
        text = v.text
        if f.id == "project":
            p = site.project(text) or site.project_by_name(text)
            if p is None:
                raise not_exist(v)
            return [p.id]
        if f.id == "issuetype":
            it = site.issue_type(text)
            if it is None:
                raise not_exist(v)
            return [it.id]
        if f.id == "status":
            st = site.status(text)
            if st is None:
                raise not_exist(v)
            return [st.id]
        if f.id == "statusCategory":
            for cat in site_categories():
                if text.lower() in (cat.key, cat.name.lower(), str(cat.id)) or (
                    text.lower() == "new" and cat.id == 2
                ):
                    return [s.id for s in site.statuses.values() if s.category.key == cat.key]
            raise not_exist(v)
        if f.kind == "priority":
            prio = site.priority(text)
            if prio is None:
                raise not_exist(v)
            return [prio.id]
        if f.kind == "resolution":
            if text.lower() == "unresolved":
                return [None]
            res = site.resolution(text)
            if res is None:
                raise not_exist(v)
            return [res.id]
        if f.kind in ("user", "users", "user_ro"):
            if text in site.users:
                return [text]
            user = site.user_by_email(text)
            if user is None:
                raise not_exist(v)
            return [user.account_id]
        if f.kind in ("option", "options"):
            opt = f.option(text)
            if opt is None:
                raise JiraError(400, f"The option '{text}' for field '{f.name}' does not exist.")
            return [opt.id]
        if f.kind == "labels":
            return [text]
        if f.kind == "services":
            return [s.id for s in site.services.values() if text in (s.id, s.name)] or [text]
        raise _unsupported("=", f.clause_names[0] if f.clause_names else f.name)

    return resolve


def site_categories() -> list[Any]:
    from .model import STATUS_CATEGORIES

    return list(STATUS_CATEGORIES.values())


def _function_error(v: Func) -> JiraError:
    return JiraError(400, f"Unable to find JQL function '{v.name}({', '.join(v.args)})'.")


def _words(text: str) -> list[str]:
    return re.findall(r"[\w\-]+", text.lower())


def _text_clause(c: Clause, ctx: Context, f: FieldDef | None) -> Predicate:
    if c.op not in ("~", "!~"):
        raise _unsupported(c.op, c.field)
    values = _values(c.operand)
    if len(values) != 1 or not isinstance(values[0], Value):
        raise syntax_error(f"The operator '{c.op}' needs a single text value. (line 1, character {c.pos})")
    needle = values[0].text.strip()
    phrase = len(needle) > 1 and needle.startswith('"') and needle.endswith('"')
    terms = [needle.strip('"').lower()] if phrase else [t for t in re.split(r"\s+", needle.lower()) if t]
    if f is None:
        sources = [x for x in ctx.site.fields.values() if x.kind in ("string", "text") and x.searchable]
        getters = [_getter(x) for x in sources] + [_getter(ctx.site.fields["comment"])]
    else:
        getters = [_getter(f)]

    def haystack(issue: Issue) -> str:
        return " ".join(search_text(g(issue)) for g in getters).lower()

    def term_matches(term: str, text: str, words: list[str]) -> bool:
        if phrase:
            return term in text
        if "*" in term or "?" in term:
            pattern = re.compile(
                "^" + re.escape(term).replace(r"\*", r"[\w\-]*").replace(r"\?", r"[\w\-]") + "$"
            )
            return any(pattern.match(w) for w in words)
        return term in words or any(
            w.startswith(term) and len(term) >= 4 and w[len(term) :] in ("s", "es", "ed", "ing")
            for w in words
        )

    def contains(issue: Issue) -> bool:
        text = haystack(issue)
        words = _words(text)
        return all(term_matches(t, text, words) for t in terms)

    if c.op == "~":
        return contains
    return lambda i: not contains(i)


def _date_value(v: Value | Func | Empty, f: FieldDef, ctx: Context) -> datetime:
    if isinstance(v, Func):
        name = v.name.lower()
        offset = _increment(v)
        base = start_of_day(ctx.now, ctx.tz)
        if name == "now":
            return ctx.now
        if name in ("startofday", "endofday"):
            moment = base + offset
            return moment if name == "startofday" else moment + timedelta(days=1) - timedelta(milliseconds=1)
        if name in ("startofweek", "endofweek"):
            start = base - timedelta(days=(base.weekday() + 1) % 7) + offset
            return start if name == "startofweek" else start + timedelta(days=7) - timedelta(milliseconds=1)
        if name in ("startofmonth", "endofmonth"):
            start = base.replace(day=1)
            if name == "endofmonth":
                nxt = (start + timedelta(days=32)).replace(day=1)
                return nxt - timedelta(milliseconds=1) + offset
            return start + offset
        raise _function_error(v)
    if isinstance(v, Empty):
        raise syntax_error(f"EMPTY can only be used with IS and IS NOT. (line 1, character {v.pos})")
    try:
        return parse_jql_date(v.text, ctx.tz, ctx.now)
    except ValueError:
        raise JiraError(
            400,
            f"Date value '{v.text}' for field '{f.clause_names[0]}' is invalid. Valid formats "
            f"include: {DATE_FORMAT_HELP}.",
        ) from None


def _increment(v: Func) -> timedelta:
    """A date function's optional argument: a period (``-1d``, ``+2w``) or a bare number of days."""
    if not v.args:
        return timedelta()
    arg = v.args[0].strip()
    if re.fullmatch(r"[+-]?\d+", arg):
        return timedelta(days=int(arg))
    period = parse_period(arg)
    if period is None:
        raise JiraError(400, f"The argument '{arg}' of function '{v.name}' is not a valid period.")
    return period


def _as_instant(value: Any, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=tz)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _date_clause(c: Clause, f: FieldDef, ctx: Context) -> Predicate:
    getter = _getter(f)
    if c.op in ("in", "not in"):
        moments = [_date_value(v, f, ctx) for v in _values(c.operand)]

        def within(i: Issue) -> bool:
            value = _as_instant(getter(i), ctx.tz)
            return value is not None and (value in moments) == (c.op == "in")

        return within
    if c.op not in _COMPARE:
        raise _unsupported(c.op, c.field)
    (v,) = _values(c.operand)
    bound = _date_value(v, f, ctx)
    compare = _COMPARE[c.op]

    def check(i: Issue) -> bool:
        value = _as_instant(getter(i), ctx.tz)
        return value is not None and compare(value, bound)

    return check


def _number_clause(c: Clause, f: FieldDef) -> Predicate:
    getter = _getter(f)
    numbers: list[float] = []
    for v in _values(c.operand):
        if not isinstance(v, Value):
            raise syntax_error(f"Expecting a number for field '{f.name}'. (line 1, character {c.pos})")
        try:
            numbers.append(float(v.text))
        except ValueError:
            raise JiraError(
                400, f"The value '{v.text}' is not a valid number for field '{f.name}'."
            ) from None
    if c.op in ("in", "not in"):
        return lambda i: getter(i) is not None and (getter(i) in numbers) == (c.op == "in")
    if c.op not in _COMPARE:
        raise _unsupported(c.op, c.field)
    compare = _COMPARE[c.op]
    return lambda i: getter(i) is not None and compare(getter(i), numbers[0])


_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


def _key_clause(c: Clause, ctx: Context) -> Predicate:
    site = ctx.site
    refs: list[tuple[str, int]] = []
    for v in _values(c.operand):
        if not isinstance(v, Value):
            raise _unsupported(c.op, c.field)
        issue = site.find_issue(v.text)
        if issue is None:
            if not _KEY_RE.match(v.text) and not v.text.isdigit():
                raise JiraError(400, f"The issue key '{v.text}' for field '{c.field}' is invalid.")
            raise JiraError(400, f"An issue with key '{v.text}' does not exist for field '{c.field}'.")
        refs.append((issue.project_id, issue.number))
    if c.op in ("=", "in"):
        wanted = set(refs)
        return lambda i: (i.project_id, i.number) in wanted
    if c.op in ("!=", "not in"):
        unwanted = set(refs)
        return lambda i: (i.project_id, i.number) not in unwanted
    if c.op in (">", ">=", "<", "<="):
        project_id, number = refs[0]
        compare = _COMPARE[c.op]
        return lambda i: i.project_id == project_id and compare(i.number, number)
    raise _unsupported(c.op, c.field)


def _sort_key(key: SortKey, ctx: Context) -> tuple[Callable[[Issue], Any], bool]:
    site = ctx.site
    f = ctx.site.field_for_clause(key.field)
    if f is None:
        raise JiraError(400, f"Not able to sort using field '{key.field}'.")
    if not f.orderable and f.id != "statusCategory":
        raise JiraError(400, f"Field '{key.field}' does not support sorting.")
    fid = f.id
    if fid == "issuekey":
        return (lambda i: (site.projects[i.project_id].key, i.number)), key.descending
    if fid == "project":
        return (lambda i: site.projects[i.project_id].key), key.descending
    if fid == "issuetype":
        return (lambda i: site.issue_types[i.issue_type_id].name.lower()), key.descending
    if fid == "status":
        return (lambda i: site.statuses[i.status_id].name.lower()), key.descending
    if fid == "statusCategory":
        return (lambda i: site.statuses[i.status_id].category.id), key.descending
    if f.kind == "priority":
        return (
            lambda i: site.priorities[i.values["priority"]].rank if i.values.get("priority") else None
        ), key.descending
    if f.kind == "option":
        return (
            lambda i: (
                f.options.index(next(o for o in f.options if o.id == i.values[fid]))
                if i.values.get(fid)
                else None
            )
        ), key.descending
    if f.kind in ("user", "user_ro"):
        getter = _getter(f)
        return (
            lambda i: site.users[getter(i)].display_name.lower() if getter(i) in site.users else None
        ), key.descending
    getter = _getter(f)

    def value(i: Issue) -> Any:
        v = getter(i)
        if v is None:
            return None
        if f.kind in _DATE_KINDS:
            return _as_instant(v, ctx.tz)
        if f.kind in _TEXT_KINDS:
            return search_text(v).lower()
        return v

    return value, key.descending
