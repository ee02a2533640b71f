"""The Statuspage channel: an emergency change is told as one realtime incident.

The first emergency notice about a change opens an incident (its id becomes the change's thread);
each later one PATCHes that incident with the new status and text, which Statuspage records as an
incident update, so subscribers follow one incident from investigating to resolved. Components
affected by the change are set by severity while it runs and back to operational when it resolves.

Only emergency notices with a status-page status are told here. Anything else is skipped (``send``
returns None and calls nothing), because a status page is for customers and the daemon's routes may
still send planned-change chatter this way.

Statuspage has no idempotency key, and the outbox delivers at least once. So every incident carries
``metadata.chgsync`` = ``{change_id, keys}``, the keys of the notices already applied to it: before
creating, the change's open incident is looked up and reused (the POST may have succeeded with its
answer lost); before updating, the incident is read and a notice whose key it already lists is not
applied twice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from chgsync.errors import RemoteError
from chgsync.http import no_answer, status_error
from chgsync.notify import Notification, NotifierType

from .settings import StatuspageSettings, parse_settings

log = logging.getLogger(__name__)

SYSTEM = "Statuspage"
METADATA_KEY = "chgsync"
NAME_MAX = 255
BODY_MAX = 25_000
PER_PAGE = 100  # Statuspage's maximum page size for list endpoints
MAX_PAGES = 50  # a runaway pagination guard: 5000 components or open incidents
KEYS_KEPT = 25  # notice keys remembered per incident; retries come soon after the original

# Component status on the page while the change runs, by the notice's severity.
SEVERITY_STATUS = {"critical": "major_outage", "warning": "partial_outage"}
DEFAULT_COMPONENT_STATUS = "degraded_performance"
RATE_LIMIT_STATUSES = frozenset({420, 429})  # Statuspage documents both


class Pacer:
    """Spaces API calls ``interval`` seconds apart and runs them one at a time.

    Statuspage allows one request per second per key; a create can take three calls (components,
    open incidents, POST), and sending them back to back would earn a 420/429 on the last one.
    A call is held at most ``interval`` seconds, whatever the clock does.
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            if self._last is not None and self.interval > 0:
                wait = min(self.interval, self._last + self.interval - self._clock())
                if wait > 0:
                    self._sleep(wait)
            try:
                yield
            finally:
                self._last = self._clock()  # a failed call counted against the limit too


class StatuspageNotifier:
    """Opens one incident per emergency change and posts each later notice as an incident update."""

    def __init__(self, settings: StatuspageSettings, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._root = f"{settings.base_url}/pages/{settings.page_id}"
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=0)  # the outbox retries, with backoff; the client must not
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Authorization": f"OAuth {settings.api_key.get_secret_value()}",
                                      "Accept": "application/json", "User-Agent": "chgsync-statuspage/0.1"})
        self._pacer = Pacer(settings.min_interval, clock=clock, sleep=sleep)
        self._by_name: dict[str, str] | None = None
        if settings.components is not None:
            self._by_name = {name.strip().casefold(): cid for name, cid in settings.components.items()}
        self._names_lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    # -- the channel -------------------------------------------------------------------------------
    def send(self, notification: Notification) -> str | None:
        if not notification.emergency or not notification.status:
            log.debug("statuspage: %s is not an emergency status notice; not sent", notification.key)
            return None
        if notification.thread is None:
            return self._open(notification)
        incident = self._call("GET", f"/incidents/{notification.thread}", f"read incident {notification.thread}")
        return self._apply(notification, _incident(incident, f"read incident {notification.thread}"))

    def _open(self, notification: Notification) -> str:
        component_ids = self._component_ids(notification)
        existing = self._open_incident(notification.change_id)
        if existing is not None:
            # Ours from an earlier try whose answer was lost, or opened by a notice whose thread was not kept.
            log.info("statuspage: %s already has open incident %s; updating it instead of opening another",
                     notification.change_id, existing["id"])
            return self._apply(notification, existing, component_ids)
        incident: dict[str, Any] = {
            "name": _clip(notification.subject.strip() or f"Emergency change {notification.change_id}", NAME_MAX),
            "status": notification.status,
            "body": _clip(notification.text or notification.subject, BODY_MAX),
            "deliver_notifications": self.settings.deliver_notifications,
            "metadata": _metadata(notification, []),
        }
        if component_ids:
            status = component_status(notification)
            incident["component_ids"] = component_ids
            incident["components"] = {cid: status for cid in component_ids}
        created = self._call("POST", "/incidents", "create incident", json={"incident": incident})
        return str(_incident(created, "create incident")["id"])

    def _apply(self, notification: Notification, incident: Mapping[str, Any],
               component_ids: list[str] | None = None) -> str:
        """PATCH ``incident`` with the notice, unless the notice is already on it."""
        incident_id = str(incident["id"])
        keys = _applied_keys(incident)
        if notification.key in keys:
            log.debug("statuspage: %s is already on incident %s; not sent again", notification.key, incident_id)
            return incident_id
        if component_ids is None:
            component_ids = self._component_ids(notification)
        if notification.status == "resolved":
            # Everything the incident touched goes back to operational, not only what this notice names.
            ids = list(dict.fromkeys([*_incident_component_ids(incident), *component_ids]))
            statuses = {cid: "operational" for cid in ids}
        else:
            statuses = {cid: component_status(notification) for cid in component_ids}
        update: dict[str, Any] = {
            "status": notification.status,
            "body": _clip(notification.text or notification.subject, BODY_MAX),
            "deliver_notifications": self.settings.deliver_notifications,
            "metadata": _metadata(notification, keys),
        }
        if statuses:
            update["component_ids"] = list(statuses)
            update["components"] = statuses
        operation = f"update incident {incident_id}"
        _incident(self._call("PATCH", f"/incidents/{incident_id}", operation, json={"incident": update}), operation)
        return incident_id

    # -- lookups -----------------------------------------------------------------------------------
    def _component_ids(self, notification: Notification) -> list[str]:
        """The notice's systems as component ids; a system the page does not have is left out."""
        if not notification.components:
            return []
        by_name = self._components_by_name()
        ids: list[str] = []
        for system in notification.components:
            cid = by_name.get(system.strip().casefold())
            if cid is None:
                log.warning("statuspage: %s names system %r, which has no component on page %s; left out",
                            notification.change_id, system, self.settings.page_id)
            elif cid not in ids:
                ids.append(cid)
        return ids

    def _components_by_name(self) -> dict[str, str]:
        """The settings' map, or the page's components listed once (group headers left out)."""
        with self._names_lock:
            if self._by_name is None:
                found: dict[str, str] = {}
                for component in self._pages("/components", "list components"):
                    if isinstance(component, dict) and not component.get("group") and component.get("id"):
                        found.setdefault(str(component.get("name", "")).strip().casefold(), str(component["id"]))
                self._by_name = found
            return self._by_name

    def _open_incident(self, change_id: str) -> dict[str, Any] | None:
        """The change's unresolved incident: by our metadata, else by the change id in its name."""
        named: dict[str, Any] | None = None
        pattern = re.compile(rf"(?<![\w-]){re.escape(change_id)}(?![\w-])")
        for incident in self._pages("/incidents/unresolved", "find the change's open incident"):
            if not isinstance(incident, dict) or not incident.get("id"):
                continue
            if _tagged_change(incident) == change_id:
                return incident
            if named is None and _tagged_change(incident) is None and pattern.search(str(incident.get("name", ""))):
                named = incident
        return named

    def _pages(self, path: str, operation: str) -> Iterator[Any]:
        for page in range(1, MAX_PAGES + 1):
            items = self._call("GET", path, operation, params={"page": page, "per_page": PER_PAGE})
            if not isinstance(items, list):
                raise RemoteError(SYSTEM, operation, 200, "expected a JSON list in the answer.")
            yield from items
            if len(items) < PER_PAGE:
                return

    # -- HTTP --------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        with self._pacer.turn():
            try:
                response = self._session.request(method, self._root + path, timeout=self.settings.timeout, **kwargs)
            except requests.RequestException as exc:
                # The key is in a header, not in the exception's text.
                raise no_answer(SYSTEM, operation, exc, timeout=self.settings.timeout) from None
        if not 200 <= response.status_code < 300:
            raise failure(operation, response, self.settings.page_id)
        try:
            return response.json()
        except ValueError:
            raise RemoteError(SYSTEM, operation, response.status_code,
                              "Statuspage answered with something that is not JSON.") from None


# -- what is sent ------------------------------------------------------------------------------------
def component_status(notification: Notification) -> str:
    """How the affected components show while the change runs, from the notice's severity."""
    return SEVERITY_STATUS.get(notification.severity, DEFAULT_COMPONENT_STATUS)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metadata(notification: Notification, keys: list[str]) -> dict[str, Any]:
    """Statuspage wants every top-level metadata value to be an object, hence the one ``chgsync`` key."""
    kept = [k for k in keys if k != notification.key][-(KEYS_KEPT - 1):] + [notification.key]
    return {METADATA_KEY: {"change_id": notification.change_id, "keys": kept}}


def _ours(incident: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = incident.get("metadata")
    tag = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    return tag if isinstance(tag, Mapping) else {}


def _tagged_change(incident: Mapping[str, Any]) -> str | None:
    change_id = _ours(incident).get("change_id")
    return change_id if isinstance(change_id, str) else None


def _applied_keys(incident: Mapping[str, Any]) -> list[str]:
    keys = _ours(incident).get("keys")
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _incident_component_ids(incident: Mapping[str, Any]) -> list[str]:
    components = incident.get("components")
    if not isinstance(components, list):
        return []
    return [str(c["id"]) for c in components if isinstance(c, Mapping) and c.get("id")]


def _incident(answer: Any, operation: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or not answer.get("id"):
        raise RemoteError(SYSTEM, operation, 200, "Statuspage's answer has no incident id.")
    return answer


# -- errors ------------------------------------------------------------------------------------------
def _said(response: requests.Response) -> str:
    """Statuspage's own words: ``{"error": "..."}`` (a string or a list), or ``{"message": "..."}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        said = body.get("error", body.get("message"))
        if isinstance(said, list):
            return "; ".join(str(s) for s in said)
        if said:
            return str(said)
    text = response.text.strip()
    return text[:300] if text and not text.startswith("<") else (response.reason or f"HTTP {response.status_code}")


def _advice(status: int, operation: str, page_id: str) -> str:
    if status == 401:
        return "the API key was refused; check the variable api_key_env names."
    if status == 403:
        return "the key's user may not do this on the page; it needs the Incident Manager role."
    if status == 404:
        if operation.startswith(("read incident", "update incident")):
            return f"the incident is gone from page {page_id} (deleted?), or page_id is wrong."
        return f"check page_id: the key's organisation has no page {page_id}."
    return ""


def failure(operation: str, response: requests.Response, page_id: str) -> RemoteError:
    """An HTTP error as chgsync's error: 420/429 → RateLimited, else Statuspage's reason plus advice."""
    status = response.status_code
    message = _said(response)
    if status in RATE_LIMIT_STATUSES:
        message = f"HTTP {status}: {message}"  # RateLimited says 429 either way
    elif advice := _advice(status, operation, page_id):
        message = f"{message}: {advice}"
    return status_error(SYSTEM, operation, status, message, response.headers, rate_limits=RATE_LIMIT_STATUSES)


def from_settings(settings: Mapping[str, Any], *, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep,
                  environ: Mapping[str, str] | None = None) -> StatuspageNotifier:
    """The notifier for one ``notifiers:`` entry; raises ConfigError naming each bad setting."""
    return StatuspageNotifier(parse_settings(settings, environ), clock=clock, sleep=sleep)


NOTIFIER_TYPE = NotifierType(
    name="statuspage",
    factory=from_settings,
    description="Atlassian Statuspage (Manage API): each emergency change as one realtime incident, "
    "updated through investigating, identified, monitoring and resolved.",
)
