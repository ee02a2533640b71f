"""Mapping files: what a canonical field or state is called in one ticketing tool.

Organisations configure Jira and ServiceNow differently, so the correspondence is data
(``mappings/*.yaml``), validated on load with errors that name the file, the line and the key.
A mapping says, per canonical field, which remote field holds it, through which codec
(:mod:`chgsync.codecs`), with which enumeration table, and which side owns it; per canonical state,
which remote values identify it and through which intermediate statuses to get there; and, for
tools with a workflow graph, the transitions that exist.
"""

from __future__ import annotations

import enum
import types
import typing
from collections import deque
from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .codecs import CODECS, CodecError, translate
from .errors import MappingError
from .lifecycle import State
from .model import Change

Owner = str  # "core", "both", or an adapter name
USER = "user"  # remote_type of a person: an e-mail address in chgsync, a user reference in the tool


class MappingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _annotation_at(path: str) -> Any:
    """The type annotation of a dotted canonical path, or raise ValueError naming the bad part."""
    current: Any = Change
    annotation: Any = None
    for part in path.split("."):
        model = _model_in(current)
        if model is None or part not in model.model_fields:
            where = model.__name__ if model is not None else str(current)
            known = ", ".join(sorted(model.model_fields)) if model is not None else ""
            raise ValueError(f"'{path}' is not a canonical field ('{part}' is not in {where}; known: {known})")
        annotation = model.model_fields[part].annotation
        current = annotation
    return annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_text(annotation: Any) -> bool:
    """A plain text field (``str``, ``str | None``, a constrained ``str``), not a list or a model."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_text(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1 and _is_text(args[0])


def _enum_in(annotation: Any) -> type[enum.Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


class FieldMap(MappingModel):
    canonical: str = Field(description="Dotted path into the canonical change, e.g. schedule.planned_start.")
    remote: str = Field(min_length=1, description="The remote field id (Jira: summary, customfield_10010).")
    codec: str = "text"
    values: dict[str, str] | None = Field(None, description="Enumeration table: canonical value → remote value.")
    read_as: dict[str, str] | None = Field(
        None, description="For a remote value several canonical values share (a tool with fewer choices): "
        "the canonical value it reads back as. Makes the mapping lossy for the others, on purpose.")
    remote_type: str | None = Field(
        None, description="Wire shape hint for the adapter (option, datetime, adf...). `user`: a person, held in "
        "chgsync as an e-mail address and in the tool as its own user reference, which each adapter resolves.")
    owner: Owner = Field("both", description="Who may write it: core, both, or one adapter's name.")

    @field_validator("canonical")
    @classmethod
    def _canonical_exists(cls, v: str) -> str:
        _annotation_at(v)
        return v

    @field_validator("codec")
    @classmethod
    def _codec_known(cls, v: str) -> str:
        if v not in CODECS:
            raise ValueError(f"unknown codec {v!r}; expected one of: {', '.join(sorted(CODECS))}")
        return v

    @model_validator(mode="after")
    def _enum_table(self) -> FieldMap:
        if self.codec == "enum":
            if not self.values:
                raise ValueError("an enum field needs a 'values' table (canonical value: remote value)")
            enum_type = _enum_in(_annotation_at(self.canonical))
            if enum_type is not None:
                members = {str(m.value) for m in enum_type}
                unknown = sorted(set(self.values) - members)
                if unknown:
                    raise ValueError(f"values {unknown} are not {enum_type.__name__} members "
                                     f"({', '.join(sorted(members))})")
                missing = sorted(members - set(self.values))
                if missing:
                    raise ValueError(f"values must map every {enum_type.__name__} member; missing {missing}")
            shared = sorted({v for v in self.values.values() if list(self.values.values()).count(v) > 1})
            read_as = self.read_as or {}
            unresolved = [v for v in shared if v not in read_as]
            if unresolved:
                raise ValueError(f"values map several canonical values to {unresolved}: say in 'read_as' which "
                                 "canonical value each of them reads back as, or the reverse mapping is ambiguous")
            for remote, canonical in read_as.items():
                sharing = sorted(k for k, v in self.values.items() if v == remote)
                if canonical not in sharing:
                    raise ValueError(f"read_as maps {remote!r} to {canonical!r}, which is not one of the values "
                                     f"written as {remote!r} ({', '.join(sharing) or 'none'})")
        elif self.read_as is not None:
            raise ValueError("'read_as' belongs to enum fields (codec: enum) only")
        return self

    @model_validator(mode="after")
    def _user_field(self) -> FieldMap:
        # A person is one e-mail address; compositions or enumerations of people are not lookups.
        if self.remote_type == USER:
            if self.codec != "text":
                raise ValueError(f"a user field (remote_type: user) holds one e-mail address as text; "
                                 f"codec must be text, not {self.codec!r}")
            if not _is_text(_annotation_at(self.canonical)):
                raise ValueError(f"a user field (remote_type: user) needs a canonical text field such as "
                                 f"implementer or requester; {self.canonical!r} is not text")
        return self

    @property
    def is_user(self) -> bool:
        """A person: an e-mail address in chgsync, the tool's own user reference on the wire."""
        return self.remote_type == USER

    def read_back(self, raw: Any) -> Any:
        """The canonical value of an enum's remote value; ``read_as`` settles values several share."""
        shared = {k.casefold(): v for k, v in (self.read_as or {}).items()}
        if str(raw).casefold() in shared:
            return shared[str(raw).casefold()]
        return translate(self.values, raw, reverse=True)


class StateMap(MappingModel):
    """Remote values that identify a canonical state; the first key is the tool's status field."""

    remote: dict[str, str] = Field(min_length=1)
    via: list[str] = Field(default_factory=list, description="Status values to pass through on the way, in order.")


class Transition(MappingModel):
    """A workflow edge (Jira): taken by id when given, else by name."""

    id: str | None = None
    name: str | None = None
    from_: list[str] = Field(alias="from", description="Statuses it leaves from; '*' for a global transition.")
    to: str

    @model_validator(mode="after")
    def _named(self) -> Transition:
        if self.id is None and self.name is None:
            raise ValueError("a transition needs an id or a name")
        return self


class Mapping(MappingModel):
    system: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="The adapter that reads this mapping.")
    name: str = Field(min_length=1)
    description: str = ""
    record: dict[str, Any] = Field(default_factory=dict, description="Adapter-specific: project, issue type, table.")
    status_field: str = "status"
    fields: list[FieldMap]
    states: dict[State, StateMap]
    transitions: list[Transition] = Field(default_factory=list)
    source: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _complete(self) -> Mapping:
        missing = [s.value for s in State if s not in self.states]
        if missing:
            raise ValueError(f"states must map every canonical state; missing {', '.join(missing)}")
        seen: dict[str, str] = {}
        for f in self.fields:
            if f.canonical in seen:
                raise ValueError(f"canonical field {f.canonical!r} is mapped twice")
            seen[f.canonical] = f.remote
        for state, sm in self.states.items():
            if self.status_field not in sm.remote:
                raise ValueError(f"state {state.value} must give a value for the status field {self.status_field!r}")
        return self

    # -- fields ----------------------------------------------------------------------------------------
    def field(self, canonical: str) -> FieldMap | None:
        return next((f for f in self.fields if f.canonical == canonical), None)

    @property
    def remote_fields(self) -> list[str]:
        extra = {k for sm in self.states.values() for k in sm.remote}
        return sorted({f.remote for f in self.fields} | extra)

    def encode(self, change: Change, only: typing.Collection[str] | None = None) -> dict[str, Any]:
        """Plain remote values for the mapped fields of ``change`` (or just the ``only`` canonical paths)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if only is not None and f.canonical not in only:
                continue
            value = get_path(change, f.canonical)
            plain = CODECS[f.codec].encode(value)
            out[f.remote] = translate(f.values, plain) if f.codec == "enum" else plain
        return out

    def decode(self, remote: MappingABC[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Canonical values (nested dict) from plain remote values, with a problem list for what failed."""
        data: dict[str, Any] = {}
        problems: list[str] = []
        for f in self.fields:
            if f.remote not in remote:
                continue
            raw = remote[f.remote]
            try:
                if f.codec == "enum":
                    value = f.read_back(raw) if raw not in (None, "") else None
                else:
                    value = CODECS[f.codec].decode(raw)
            except CodecError as exc:
                problems.append(f"{f.remote} ({f.canonical}): {exc}")
                continue
            if value is None or value == [] or value == {}:
                continue
            set_path(data, f.canonical, _jsonable(value))
        return data, problems

    # -- states ----------------------------------------------------------------------------------------
    def state_for(self, remote: MappingABC[str, Any]) -> State | None:
        """The canonical state whose remote values all match, preferring the most specific entry."""
        best: tuple[int, State] | None = None
        for state, sm in self.states.items():
            if all(_same(remote.get(k), v) for k, v in sm.remote.items()):
                if best is None or len(sm.remote) > best[0]:
                    best = (len(sm.remote), state)
        return best[1] if best else None

    def status_of(self, state: State) -> str:
        return self.states[state].remote[self.status_field]

    def route(self, from_status: str, to_status: str) -> list[Transition] | None:
        """The shortest chain of declared transitions between two statuses (BFS), or None."""
        if from_status == to_status:
            return []
        queue: deque[tuple[str, list[Transition]]] = deque([(from_status, [])])
        seen = {from_status}
        while queue:
            status, chain = queue.popleft()
            for t in self.transitions:
                if t.to in seen or not ("*" in t.from_ or status in t.from_):
                    continue
                if t.to == to_status:
                    return chain + [t]
                seen.add(t.to)
                queue.append((t.to, chain + [t]))
        return None


def _same(actual: Any, expected: str) -> bool:
    if actual is None:
        return expected == ""
    if isinstance(actual, MappingABC):
        actual = actual.get("id") or actual.get("value") or actual.get("name")
    return str(actual).casefold() == expected.casefold()


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    if isinstance(value, dict) and isinstance(data.get(parts[-1]), dict):
        data[parts[-1]].update(value)
    else:
        data[parts[-1]] = value


def iter_mapping_files(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.glob("*.y*ml") if p.is_file())


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; problems raise :class:`MappingError` with file, line and key."""
    from .files import load_model

    mapping = load_model(Path(path), Mapping, MappingError)
    return mapping.model_copy(update={"source": str(path)})


def _shipped_dir() -> Path:
    # A wheel carries the files inside the package; a source checkout has them at the top level.
    packaged = Path(__file__).resolve().parent / "_mappings"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "mappings"


MAPPINGS_DIR = _shipped_dir()


def shipped_mapping(name: str) -> Path:
    """A mapping shipped in the repository's ``mappings/`` directory, by file stem."""
    path = MAPPINGS_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in iter_mapping_files(MAPPINGS_DIR))
        raise MappingError(str(path), f"no shipped mapping named {name!r}; shipped: {known or 'none'}.")
    return path


