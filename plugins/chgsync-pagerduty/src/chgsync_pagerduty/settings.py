"""The PagerDuty marker sink's settings, as the daemon hands them over (``routing_key_env`` resolved).

Routing keys are the only credential the Events API knows: whoever holds one can write to that
PagerDuty service. They are therefore :class:`pydantic.SecretStr` (never in a repr, a log line or an
error) and are checked for shape at start-up, because PagerDuty only says "Invalid routing key" at
the first marker, possibly weeks later.

The daemon resolves ``*_env`` keys at the top of a component's section only, so the per-service
keys (``services: {checkout: {routing_key_env: PD_CHECKOUT_KEY}}``) are resolved here, the same way
(:func:`chgsync.settings.resolve_env`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from chgsync import settings as component_settings
from chgsync.errors import ConfigError, Problem
from chgsync.settings import SettingError, resolve_env

DEFAULT_BASE_URL = "https://events.pagerduty.com"
WHERE = "pagerduty marker sink"

_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be an Events API v2 integration key, without repeating it."""
    if len(value) != 32:
        return (f"expected the 32-character integration key of an Events API v2 integration, got "
                f"{len(value)} characters")
    if not _KEY.match(value):
        return "expected 32 letters and digits (an Events API v2 integration key), got other characters"
    if value.startswith("R"):
        return ("this looks like an event-ruleset routing key (they start with 'R'); PagerDuty takes change "
                "events only on a service's Events API v2 integration key")
    return None


class PagerDutySettings(BaseModel):
    """``markers.<name>`` with ``type: pagerduty``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routing_key: SecretStr | None = Field(
        None, description="Integration key of the PagerDuty service that hears about every change "
        "(set routing_key_env); optional when services are listed.")
    services: dict[str, SecretStr] = Field(
        default_factory=dict, description="Per chgsync service, the integration key of its own PagerDuty "
        "service: each marker becomes one change event per listed service it touches.")
    base_url: str = Field(DEFAULT_BASE_URL, description="Events API root; tests point it at the stand-in.")
    source: str = Field("chgsync", min_length=1, max_length=255,
                        description="payload.source: where PagerDuty says the change came from.")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for each answer.")

    @field_validator("routing_key")
    @classmethod
    def _routing_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            problem = key_problem(v.get_secret_value())
            if problem:
                raise ValueError(f"{problem}; check what the variable routing_key_env names holds")
        return v

    @field_validator("services")
    @classmethod
    def _services(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, key in v.items():
            if not _SERVICE.match(name):
                raise ValueError(f"service name {name!r} is not a chgsync service name (letters, digits, '.', "
                                 "'_', ':', '/', '-')")
            problem = key_problem(key.get_secret_value())
            if problem:
                raise ValueError(f"service {name!r}: {problem}")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        return component_settings.http_url(v, example=DEFAULT_BASE_URL).rstrip("/")

    @model_validator(mode="after")
    def _somewhere_to_send(self) -> PagerDutySettings:
        if self.routing_key is None and not self.services:
            raise SettingError("routing_key", "no routing key: set routing_key_env, or list services with "
                                              "their own keys")
        return self

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v2/change/enqueue"


def _resolve_services(raw: Any, environ: Mapping[str, str] | None) -> tuple[Any, list[Problem]]:
    """``services`` with each ``{routing_key_env: NAME}`` replaced by that variable's value.

    A plain string stays a key; anything else is left for the model to refuse with its own message.
    """
    if not isinstance(raw, Mapping):
        return raw, []
    out: dict[Any, Any] = {}
    problems: list[Problem] = []
    for name, entry in raw.items():
        if not isinstance(entry, Mapping):
            out[name] = entry
            continue
        if len(entry) != 1 or not set(entry) <= {"routing_key", "routing_key_env"}:
            problems.append(Problem(f"services.{name}", "expected a routing key, or one of "
                                    f"{{routing_key_env: VARIABLE}} / {{routing_key: KEY}} ({WHERE})."))
            continue
        holds = {"routing_key": f"the integration key of {name}'s PagerDuty service"}
        resolved, missing = resolve_env(entry, holds, environ=environ, where=f"services.{name}.",
                                        component=WHERE)
        out[name] = resolved.get("routing_key")
        problems += missing
    return out, problems


def parse_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> PagerDutySettings:
    """``settings`` checked; a ConfigError names every bad key and what it expects."""
    raw = dict(settings)
    if "services" in raw:
        raw["services"], problems = _resolve_services(raw["services"], environ)
        if problems:
            raise ConfigError(None, problems)
    return component_settings.parse_settings(
        PagerDutySettings, raw, component=WHERE, environ=environ,
        secrets={"routing_key": "the integration key of the PagerDuty service that hears about every change"})
