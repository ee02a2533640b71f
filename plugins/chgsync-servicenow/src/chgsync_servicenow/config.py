"""The adapter's own part of a mapping file (its ``record:`` section) and its settings.

The core validates the mapping's fields and states; ``record`` is adapter-specific, so it is checked
here, with the same kind of errors (file, line, key), when the adapter loads a mapping. Settings come
from the daemon's configuration or the CLI as a plain mapping; unknown keys are errors so a typo
(``webhook_secrte``) does not silently disable webhook authentication.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chgsync.errors import MappingError, Problem
from chgsync.files import parse_text, problems_from
from chgsync.lifecycle import ChangeType
from chgsync.mapping import Mapping as MappingFile
from chgsync.model import Level


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkFields(_Strict):
    key: str = Field("correlation_id", min_length=1, description="Receives the other system's key.")
    system: str = Field("correlation_display", min_length=1, description="Receives the other system's name.")


class DerivedRisk(_Strict):
    field: str = Field(min_length=1)
    values: dict[Level, str]

    @field_validator("values")
    @classmethod
    def _every_level(cls, v: dict[Level, str]) -> dict[Level, str]:
        missing = sorted(lvl.value for lvl in Level if lvl not in v)
        if missing:
            raise ValueError(f"values must give a remote value for every level; missing {', '.join(missing)}")
        return v


class RecordSettings(_Strict):
    """``record:`` in a ServiceNow mapping file."""

    table: str = Field("change_request", pattern=r"^[a-z][a-z0-9_]*$")
    link: LinkFields = LinkFields.model_validate({})
    comment_field: str = Field("work_notes", min_length=1)
    overall_risk: DerivedRisk | None = None
    on_enter: dict[str, list[str]] = Field(default_factory=dict)
    state_model: dict[ChangeType, dict[str, list[str]]] = Field(default_factory=dict)


class _Wrapper(_Strict):
    record: RecordSettings


def record_settings(mapping: MappingFile) -> RecordSettings:
    """The validated ``record`` section of ``mapping``; raises :class:`MappingError` naming file, line, key."""
    source = mapping.source or f"mapping '{mapping.name}'"
    lines: dict[Any, int] = {}
    if mapping.source and Path(mapping.source).is_file():
        try:
            _, lines = parse_text(Path(mapping.source).read_text(encoding="utf-8"), mapping.source, kind=MappingError)
        except (OSError, MappingError):
            lines = {}
    try:
        settings = _Wrapper.model_validate({"record": dict(mapping.record)}).record
    except ValidationError as exc:
        raise MappingError(source, problems_from(exc, _Wrapper, lines)) from None
    problems: list[Problem] = []
    mapped = {f.canonical for f in mapping.fields}
    for status, paths in settings.on_enter.items():
        for i, path in enumerate(paths):
            if path not in mapped:
                loc = ("record", "on_enter", status, i)
                problems.append(Problem(f"record.on_enter.{status}[{i}]",
                                        f"'{path}' is not a mapped canonical field; map it under 'fields' first.",
                                        lines.get(loc) or lines.get(loc[:-1])))
    if problems:
        raise MappingError(source, problems)
    return settings


SETTING_KEYS = frozenset({
    "name", "url", "user", "password", "token", "mapping", "webhook_secret", "verify", "timeout", "retry",
    "sleep", "page_size",
})


def unknown_settings(settings: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in settings if k not in SETTING_KEYS)
