"""POSTing a notification as signed JSON, and reading the receiver's answer as the outbox needs it.

Each delivery carries the notification's key in ``X-Chgsync-Delivery``. The outbox may deliver a
message more than once (an answer lost to a timeout, a crash between send and commit), so the key
is the receiver's means to act once; the timestamp and signature are fresh on every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from chgsync import __version__
from chgsync.errors import RemoteError
from chgsync.http import status_error
from chgsync.notify import Notification
from chgsync.retry import RETRYABLE_STATUS

from .settings import WebhookSettings
from .signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

SYSTEM = "webhook"


class WebhookError(RemoteError):
    """A delivery the receiver refused or never answered.

    Retryable, beyond RemoteError's no-answer/429/5xx, for 408 and 425, which say "the same request
    later" just as chgsync's own retry loop reads them. ``final`` marks a failure without any HTTP
    answer that a retry cannot fix (TLS): its status stays None, since no status was ever received.
    """

    def __init__(self, system: str, operation: str, status: int | None, remote_message: str, *,
                 final: bool = False) -> None:
        super().__init__(system, operation, status, remote_message)
        self.final = final

    @property
    def retryable(self) -> bool:
        if self.final:
            return False
        return self.status is None or self.status in RETRYABLE_STATUS or self.status >= 500


def payload(n: Notification, now: datetime) -> dict[str, Any]:
    """The JSON body. ``id`` is the delivery key; ``thread`` is what the receiver answered the first time."""
    return {
        "id": n.key, "event": n.event, "change_id": n.change_id, "subject": n.subject, "text": n.text,
        "facts": dict(n.facts), "links": dict(n.links), "recipients": list(n.recipients),
        "status": n.status, "severity": n.severity, "emergency": n.emergency, "components": list(n.components),
        "thread": n.thread, "sent_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


class WebhookNotifier:
    """The ``webhook`` notifier. ``clock`` stamps deliveries (tests move it to make them stale)."""

    def __init__(self, settings: WebhookSettings, *, clock: Callable[[], datetime] | None = None,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.session = session or requests.Session()
        self.operation = f"delivery to {settings.origin}"

    def send(self, notification: Notification) -> str | None:
        """Deliver; return the receiver's ``id`` for the message when it answers with one (for threading)."""
        s = self.settings
        now = self.clock()
        body = json.dumps(payload(notification, now), ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(now.timestamp())
        headers = {
            **s.headers,
            "Content-Type": "application/json",
            "User-Agent": f"chgsync/{__version__}",
            DELIVERY_HEADER: notification.key,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(s.secret.get_secret_value(), stamp, body),
        }
        try:
            response = self.session.post(s.url, data=body, headers=headers, timeout=s.timeout,
                                         allow_redirects=False, verify=str(s.ca_file) if s.ca_file else True)
        except requests.exceptions.SSLError as exc:
            raise WebhookError(SYSTEM, self.operation, None, f"TLS failed ({_reason(exc)}); if the receiver's "
                               "certificate is signed by a private CA, set ca_file.", final=True) from exc
        except requests.Timeout as exc:
            raise WebhookError(SYSTEM, self.operation, None, f"no answer within {s.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise WebhookError(SYSTEM, self.operation, None, _reason(exc)) from exc
        return self._answer(response)

    def _answer(self, response: requests.Response) -> str | None:
        status = response.status_code
        if 200 <= status < 300:
            found = _json(response)
            ident = found.get("id") if isinstance(found, dict) else None
            return ident if isinstance(ident, str) and ident else None
        said = _said(response)
        if 300 <= status < 400:
            said = (f"redirected to {response.headers.get('Location', '(no Location)')}; deliveries are not "
                    "redirected, so set url to the final address")
        elif status == 410:
            said = f"the receiver says this endpoint is gone; remove or update the notifier ({said})"
        raise status_error(SYSTEM, self.operation, status, said, response.headers, error=WebhookError)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _said(response: requests.Response) -> str:
    """The receiver's own words: a JSON error field when there is one, else the start of the body.

    A list of reasons beside it (``problems`` or ``errors``) is kept too: that is where a receiver
    names the fields at fault, which is what the person reading the dead letter needs.
    """
    found = _json(response)
    if isinstance(found, dict):
        details = found.get("problems", found.get("errors"))
        listed = "; ".join(d for d in details if isinstance(d, str))[:500] if isinstance(details, list) else ""
        for key in ("error", "message", "reason", "detail"):
            if isinstance(found.get(key), str):
                return f"{found[key]} ({listed})" if listed else str(found[key])
        if listed:
            return listed
    text = " ".join(response.text.split())[:300]
    return text or response.reason or f"HTTP {response.status_code}"


def _reason(exc: requests.RequestException) -> str:
    inner = exc.args[0] if exc.args else exc
    return str(getattr(inner, "reason", None) or inner)
