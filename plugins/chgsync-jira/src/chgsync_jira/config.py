"""The Jira part of a mapping file (its ``record`` section) and the adapter's settings.

The core mapping model leaves ``record`` to each adapter. For Jira it says which project and issue
type hold changes, and the few workflow facts the core model cannot express: fields besides the
status that identify a state, statuses that mean the same as a mapped one, a status to use instead
for some outcomes, the resolution a closing transition writes, values chgsync derives and writes
without reading them back, and whether comments are internal (JSM).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chgsync.errors import ConfigError, MappingError, Problem
from chgsync.mapping import Mapping as MappingFile
from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.model import Change, Outcome
from chgsync.retry import RetryPolicy

from .wire import SHAPES

DEFAULT_MAPPING = "jira-service-management"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResolutionRule(_Strict):
    """The resolution sent with the transitions whose screen asks for one (Jira refuses it elsewhere)."""

    transitions: list[str] = Field(min_length=1, description="Ids of transitions whose screen has Resolution.")
    outcomes: dict[Outcome, str] = Field(default_factory=dict, description="Canonical outcome → resolution name.")
    default: str | None = Field(None, description="The resolution when the change has no outcome (yet).")

    def for_outcome(self, outcome: Outcome | None) -> str | None:
        if outcome is not None and outcome in self.outcomes:
            return self.outcomes[outcome]
        return self.default


class DerivedField(_Strict):
    """A value chgsync computes and writes, never reads back (people's edits are overwritten)."""

    canonical: str = Field(description="A computed property of the change, e.g. overall_risk.")
    values: dict[str, str] | None = Field(None, description="Canonical value → remote value.")
    shape: str = "option"
    with_: str = Field(alias="with", description="Written whenever this canonical path is written.")

    @field_validator("canonical")
    @classmethod
    def _computed(cls, v: str) -> str:
        if v not in Change.model_computed_fields:
            raise ValueError(f"{v!r} is not a computed property of the change; known: "
                             f"{', '.join(sorted(Change.model_computed_fields))}")
        return v

    @field_validator("shape")
    @classmethod
    def _shape(cls, v: str) -> str:
        if v not in SHAPES:
            raise ValueError(f"unknown shape {v!r}; expected one of: {', '.join(SHAPES)}")
        return v


class JiraRecord(_Strict):
    """The ``record`` section of a Jira mapping file."""

    project: str = Field(min_length=1, description="Project key, e.g. CHG.")
    issue_type: str = Field(min_length=1, description="Issue type name or id, e.g. Change.")
    state_fields: dict[str, str] = Field(
        default_factory=dict, description="Fields other than the status that `states` use: field id → shape.")
    also_means: dict[str, str] = Field(
        default_factory=dict, description="Statuses not in `states` that read as one that is: status → status.")
    by_outcome: dict[str, dict[Outcome, str]] = Field(
        default_factory=dict, description="Status → {outcome: status to use instead} when moving there.")
    resolution: ResolutionRule | None = None
    derived: dict[str, DerivedField] = Field(default_factory=dict, description="Field id → derived value.")
    comments: Literal["public", "internal"] = Field(
        "public", description="JSM: 'internal' keeps chgsync's comments off the customer portal.")

    @field_validator("state_fields")
    @classmethod
    def _shapes(cls, v: dict[str, str]) -> dict[str, str]:
        for fid, shape in v.items():
            if shape not in SHAPES:
                raise ValueError(f"{fid}: unknown shape {shape!r}; expected one of: {', '.join(SHAPES)}")
        return v


class _RecordDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")
    record: JiraRecord


def read_record(mapping: MappingFile) -> JiraRecord:
    """Validate a mapping's ``record`` for Jira; problems name the file, the line and the key."""
    try:
        record = _RecordDoc.model_validate({"record": mapping.record}).record
    except ValidationError as exc:
        from chgsync.files import parse_text, problems_from

        lines: dict[tuple[str | int, ...], int] = {}
        if mapping.source and Path(mapping.source).is_file():
            try:
                lines = parse_text(Path(mapping.source).read_text(), mapping.source, kind=MappingError)[1]
            except MappingError:
                lines = {}
        raise MappingError(mapping.source or None, problems_from(exc, _RecordDoc, lines)) from None
    from .workflow import spelling_problems

    problems = _cross_check(mapping, record) + spelling_problems(mapping, record)
    if problems:
        raise MappingError(mapping.source or None, problems)
    return record


def _cross_check(mapping: MappingFile, record: JiraRecord) -> list[Problem]:
    """What the two halves must agree on: every state key is described, aliases point at mapped statuses."""
    problems: list[Problem] = []
    status_field = mapping.status_field
    for state, sm in mapping.states.items():
        for key in sm.remote:
            if key != status_field and key not in record.state_fields:
                problems.append(Problem(f"states.{state.value}.remote.{key}",
                                        f"names field {key}, which record.state_fields does not describe "
                                        "(give its shape, e.g. option)."))
    mapped = {sm.remote[status_field].casefold() for sm in mapping.states.values()}
    for alias, target in record.also_means.items():
        if target.casefold() not in mapped:
            problems.append(Problem(f"record.also_means.{alias}",
                                    f"reads {alias!r} as {target!r}, which no state in `states` uses."))
    for status in record.by_outcome:
        if status.casefold() not in mapped:
            problems.append(Problem(f"record.by_outcome.{status}", f"{status!r} is not a status any state uses."))
    return problems


# -- settings ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What ``from_settings`` accepts (the daemon's ``adapters.<name>`` section, or the CLI)."""

    url: str
    user: str = ""
    token: str = ""
    name: str = "jira"
    mapping: MappingFile = field(default=None)  # type: ignore[assignment]
    webhook_secret: str | None = None
    verify: bool | str = True
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Settings:
        known = {"name", "url", "user", "token", "password", "mapping", "webhook_secret", "verify", "timeout",
                 "retry", "sleep"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(None, Problem(unknown[0], "is not a Jira adapter setting; known: "
                                             f"{', '.join(sorted(known))}."))
        url = raw.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(None, Problem("url", "is required: the Jira site, e.g. https://acme.atlassian.net."))
        mapping = raw.get("mapping")
        if mapping is None:
            mapping = load_mapping(shipped_mapping(DEFAULT_MAPPING))
        elif isinstance(mapping, str | Path):
            mapping = load_mapping(mapping)
        elif not isinstance(mapping, MappingFile):
            raise ConfigError(None, Problem("mapping", f"expected a mapping file path or a loaded mapping, "
                                             f"got {type(mapping).__name__}."))
        retry = raw.get("retry")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError(None, Problem("retry", "expected a chgsync.retry.RetryPolicy."))
        timeout = raw.get("timeout", 30.0)
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise ConfigError(None, Problem("timeout", f"expected seconds, got {timeout!r}.")) from None
        return cls(
            url=url.rstrip("/"),
            user=str(raw.get("user") or ""),
            token=str(raw.get("token") or raw.get("password") or ""),
            name=str(raw.get("name") or "jira"),
            mapping=mapping,
            webhook_secret=raw.get("webhook_secret") or None,
            verify=raw.get("verify", True),
            timeout=timeout,
            retry=retry or RetryPolicy(timeout=timeout),
            sleep=raw.get("sleep"),
        )

