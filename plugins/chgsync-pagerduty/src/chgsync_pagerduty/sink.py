"""The ``pagerduty`` marker sink: each deploy marker as a PagerDuty change event (Events API v2).

Why change events: responders triaging an incident see them on the service, on the incident
("recent changes") and on the Recent Changes page, so "what changed on checkout just before it
broke?" is answered without leaving PagerDuty. They never open incidents or page anyone.

Routing: a change event goes to one PagerDuty service, named by its integration key. With
``services`` configured, each listed chgsync service touched by the marker gets its own event on
its own PagerDuty service; the marker's other services go to ``routing_key`` if there is one.

Retries and duplicates. Change events carry no dedup key and the 202 answer carries no id, so
``mark`` returns None and PagerDuty cannot drop a repeat. The outbox delivers at least once, so an
event whose 202 was lost on the way back is posted again and shows twice on the service. That is
accepted: a change event is an informational timeline entry (nothing pages, nothing is counted), a
lost answer is rare, and both copies carry the same ``marker_key`` in their details so a reader can
tell them apart from two real deployments. Within one process the sink also remembers which
services already took a marker, so when one of several per-service posts fails, the retry re-posts
only the ones that did not land.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

import requests

from chgsync.errors import RateLimited, RemoteError
from chgsync.http import no_answer, status_error
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSinkType

from . import __version__
from .settings import PagerDutySettings, parse_settings

log = logging.getLogger(__name__)

SYSTEM = "PagerDuty"
SUMMARY_LIMIT = 1024
#: PagerDuty's Events API documents no Retry-After; its advice is to retry about 30 s apart.
DEFAULT_RETRY_AFTER = 30.0
_REMEMBERED = 4096  # (marker, routing key) pairs already accepted, per sink


@dataclass(frozen=True)
class Target:
    """One change event to post: the key of a PagerDuty service and the chgsync services it stands for."""

    routing_key: str
    services: tuple[str, ...]
    label: str

    @property
    def fingerprint(self) -> str:
        return sha256(self.routing_key.encode()).hexdigest()[:16]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, the precision PagerDuty shows."""
    return _utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def summary(marker: DeployMarker, services: tuple[str, ...]) -> str:
    """``Change CHG-1001 finished on checkout (production): successful — Upgrade the cart``, ≤ 1024."""
    verb = {MarkerPhase.STARTED: "started", MarkerPhase.FINISHED: "finished",
            MarkerPhase.ROLLED_BACK: "rolled back"}[marker.phase]
    text = f"Change {marker.change_id} {verb}"
    if services:
        text += f" on {', '.join(services)}"
    if marker.environment:
        text += f" ({marker.environment})"
    if marker.phase == MarkerPhase.FINISHED:
        text += f": {(marker.outcome or 'successful').replace('_', ' ')}"
    if marker.title:
        text += f" — {marker.title}"
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def custom_details(marker: DeployMarker) -> dict[str, Any]:
    details: dict[str, Any] = {
        "change_id": marker.change_id, "phase": marker.phase.value, "services": list(marker.services),
        "environment": marker.environment, "outcome": marker.outcome, "change_type": marker.change_type,
        "risk": marker.risk, "title": marker.title,
    }
    if marker.started_at is not None:
        details["started_at"] = timestamp(marker.started_at)
        if marker.phase != MarkerPhase.STARTED:
            span = _utc(marker.at) - _utc(marker.started_at)
            details["duration"] = _duration(span)
            details["duration_seconds"] = max(0, int(span.total_seconds()))
    if marker.links:
        details["tickets"] = dict(marker.links)  # also the ones that are keys, not URLs
    details["marker_key"] = marker.key  # the same on a repeat: tells a duplicate from a redeploy
    return {k: v for k, v in details.items() if v not in (None, "", [], {})}


def links(marker: DeployMarker) -> list[dict[str, str]]:
    """The change's tickets as PagerDuty links; a ticket known only by its key stays in the details."""
    return [{"href": url, "text": f"{system} ticket"} for system, url in marker.links.items() if _is_url(url)]


def change_event(marker: DeployMarker, target: Target, source: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": target.routing_key,
        "payload": {"summary": summary(marker, target.services), "timestamp": timestamp(marker.at),
                    "source": source, "custom_details": custom_details(marker)},
    }
    found = links(marker)
    if found:
        body["links"] = found
    return body


def _said(response: requests.Response) -> str:
    """PagerDuty's own words: ``{"status", "message", "errors": [...]}``, or the text it sent."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or (response.reason or f"HTTP {response.status_code}")
    if not isinstance(body, dict):
        return str(body)[:500]
    head = str(body.get("message") or body.get("status") or "").strip()
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        listed = "; ".join(str(e) for e in errors)
        return f"{head}: {listed}" if head else listed
    return head or response.reason or f"HTTP {response.status_code}"


class PagerDutySink:
    def __init__(self, settings: PagerDutySettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers.update({"Content-Type": "application/json", "Accept": "application/json",
                                     "User-Agent": f"chgsync-pagerduty/{__version__}"})
        self._accepted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def targets(self, marker: DeployMarker) -> list[Target]:
        """Where this marker goes: one target per distinct key, in the order of the marker's services.

        A service listed under ``services`` goes to its own key, any other to ``routing_key``; a
        service with neither is not PagerDuty's business and is left out.
        """
        default = self.settings.routing_key.get_secret_value() if self.settings.routing_key else None
        groups: dict[str, list[str]] = {}
        for service in marker.services:
            own = self.settings.services.get(service)
            key = own.get_secret_value() if own is not None else default
            if key is not None:
                groups.setdefault(key, []).append(service)
        if not marker.services and default is not None:
            groups[default] = []  # a change naming no service still belongs on the default service
        return [Target(key, tuple(names), ", ".join(names) or "the default routing key")
                for key, names in groups.items()]

    def mark(self, marker: DeployMarker) -> str | None:
        """Post one change event per target; always None, PagerDuty gives change events no id.

        Every target is tried even when one fails, so one bad key does not silence the other
        services. The error raised is the one that should decide the outbox's next step: a rate
        limit first, then any retryable failure, else the first final one.
        """
        failures: list[RemoteError] = []
        targets = self.targets(marker)
        if not targets:
            log.info("%s %s touches none of the services routed to PagerDuty (%s); nothing sent",
                     marker.change_id, marker.phase.value, ", ".join(marker.services) or "no services")
        for target in targets:
            done = (marker.key, target.fingerprint)
            with self._lock:
                if done in self._accepted:
                    continue
            try:
                self._post(marker, target)
            except RemoteError as exc:
                failures.append(exc)
                continue
            with self._lock:
                self._accepted[done] = None
                while len(self._accepted) > _REMEMBERED:
                    self._accepted.popitem(last=False)
        if failures:
            for other in failures[1:]:
                log.warning("%s", other)
            raise _deciding(failures)
        return None

    def close(self) -> None:
        self.session.close()

    def _post(self, marker: DeployMarker, target: Target) -> None:
        operation = f"change event for {marker.change_id} ({marker.phase.value}) on {target.label}"
        try:
            response = self.session.post(self.settings.endpoint, json=change_event(marker, target,
                                                                                    self.settings.source),
                                         timeout=self.settings.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise no_answer(SYSTEM, operation, exc, timeout=self.settings.timeout) from exc
        if 200 <= response.status_code < 300:
            return
        raise status_error(SYSTEM, operation, response.status_code, _said(response), response.headers,
                           default_retry_after=DEFAULT_RETRY_AFTER)


def _deciding(failures: list[RemoteError]) -> RemoteError:
    for wanted in (lambda e: isinstance(e, RateLimited), lambda e: e.retryable):
        for exc in failures:
            if wanted(exc):
                return exc
    return failures[0]


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> PagerDutySink:
    return PagerDutySink(parse_settings(settings, environ))


SINK_TYPE = MarkerSinkType(
    name="pagerduty",
    factory=from_settings,
    description="PagerDuty: each deploy marker as a change event (Events API v2) on the PagerDuty service "
    "of every service it touches.",
)
