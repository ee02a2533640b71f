"""The ``pushgateway`` marker sink: the latest deploy marker per service and environment as gauges.

Prometheus cannot take events, and a change ID is an unbounded label value: every new one is a new
series kept until retention ends. So each (service, environment) has one Pushgateway group
(``job``/``service``/``env``) that every marker replaces whole (HTTP PUT): the group holds the
latest change only, and ``chgsync_deployment_info{change_id=...}`` has at most one live series per
service and environment. Change IDs never go on request or error metrics.

A PUT of the same marker twice leaves the same group behind, so the outbox's at-least-once
delivery needs no idempotency key here; markers of one sink are delivered in order.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler
from pydantic import Field

from chgsync.http import no_answer, status_error
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSinkType
from chgsync.settings import parse_settings

from .settings import SECRETS, HttpSettings

SYSTEM = "Pushgateway"

#: The outcome a marker stands for when the change has none yet (chgsync calls a finished change
#: without a recorded outcome successful).
DEFAULT_OUTCOME = {
    MarkerPhase.STARTED: "in_progress",
    MarkerPhase.FINISHED: "successful",
    MarkerPhase.ROLLED_BACK: "rolled_back",
}


class PushgatewaySettings(HttpSettings):
    job: str = Field("chgsync", min_length=1, description="The job label of every group this sink pushes.")


Handler = Callable[..., Callable[[], None]]


class PushgatewaySink:
    def __init__(self, settings: PushgatewaySettings) -> None:
        self.settings = settings

    def mark(self, marker: DeployMarker) -> str | None:
        """Replace each service's group with this marker. Returns None: the gateway keeps no ids."""
        for service in marker.services:
            self._push(service, marker)
        return None

    def grouping_key(self, service: str, environment: str) -> dict[str, str]:
        return {"service": service, "env": environment}

    def registry(self, marker: DeployMarker) -> CollectorRegistry:
        """The group's metrics; service, env and job come from the grouping key."""
        reg = CollectorRegistry()  # private: the process's own metrics must not be pushed
        started = marker.started_at if marker.started_at is not None else marker.at
        Gauge("chgsync_deployment_timestamp_seconds", "When the latest deploy marker happened (Unix seconds).",
              registry=reg).set(marker.at.timestamp())
        Gauge("chgsync_deployment_started_timestamp_seconds",
              "When implementation of the latest change began (Unix seconds).", registry=reg).set(started.timestamp())
        Gauge("chgsync_deployment_outcome", "1 for the latest change's outcome.", ["outcome"],
              registry=reg).labels(marker.outcome or DEFAULT_OUTCOME[marker.phase]).set(1)
        Gauge("chgsync_deployment_info", "The latest change on this service and environment (one series).",
              ["change_id", "phase"], registry=reg).labels(marker.change_id, marker.phase.value).set(1)
        return reg

    def _handler(self) -> Handler:
        auth = self.settings.basic_auth
        if auth is None:
            return default_handler

        def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]],
                    data: bytes) -> Callable[[], None]:
            return basic_auth_handler(url, method, timeout, headers, data, auth[0], auth[1])

        return handler

    def _push(self, service: str, marker: DeployMarker) -> None:
        operation = f"push of {marker.change_id} ({marker.phase.value}) for {service}/{marker.environment}"
        try:
            push_to_gateway(self.settings.url, job=self.settings.job, registry=self.registry(marker),
                            grouping_key=self.grouping_key(service, marker.environment),
                            timeout=self.settings.timeout, handler=self._handler())
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", errors="replace").strip() if exc.fp is not None else ""
            headers = dict(exc.headers.items()) if exc.headers is not None else None
            raise status_error(SYSTEM, operation, exc.code, body or str(exc.reason), headers) from exc
        except OSError as exc:  # refused, timed out, reset; prometheus_client's "error talking to ..."
            raise no_answer(SYSTEM, operation, exc, where=self.settings.url,
                            timeout=self.settings.timeout) from exc


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> PushgatewaySink:
    return PushgatewaySink(parse_settings(PushgatewaySettings, settings, component="pushgateway marker sink",
                                          secrets={"password": SECRETS["password"]}, environ=environ))


SINK_TYPE = MarkerSinkType(
    name="pushgateway",
    factory=from_settings,
    description="Prometheus Pushgateway: the latest deploy marker per service and environment as gauges "
    "(chgsync_deployment_info{change_id}, _timestamp_seconds, _outcome), replaced with each marker.",
)
