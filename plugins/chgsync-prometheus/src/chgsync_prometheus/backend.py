"""The ``prometheus`` metric backend: answers rollback-trigger queries with ``/api/v1/query_range``.

A rollback trigger asks "has this held for the last ten minutes?", so the backend returns the
query's values over the window, one per step. A query may return several series (one per pod,
say); the trigger cares about the worst, so they are folded into the largest value per step.

Errors are split by who can fix them: a query Prometheus cannot parse (400 ``bad_data``) is the
change author's, raised as :class:`QueryRejected` naming the query, and no retry helps; an
unreachable, overloaded or timed-out server (no answer, 429, 503, 5xx) is a retryable RemoteError.
A query that parses but cannot run (422 ``execution``, e.g. many-to-many matching) is a
RemoteError that is not retried: the same query on the same data fails the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import model_validator

from chgsync.errors import InputError, RemoteError
from chgsync.http import no_answer, status_error
from chgsync.settings import SettingError, parse_settings
from chgsync.triggers import MetricBackendType, Sample

from .settings import SECRETS, HttpSettings

SYSTEM = "Prometheus"


class QueryRejected(InputError):
    """Prometheus refused the query itself (HTTP 400): fix the rollback trigger, do not retry."""

    kind = "query"

    def __init__(self, query: str, error_type: str, message: str) -> None:
        self.query = query
        self.error_type = error_type
        self.remote_message = message
        super().__init__(None, message)

    def _render(self) -> str:
        return f"Prometheus rejected the query {self.query!r} ({self.error_type}): {self.remote_message}"


class PrometheusSettings(HttpSettings):
    token: str | None = None  # a bearer token, for Prometheus behind an authenticating proxy

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusSettings:
        if self.token is not None and self.user is not None:
            raise SettingError("token", "set either token or user/password, not both")
        return self


def _value(text: str) -> float:
    """Prometheus sends sample values as strings ("0.08", "NaN", "+Inf")."""
    return float(text)


def _worst(values: list[float]) -> float:
    """The largest value; NaN (0/0, no traffic) only when there is nothing else."""
    usable = [v for v in values if not math.isnan(v)]
    return max(usable) if usable else math.nan


class PrometheusBackend:
    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        if settings.basic_auth is not None:
            self.session.auth = settings.basic_auth
        if settings.token is not None:
            self.session.headers["Authorization"] = f"Bearer {settings.token}"

    def series(self, query: str, start: datetime, end: datetime, step: timedelta) -> list[Sample]:
        seconds = step.total_seconds()
        if seconds <= 0:
            raise ValueError(f"The step must be positive, got {step}.")
        form = {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                "step": f"{seconds:g}", "timeout": f"{self.settings.timeout:g}"}
        data = self._call("query_range", query, form)
        if data.get("resultType") != "matrix":
            raise RemoteError(SYSTEM, f"query_range of {query!r}", None,
                              f"expected a matrix result, got {data.get('resultType')!r}")
        by_time: dict[float, list[float]] = {}
        for item in data.get("result") or []:
            for ts, text in item.get("values") or []:
                by_time.setdefault(float(ts), []).append(_value(text))
        return [(datetime.fromtimestamp(ts, UTC), _worst(vs)) for ts, vs in sorted(by_time.items())]

    def _call(self, endpoint: str, query: str, form: Mapping[str, str]) -> dict[str, Any]:
        operation = f"{endpoint} of {query!r}"
        try:
            # POST: long PromQL does not fit in a URL; Prometheus takes form bodies on both endpoints.
            resp = self.session.post(f"{self.settings.url}/api/v1/{endpoint}", data=dict(form),
                                     timeout=self.settings.timeout)
        except requests.RequestException as exc:
            raise no_answer(SYSTEM, operation, exc, where=self.settings.url,
                            timeout=self.settings.timeout) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = resp.text.strip()[:300] or resp.reason
            if resp.ok:
                raise RemoteError(SYSTEM, operation, None, f"the answer is not Prometheus JSON: {text}")
            raise self._error(operation, resp, text)
        if resp.status_code == 400 and body.get("errorType") == "bad_data":
            raise QueryRejected(query, "bad_data", str(body.get("error", "")))
        if not resp.ok or body.get("status") != "success":
            raise self._error(operation, resp, f"{body.get('errorType', 'error')}: {body.get('error', '')}")
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def _error(self, operation: str, resp: requests.Response, message: str) -> RemoteError:
        # 2xx with an error envelope is a broken proxy or server: worth retrying, like no answer.
        status = resp.status_code if not resp.ok else None
        return status_error(SYSTEM, operation, status, message, resp.headers)


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> PrometheusBackend:
    parsed = parse_settings(PrometheusSettings, settings, component="prometheus metric backend",
                            secrets=SECRETS, environ=environ)
    return PrometheusBackend(parsed)


BACKEND_TYPE = MetricBackendType(
    name="prometheus",
    factory=from_settings,
    description="Prometheus HTTP API (query_range): rollback-trigger queries in PromQL; several series "
    "fold into the largest value per step.",
)
