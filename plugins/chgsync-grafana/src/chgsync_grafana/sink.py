"""The ``grafana`` marker sink: a change as one Grafana annotation, a point when it starts and a region
once it has finished or been rolled back.

Why one annotation per change: a region from start to end shows the whole implementation window
on every graph, and one annotation per change keeps the annotation list readable. The annotation's
id is what :meth:`GrafanaSink.mark` returns for the start, so the daemon hands it back as
``marker.previous`` with the end, and the end becomes a ``PATCH`` of that annotation.

Idempotency under the outbox's at-least-once delivery: a ``PATCH`` sets absolute values, so repeating
it changes nothing. A ``POST`` is not repeatable, so every annotation carries a tag derived from the
marker's key and the sink looks for that tag before creating: a retry after an answer that was lost
on the way back finds the first annotation instead of adding a second.

Grafana stores a tag as key and value split at ``:``, keeps only the first two parts and allows 100
characters in each, and refuses an annotation whose tags, written as a JSON list, exceed
``[annotations] tags_length`` (500 by default). Marker keys contain colons, so the key tag holds a
hash of the key; other tags are cleaned to one colon and trimmed to fit.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chgsync.errors import RemoteError
from chgsync.http import no_answer, status_error
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSinkType

from .settings import GrafanaSettings, parse_settings

SYSTEM = "Grafana"
USER_AGENT = "chgsync-grafana/0.1.0"
KEY_TAG = "chgsync_key"
#: Grafana's tag table holds at most 100 characters in a tag's key and in its value.
TAG_PART_LIMIT = 100
#: Grafana's default ``[annotations] tags_length``: the tags as a JSON list, in bytes.
TAGS_LENGTH_LIMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Unix milliseconds without float rounding; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def key_tag(key: str) -> str:
    """The tag that finds a marker's annotation again: ``chgsync_key:<128-bit hash of the key>``."""
    return f"{KEY_TAG}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def clean_tag(tag: str) -> str | None:
    """``tag`` as Grafana will keep it: one ``key:value`` split, each part trimmed to 100 characters.

    Colons in the value become ``_`` (Grafana would drop everything after the second colon); a
    ``key:`` with no value is dropped, as it says nothing.
    """
    key, sep, value = tag.partition(":")
    key, value = key.strip()[:TAG_PART_LIMIT], value.replace(":", "_").strip()[:TAG_PART_LIMIT]
    if not key or (sep and not value):
        return None
    return f"{key}:{value}" if sep else key


def tags_length(tags: Iterable[str]) -> int:
    """Grafana's estimate of the tags' stored length: ``["a","b"]`` in UTF-8 bytes."""
    items = [len(t.encode()) + 2 for t in tags]
    return 2 + sum(items) + max(0, len(items) - 1)


def outcome(marker: DeployMarker) -> str | None:
    if marker.outcome:
        return marker.outcome
    return {MarkerPhase.FINISHED: "successful", MarkerPhase.ROLLED_BACK: "rolled_back"}.get(marker.phase)


def annotation_tags(marker: DeployMarker, limit: int = TAGS_LENGTH_LIMIT) -> list[str]:
    """The key tag first, then the marker's tags; service tags are left out once the budget is spent.

    The services are still named in the text, so a change on many services loses only the ability
    to filter on its later services, never the annotation.
    """
    wanted = list(marker.tags)
    if not marker.outcome and outcome(marker):
        wanted.append(f"outcome:{outcome(marker)}")
    fixed: list[str] = [key_tag(marker.key)]
    optional: list[str] = []
    for raw in wanted:
        tag = clean_tag(raw)
        if tag is None or tag in fixed or tag in optional:
            continue
        (optional if raw.startswith("service:") else fixed).append(tag)
    tags = list(fixed)
    for tag in optional:
        if tags_length([*tags, tag]) > limit:
            break
        tags.append(tag)
    return tags


def annotation_text(marker: DeployMarker, html_links: bool = True) -> str:
    """``<title> — Change CHG-… started on <services> in <env> (<links>)``.

    Grafana's tooltip renders the text as sanitised HTML, so with ``html_links`` everything is escaped
    and each http(s) link becomes an anchor; without, links are written as ``name: url``.
    """
    esc = html.escape if html_links else (lambda s: s)
    what = {MarkerPhase.STARTED: "started", MarkerPhase.ROLLED_BACK: "rolled back",
            MarkerPhase.FINISHED: f"finished ({(outcome(marker) or '').replace('_', ' ')})"}[marker.phase]
    services = ", ".join(marker.services) or "no listed service"
    env = f" in {marker.environment}" if marker.environment else ""
    head = f"{marker.title} — " if marker.title else ""
    text = esc(f"{head}Change {marker.change_id} {what} on {services}{env}")
    links = []
    for name, target in marker.links.items():
        if html_links and target.startswith(("http://", "https://")):
            links.append(f'<a href="{esc(target)}">{esc(name)}</a>')
        else:
            links.append(esc(f"{name}: {target}"))
    return f"{text} ({', '.join(links)})" if links else text


class GrafanaSink:
    """Writes markers through Grafana's HTTP API (``/api/annotations``) with a service account token."""

    def __init__(self, settings: GrafanaSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {settings.token.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        })
        if settings.org_id is not None:
            self.session.headers["X-Grafana-Org-Id"] = str(settings.org_id)

    def mark(self, marker: DeployMarker) -> str:
        """Return the annotation's id: the same one for a change's start and its end."""
        previous = marker.previous
        if marker.phase != MarkerPhase.STARTED and previous and previous.isdigit():
            if self._close(marker, previous):
                return previous
            # The annotation was deleted in Grafana: the end gets a region of its own.
        return self._create(marker)

    def close(self) -> None:
        self.session.close()

    # -- requests ------------------------------------------------------------------------------------
    def create_request(self, marker: DeployMarker) -> dict[str, Any]:
        """The ``POST /api/annotations`` body: a point at the start, or a region for an end on its own."""
        body: dict[str, Any] = {"time": epoch_ms(marker.at), "tags": annotation_tags(marker),
                                "text": annotation_text(marker, self.settings.html_links)}
        if marker.phase != MarkerPhase.STARTED and marker.started_at is not None:
            start, end = sorted((marker.started_at, marker.at))
            body["time"], body["timeEnd"] = epoch_ms(start), epoch_ms(end)
        if self.settings.dashboard_uid is not None:
            body["dashboardUID"] = self.settings.dashboard_uid
        if self.settings.panel_id is not None:
            body["panelId"] = self.settings.panel_id
        return body

    def close_request(self, marker: DeployMarker) -> dict[str, Any]:
        """The ``PATCH`` body that ends the start's annotation: absolute values, so a repeat is harmless."""
        return {"timeEnd": epoch_ms(marker.at), "tags": annotation_tags(marker),
                "text": annotation_text(marker, self.settings.html_links)}

    def _create(self, marker: DeployMarker) -> str:
        body = self.create_request(marker)
        operation = f"annotation for {marker.change_id} ({marker.phase.value})"
        found = self.find(body["tags"][0], operation)
        if found is not None:
            return found  # created by an earlier try whose answer was lost
        answer = self._call("POST", "/api/annotations", operation, json=body)
        made = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(made, int) or isinstance(made, bool):
            raise RemoteError(SYSTEM, operation, None, f"the answer carries no annotation id: {answer!r}"[:500])
        return str(made)

    def _close(self, marker: DeployMarker, annotation_id: str) -> bool:
        operation = f"update of annotation {annotation_id} for {marker.change_id} ({marker.phase.value})"
        try:
            self._call("PATCH", f"/api/annotations/{annotation_id}", operation, json=self.close_request(marker))
        except RemoteError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def find(self, tag: str, operation: str) -> str | None:
        """The oldest annotation carrying ``tag``, if any."""
        answer = self._call("GET", "/api/annotations", f"lookup before {operation}",
                            params=[("tags", tag), ("type", "annotation"), ("limit", "100")])
        if not isinstance(answer, list):
            raise RemoteError(SYSTEM, f"lookup before {operation}", None,
                              f"expected a list of annotations, got {answer!r}"[:500])
        # Checked here too: a proxy or an old Grafana that ignored the filter must not match by accident.
        ids = [a["id"] for a in answer if isinstance(a, dict) and isinstance(a.get("id"), int)
               and tag in (a.get("tags") or [])]
        return str(min(ids)) if ids else None

    def _call(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        try:
            resp = self.session.request(method, self.settings.url + path, timeout=self.settings.timeout,
                                        allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise no_answer(SYSTEM, operation, exc, where=self.settings.url,
                            timeout=self.settings.timeout) from exc
        if resp.status_code >= 300:
            raise remote_error(operation, resp)
        try:
            return resp.json()
        except ValueError:
            raise RemoteError(SYSTEM, operation, None, "the answer is not JSON (is url Grafana's root URL?): "
                              f"{resp.text.strip()[:200]!r}") from None


def said(resp: requests.Response) -> str:
    """Grafana's own words: ``message``, with ``error`` (development builds) and ``messageId`` when given."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        words = str(body["message"])
        if body.get("error") and body["error"] != words:
            words += f": {body['error']}"
        if body.get("messageId"):
            words += f" [{body['messageId']}]"
        return words
    return resp.text.strip()[:300] or resp.reason or f"HTTP {resp.status_code}"


def remote_error(operation: str, resp: requests.Response) -> RemoteError:
    if 300 <= resp.status_code < 400:
        where = resp.headers.get("Location", "elsewhere")
        message = f"redirected to {where}; set url to Grafana's root URL (with its sub-path, if any)"
    else:
        message = said(resp)
    return status_error(SYSTEM, operation, resp.status_code, message, resp.headers)


def from_settings(settings: Mapping[str, Any]) -> GrafanaSink:
    return GrafanaSink(parse_settings(settings))


SINK_TYPE = MarkerSinkType(
    name="grafana",
    factory=from_settings,
    description="Grafana: each change as an annotation, a point when implementation starts that becomes "
    "a region when it finishes or is rolled back, tagged for dashboards' annotation queries.",
)
