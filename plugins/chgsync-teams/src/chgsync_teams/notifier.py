"""The Teams channel: each notice posted as an Adaptive Card to a Workflows trigger.

A Workflows trigger ("When a Teams webhook request is received") answers 202 Accepted and nothing
else: no message id, so nothing to thread under or update. ``send`` therefore returns None, the
daemon keeps no thread for Teams, and every notice about a change is a card of its own.

The trigger URL is the credential. It stays in this module's :class:`TeamsSettings` and the HTTP
session; error messages name the host only and mask any ``sig=`` value that reaches them (requests
puts the URL into its connection errors, urllib3 into its debug log lines), so neither an error in
the outbox nor a log line can be replayed to post into the channel.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import requests

from chgsync.errors import RemoteError
from chgsync.http import no_answer, status_error
from chgsync.notify import Notification, NotifierType

from .card import TooLarge, render
from .settings import TeamsSettings, origin, parse_settings, redact, signature

log = logging.getLogger(__name__)

SYSTEM = "Teams"
OPERATION = "workflow post"

# What a person should do about answers a misconfigured flow produces.
_ADVICE = {
    401: "the trigger URL's signature was refused; the URL changes when the flow or its trigger is re-created, "
         "so copy it again into the variable url_env names.",
    403: "the flow refused this caller; check who the flow's trigger allows to call it.",
    404: "no flow answers at this URL; it may have been deleted or turned off (check Workflows in Teams).",
    413: "the card is larger than Teams accepts (about 28 KB).",
}
_SENT_MEMORY = 4096


class _MaskSignatures(logging.Filter):
    """Masks ``sig=`` values in records of the HTTP library's loggers (urllib3 logs request URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message.lower():
            record.msg, record.args = redact(message), None
        return True


def _mask_http_library_logs() -> None:
    mask = _MaskSignatures()
    names = {"urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"}
    names |= {n for n in logging.root.manager.loggerDict if n.startswith("urllib3")}
    for name in sorted(names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _MaskSignatures) for f in logger.filters):
            logger.addFilter(mask)


_mask_http_library_logs()


def _user_agent() -> str:
    try:
        return f"chgsync-teams/{metadata.version('chgsync-teams')}"
    except metadata.PackageNotFoundError:
        return "chgsync-teams"


class TeamsNotifier:
    """Posts each notice as one card to the channel behind a Workflows trigger URL."""

    def __init__(self, settings: TeamsSettings, *, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._url = settings.url.get_secret_value()
        self._masks = [s for s in (self._url, signature(self._url)) if s]
        self.origin = origin(self._url)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = _user_agent()
        # Keys this process already delivered: a redelivery of one of them is not posted twice.
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._sent_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TeamsNotifier({self.origin})"

    def send(self, notification: Notification) -> str | None:
        with self._sent_lock:
            if notification.key in self._sent:
                log.debug("teams: %s was already posted; not posting again", notification.key)
                return None
        # notification.thread is ignored: Workflows gives no id to thread under, so it is always None here.
        try:
            _, body = render(notification, version=self.settings.card_version, full_width=self.settings.full_width)
        except TooLarge as exc:
            raise RemoteError(SYSTEM, OPERATION, 413, f"not sent: {exc}.") from None
        self._post(body)
        with self._sent_lock:
            self._sent[notification.key] = None
            while len(self._sent) > _SENT_MEMORY:
                self._sent.popitem(last=False)
        log.info("teams: posted %s (%s) for %s to %s", notification.key, notification.event,
                 notification.change_id, self.origin)
        return None

    def _post(self, body: bytes) -> None:
        try:
            response = self.session.post(self._url, data=body, timeout=self.settings.timeout, allow_redirects=False,
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        except requests.RequestException as exc:
            # The exception's text carries the URL, signature included: mask before it goes anywhere.
            raise no_answer(SYSTEM, OPERATION, exc, where=self.origin, timeout=self.settings.timeout,
                            mask=self._mask) from None
        if 200 <= response.status_code < 300:
            return
        raise self._failure(response)

    def _failure(self, response: requests.Response) -> RemoteError:
        """The trigger's answer as chgsync's error: 429 → RateLimited, its code and message, and advice."""
        status = response.status_code
        message = self._remote_message(response)
        if 300 <= status < 400:
            message += ": the trigger URL redirects elsewhere; use the URL the flow's trigger shows."
        elif status in _ADVICE:
            message += f": {_ADVICE[status]}"
        return status_error(SYSTEM, OPERATION, status, message, response.headers)

    def _remote_message(self, response: requests.Response) -> str:
        """Logic Apps' ``{"error": {"code", "message"}}``, else a short plain-text body, else the status line."""
        text = ""
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            error = data["error"]
            text = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
        elif isinstance(data, Mapping) and isinstance(data.get("message"), str):
            text = data["message"]
        elif data is None and not response.text.lstrip().startswith("<"):  # a proxy's HTML page is not a message
            text = response.text
        text = " ".join(text.split())[:300] or f"HTTP {response.status_code} {response.reason or ''}".strip()
        return self._mask(text)

    def _mask(self, text: str) -> str:
        for secret in self._masks:
            text = redact(text, secret)
        return redact(text)


def from_settings(settings: Mapping[str, Any], *, session: requests.Session | None = None) -> TeamsNotifier:
    """The notifier for one ``notifiers:`` entry; raises ConfigError naming each bad setting."""
    return TeamsNotifier(parse_settings(settings), session=session)


NOTIFIER_TYPE = NotifierType(
    name="teams",
    factory=from_settings,
    description="Microsoft Teams through a Workflows webhook trigger: one Adaptive Card per notice (no threads).",
)
