"""Reading YAML and JSON files into models, with errors that name the file, the line and the field.

YAML timestamps are left as strings so that a time without a zone is caught by the model (as it is
for JSON) instead of silently becoming a naive datetime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)
LineMap = dict[tuple[str | int, ...], int]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type: dates stay strings for the model to judge.

    Nor does it read YAML 1.1 base-60 numbers: an unquoted ``17:00`` is the text ``17:00`` (a time
    of day), not the integer 1020 that pydantic would take for 00:17.
    """


# PyYAML's int and float patterns less their base-60 (``1:30``) alternatives.
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.VERBOSE)
_PATTERNS = {"tag:yaml.org,2002:int": _INT, "tag:yaml.org,2002:float": _FLOAT}

_Loader.yaml_implicit_resolvers = {
    k: [(tag, _PATTERNS.get(tag, rx)) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _line_map(node: yaml.Node, path: tuple[str | int, ...] = (), out: LineMap | None = None) -> LineMap:
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            out[path + (k,)] = key.start_mark.line + 1
            _line_map(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out)
    return out


def parse_text(text: str, source: str, *, kind: type[InputError] = InputError) -> tuple[Any, LineMap]:
    """Parse YAML (JSON is YAML) and return the data with a map from field paths to lines."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        if "\t" in text and _is_json(text):
            # YAML forbids tabs where JSON allows them as whitespace, the only place valid JSON has them
            return parse_text(text.replace("\t", " "), source, kind=kind)
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "malformed YAML"
        raise kind(source, Problem("", f"malformed YAML or JSON: {problem}", line)) from None
    except yaml.YAMLError as exc:
        raise kind(source, f"malformed YAML or JSON: {exc}") from None
    return data, (_line_map(node) if node is not None else {})


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def read_source(path: Path | str, kind: type[InputError]) -> tuple[str, str]:
    if str(path) == "-":
        import sys

        return sys.stdin.read(), "<stdin>"
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except FileNotFoundError:
        raise kind(str(p), "the file does not exist.") from None
    except IsADirectoryError:
        raise kind(str(p), "this is a directory, not a file.") from None
    except UnicodeDecodeError as exc:
        raise kind(str(p), f"the file is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except OSError as exc:
        raise kind(str(p), f"cannot be read: {exc.strerror}.") from None


def load_document(path: Path | str, kind: str | type[InputError] = InputError) -> Any:
    """Parse a YAML or JSON file; any problem raises an :class:`InputError` naming the file and line."""
    err = kind if isinstance(kind, type) else _kind_error(kind)
    text, source = read_source(path, err)
    return parse_text(text, source, kind=err)[0]


def _kind_error(kind: str) -> type[InputError]:
    return type(f"{kind.title()}FileError", (InputError,), {"kind": kind})


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _lookup_line(lines: LineMap, loc: tuple[str | int, ...]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _expected(err: Any, model: type[BaseModel]) -> str:
    kind = err["type"]
    msg: str = err["msg"]
    given = err.get("input")
    if kind == "extra_forbidden":
        return "unknown field; " + _known_fields(model, err["loc"][:-1])
    if kind == "missing":
        return "this field is required but missing."
    if kind == "timezone_aware":
        return f"expected a time with a zone (e.g. 2026-12-01T02:00:00Z or +01:00), got {given!r}."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {type(given).__name__} {given!r}."
    text = msg[0].lower() + msg[1:] if msg else kind
    if text.startswith("value error, "):  # our own validators' sentences say what is expected
        return f"{text[len('value error, '):]}."
    if given is not None and not isinstance(given, (dict, list)):
        return f"expected {text.removeprefix('input should be ')}, got {given!r}."
    return f"{text}."


def _known_fields(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return "see `chgsync schema` for the fields allowed here."
        current = _inner_model(field.annotation)
        if current is None:
            return "see `chgsync schema` for the fields allowed here."
    names = sorted((f.alias or n) for n, f in current.model_fields.items())
    return "expected one of: " + ", ".join(names) + "."


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def problems_from(exc: ValidationError, model: type[BaseModel], lines: LineMap) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic adds the union member's tag (e.g. 'str', 'Step') to loc; drop what is not a path.
        clean: list[str | int] = []
        for part in loc:
            if isinstance(part, str) and part[:1].isupper():
                continue
            if part in ("str", "constrained-str", "is-instance"):
                continue
            clean.append(part)
        out.append(Problem(_dotted(clean), _expected(err, model), _lookup_line(lines, tuple(clean))))
    return out


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: mappings merge key by key, anything else (lists too) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_model(path: Path | str, model: type[M], kind: type[InputError] = InputError,
               defaults: dict[str, Any] | None = None) -> M:
    """Read ``path`` into ``model``; every problem is reported with its field and line.

    With ``defaults``, the file is merged over them key by key (see :func:`deep_merge`).
    """
    text, source = read_source(path, kind)
    data, lines = parse_text(text, source, kind=kind)
    if data is None:
        raise kind(source, "the file is empty.")
    if not isinstance(data, dict):
        raise kind(source, Problem("", f"expected a mapping of fields at the top level, got {type(data).__name__}.", 1))
    if defaults is not None:
        data = deep_merge(defaults, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise kind(source, problems_from(exc, model, lines)) from None


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)
