"""Alerts and incidents as chgsync sees them: something went wrong at a time, on some services.

Alertmanager's webhook (payload version 4) and a small generic incident body are parsed into
:class:`Signal` objects, which :mod:`chgsync.correlation` ranks recent changes against. Parsing is
strict: a body that is not what its endpoint accepts raises :class:`SignalRejected` with a reason
that names the field, so the sender gets a 4xx it can act on and nothing half-read is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .errors import WebhookRejected

# Label names that say which service or environment an alert is about, in the order tried.
SERVICE_LABELS = ("service", "app", "application", "job", "component", "ci")
ENV_LABELS = ("env", "environment", "stage")
CHANGE_LABELS = ("change_id", "change")
ENV_ALIASES = {"prod": "production", "prd": "production", "stg": "staging", "stage": "staging"}


class SignalRejected(WebhookRejected):
    """An alert or incident body chgsync cannot use."""


@dataclass(frozen=True)
class Signal:
    """One alert or incident. ``key`` identifies it across redeliveries (for idempotency)."""

    key: str
    title: str
    started_at: datetime
    services: tuple[str, ...]
    environment: str | None = None
    change_id: str | None = None  # explicit evidence: the alert names a change
    source: str = "alertmanager"
    url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "started_at": self.started_at.isoformat(),
                "services": list(self.services), "environment": self.environment, "source": self.source,
                "url": self.url, "labels": dict(self.labels)}


def normalise_env(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower()
    return ENV_ALIASES.get(v, v)


class _Alert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class _AlertmanagerBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: str
    status: Literal["firing", "resolved"]
    receiver: str | None = None
    groupKey: str
    alerts: list[_Alert] = Field(min_length=1)


class _IncidentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=150)
    title: str = Field(min_length=1)
    started_at: AwareDatetime
    services: list[str] = Field(default_factory=list)
    environment: str | None = None
    change_id: str | None = None
    url: str | None = None


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignalRejected(f"The body is not JSON: {exc}.", 400) from None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']} ({len(exc.errors())} problem(s) in all)."


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if labels.get(name):
            return labels[name]
    return None


def parse_alertmanager(body: bytes) -> list[Signal]:
    """The firing alerts of an Alertmanager webhook (resolved ones correlate nothing new)."""
    try:
        payload = _AlertmanagerBody.model_validate(_load(body))
    except ValidationError as exc:
        raise SignalRejected(f"Not an Alertmanager webhook body: {_reason(exc)}", 422) from None
    if payload.version != "4":
        raise SignalRejected(f"Alertmanager webhook version {payload.version!r} is not supported; expected '4'.", 422)
    signals = []
    for alert in payload.alerts:
        if alert.status != "firing":
            continue
        labels = alert.labels
        ident = alert.fingerprint or hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        service = _first(labels, SERVICE_LABELS)
        title = alert.annotations.get("summary") or labels.get("alertname") or "alert"
        signals.append(Signal(
            key=f"alertmanager:{ident}:{alert.startsAt.isoformat()}", title=title, started_at=alert.startsAt,
            services=(service,) if service else (), environment=normalise_env(_first(labels, ENV_LABELS)),
            change_id=_first(labels, CHANGE_LABELS), source="alertmanager", url=alert.generatorURL,
            labels=labels))
    return signals


def parse_incident(body: bytes) -> list[Signal]:
    """A generic incident: ``{"id", "title", "started_at", "services", "environment", "change_id", "url"}``."""
    try:
        payload = _IncidentBody.model_validate(_load(body))
    except ValidationError as exc:
        raise SignalRejected(f"Not an incident body: {_reason(exc)}", 422) from None
    return [Signal(key=f"incident:{payload.id}", title=payload.title, started_at=payload.started_at,
                   services=tuple(payload.services), environment=normalise_env(payload.environment),
                   change_id=payload.change_id, source="incident", url=payload.url)]


def delivery_id(source: str, signals: list[Signal], body: bytes) -> str:
    """One id per distinct delivery: the alerts it carries, or the body when it carries none firing."""
    basis = "|".join(sorted(s.key for s in signals)) or hashlib.sha256(body).hexdigest()
    return f"{source}:{hashlib.sha256(basis.encode()).hexdigest()[:32]}"
