"""The ``datadog`` marker sink: each deploy marker as a Datadog event, and finished changes as DORA
deployments.

Why both: events put the change on dashboards and in the event stream next to the graphs it bent
(grouped per change by ``aggregation_key``, threaded by ``related_event_id``); DORA deployments
feed deployment frequency, change failure rate and recovery time. Change IDs are free text in both,
so they cost nothing in metric cardinality.

Idempotency under the outbox's at-least-once delivery: a DORA deployment carries an ``id`` derived
from the change and the service, so a retry overwrites the deployment instead of adding one. v1
events have no idempotency key; the event is therefore posted last, after the deployments, so a
retry re-posts it only when the event itself failed, and a duplicate appears only when Datadog
accepted an event and its answer was lost on the way back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v1.api.events_api import EventsApi
from datadog_api_client.v1.model.event_alert_type import EventAlertType
from datadog_api_client.v1.model.event_create_request import EventCreateRequest
from datadog_api_client.v2.api.dora_metrics_api import DORAMetricsApi
from datadog_api_client.v2.model.dora_deployment_request import DORADeploymentRequest
from datadog_api_client.v2.model.dora_deployment_request_attributes import DORADeploymentRequestAttributes
from datadog_api_client.v2.model.dora_deployment_request_data import DORADeploymentRequestData
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chgsync import settings as component_settings
from chgsync.errors import RemoteError
from chgsync.http import no_answer, status_error
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSinkType

SYSTEM = "Datadog"
TEXT_LIMIT = 4000
AGGREGATION_KEY_LIMIT = 100
#: Datadog refuses events older than 18 hours; a marker delivered later goes out undated.
MAX_EVENT_AGE = timedelta(hours=17)

SITES: tuple[str, ...] = tuple(dict.fromkeys(
    Configuration().get_host_settings()[0]["variables"]["site"]["enum_values"]))  # type: ignore[index]
DORA_ID = re.compile(r"^[A-Za-z0-9\-_.:]{16,128}$")


class DatadogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(description="An organisation API key; set api_key_env.")
    site: str = "datadoghq.com"
    host: str | None = Field(None, description="A base URL replacing https://api.<site> (a proxy, a stand-in).")
    timeout: float = Field(10.0, gt=0)
    dora: bool | None = Field(None, description="Send DORA deployments; default on except on the gov sites, "
                                                "where Datadog does not offer DORA metrics.")

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("is empty; set api_key_env to a variable holding a Datadog API key")
        return v

    @field_validator("site")
    @classmethod
    def _known_site(cls, v: str) -> str:
        if v not in SITES:
            raise ValueError(f"expected one of {', '.join(SITES)}, got {v!r}")
        return v

    @field_validator("host")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        return component_settings.http_url(v, example="https://api.datadoghq.eu").rstrip("/")

    @property
    def sends_dora(self) -> bool:
        return self.dora if self.dora is not None else not self.site.endswith("ddog-gov.com")


def deployment_id(change_id: str, service: str) -> str:
    """A DORA deployment id (16-128 characters of ``[A-Za-z0-9-_.:]``) that is the same on every retry.

    Readable when the change ID and service allow it (``chgsync:CHG-1001:checkout``); otherwise the
    legal part is kept and a hash of the original appended, so different inputs never collide.
    """
    raw = f"chgsync:{change_id}:{service}"
    if DORA_ID.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
    legal = re.sub(r"[^A-Za-z0-9\-_.:]", "_", raw)[: 128 - len(digest) - 1]
    return f"{legal}.{digest}"


def _ns(moment: datetime) -> int:
    """Unix nanoseconds without float rounding."""
    whole = int(moment.timestamp() // 1)
    return whole * 1_000_000_000 + moment.microsecond * 1000


def _outcome(marker: DeployMarker) -> str:
    if marker.outcome:
        return marker.outcome
    return {MarkerPhase.STARTED: "in_progress", MarkerPhase.FINISHED: "successful",
            MarkerPhase.ROLLED_BACK: "rolled_back"}[marker.phase]


def alert_type(marker: DeployMarker) -> str:
    """How the event looks in the stream: info while running, then success, warning or error."""
    if marker.phase == MarkerPhase.STARTED:
        return "info"
    if marker.phase == MarkerPhase.ROLLED_BACK:
        return "error"
    return {"successful": "success", "successful_with_issues": "warning", "unsuccessful": "error",
            "rolled_back": "error"}.get(_outcome(marker), "info")


def headline(marker: DeployMarker) -> str:
    what = {MarkerPhase.STARTED: "started", MarkerPhase.ROLLED_BACK: "rolled back",
            MarkerPhase.FINISHED: f"finished ({_outcome(marker).replace('_', ' ')})"}[marker.phase]
    return f"{marker.change_id} {what}" + (f": {marker.title}" if marker.title else "")


def event_text(marker: DeployMarker, dated: bool) -> str:
    services = ", ".join(marker.services) or "no listed service"
    env = f" in {marker.environment}" if marker.environment else ""
    lines = [f"Change {marker.change_id} {marker.phase.value.replace('_', ' ')} on {services}{env}."]
    if marker.title:
        lines.append(f"Title: {marker.title}")
    facts = [f"{k}: {v}" for k, v in (("Type", marker.change_type), ("Risk", marker.risk),
                                      ("Outcome", marker.outcome)) if v]
    if facts:
        lines.append("; ".join(facts))
    if marker.started_at is not None and marker.phase != MarkerPhase.STARTED:
        lines.append(f"Implementation began {marker.started_at.isoformat()}.")
    if not dated:
        lines.append(f"Happened at {marker.at.isoformat()} (delivered late; the event carries its arrival time).")
    lines += [f"{name}: {url}" for name, url in marker.links.items()]
    text = "\n".join(lines)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


class DatadogSink:
    def __init__(self, settings: DatadogSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.clock = clock
        config = Configuration(host=settings.host, api_key={"apiKeyAuth": settings.api_key},
                               request_timeout=settings.timeout,
                               # The outbox retries with backoff; the client must not retry on its own.
                               retry_policy=urllib3.util.Retry(total=0, redirect=False))
        if settings.host is None:
            config.server_variables["site"] = settings.site  # also overrides DD_SITE from the environment
        self.client = ApiClient(config)
        self.events = EventsApi(self.client)
        self.dora = DORAMetricsApi(self.client)

    def mark(self, marker: DeployMarker) -> str | None:
        """Send the deployments (idempotent) first, then the event; return the event's ``id_str``."""
        if marker.phase != MarkerPhase.STARTED and self.settings.sends_dora:
            for service in marker.services:
                self._deployment(marker, service)
        return self._event(marker)

    def close(self) -> None:
        self.client.close()

    def event_request(self, marker: DeployMarker) -> EventCreateRequest:
        dated = self.clock() - marker.at < MAX_EVENT_AGE
        fields: dict[str, Any] = {
            "title": headline(marker), "text": event_text(marker, dated), "tags": list(marker.tags),
            "alert_type": EventAlertType(alert_type(marker)),
            "aggregation_key": marker.change_id[:AGGREGATION_KEY_LIMIT], "source_type_name": "chgsync",
        }
        if dated:
            fields["date_happened"] = int(marker.at.timestamp())
        if marker.previous and marker.previous.isdigit():
            fields["related_event_id"] = int(marker.previous)  # thread under the change's first event
        return EventCreateRequest(**fields)

    def deployment_request(self, marker: DeployMarker, service: str) -> DORADeploymentRequest:
        finished = marker.at
        started = min(marker.started_at or finished, finished)
        tags = [t for t in marker.tags if not t.startswith(("service:", "env:", "outcome:"))]
        tags.append(f"outcome:{_outcome(marker)}")
        tags += [f"{k}:{v}" for k, v in (("change_type", marker.change_type), ("risk", marker.risk)) if v]
        fields: dict[str, Any] = {"service": service, "started_at": _ns(started), "finished_at": _ns(finished),
                                  "id": deployment_id(marker.change_id, service), "custom_tags": tags[:100]}
        if marker.environment:
            fields["env"] = marker.environment
        return DORADeploymentRequest(data=DORADeploymentRequestData(
            attributes=DORADeploymentRequestAttributes(**fields)))

    def _deployment(self, marker: DeployMarker, service: str) -> None:
        operation = f"DORA deployment of {marker.change_id} on {service}"
        try:
            self.dora.create_dora_deployment(body=self.deployment_request(marker, service))
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            raise remote_error(operation, exc) from exc

    def _event(self, marker: DeployMarker) -> str | None:
        operation = f"event for {marker.change_id} ({marker.phase.value})"
        try:
            answer = self.events.create_event(body=self.event_request(marker))
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            raise remote_error(operation, exc) from exc
        event = getattr(answer, "event", None)
        made = getattr(event, "id_str", None) or getattr(event, "id", None)
        return str(made) if made is not None else None


def _said(body: Any) -> str:
    """Datadog's own words: ``{"errors": ["..."]}`` (v1) or JSON:API error objects (v2)."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = [e if isinstance(e, str) else str(e.get("detail") or e.get("title") or e)
                 for e in body["errors"]]
        return "; ".join(parts)
    return str(body or "").strip()[:500]


def remote_error(operation: str, exc: ApiException | urllib3.exceptions.HTTPError) -> RemoteError:
    if not isinstance(exc, ApiException):
        return no_answer(SYSTEM, operation, exc)
    status = exc.status or None  # the client reports 0 for TLS and request-building failures
    message = _said(getattr(exc, "body", None)) or str(exc.reason or "")
    # Datadog says when the rate-limit window resets, in seconds, instead of Retry-After.
    return status_error(SYSTEM, operation, status, message, exc.headers,
                        retry_after_header="X-RateLimit-Reset")


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> DatadogSink:
    parsed = component_settings.parse_settings(DatadogSettings, settings, component="datadog marker sink",
                                               secrets={"api_key": "a Datadog API key"}, environ=environ)
    return DatadogSink(parsed)


SINK_TYPE = MarkerSinkType(
    name="datadog",
    factory=from_settings,
    description="Datadog: each deploy marker as an event (grouped and threaded per change) and each "
    "finished or rolled-back change as a DORA deployment per service.",
)
