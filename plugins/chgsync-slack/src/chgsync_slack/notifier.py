"""The Slack channel: one thread per change, its root card kept current.

Only the Web API can do this: ``chat.postMessage`` returns the message's ``ts`` (incoming webhooks
return the word ``ok``), later notices reply with ``thread_ts`` and ``chat.update`` rewrites the root.
Retries belong to the daemon's outbox, so slack-sdk's own retry handlers are switched off and every
failure is raised as a :class:`~chgsync.errors.RemoteError` the outbox can judge.
"""

from __future__ import annotations

import http.client
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from chgsync.errors import RateLimited, RemoteError
from chgsync.http import no_answer, retry_after
from chgsync.notify import Notification, NotifierType

from . import blocks
from .pacing import ChannelPacer
from .settings import SlackSettings, parse_settings

log = logging.getLogger(__name__)

SYSTEM = "slack"

# Slack's own words for "not now": worth another try later, unlike every other ok:false answer.
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})

# What a person should do about the errors a misconfigured channel produces.
_ADVICE = {
    "not_in_channel": "invite the bot to the channel (/invite @your-bot).",
    "channel_not_found": "check the channel setting; a private channel needs the bot invited first.",
    "is_archived": "the channel is archived; choose another channel.",
    "invalid_auth": "the token was refused; check the variable token_env names.",
    "not_authed": "no token reached Slack; check the variable token_env names.",
    "token_revoked": "the token was revoked; install the app again and update the token.",
    "account_inactive": "the token's app or user is deactivated.",
    "missing_scope": "the token lacks the chat:write scope.",
    "thread_not_found": "the change's first message is gone from the channel (deleted?).",
}

_SENT_MEMORY = 4096


class SlackApiFailure(RemoteError):
    """Slack answered ``ok: false``. ``error`` is its code; its transient codes are retryable."""

    def __init__(self, operation: str, status: int | None, error: str, message: str) -> None:
        self.error = error
        super().__init__(SYSTEM, operation, status, message)

    @property
    def retryable(self) -> bool:
        return self.error in TRANSIENT_ERRORS or super().retryable


class SlackNotifier:
    """Posts a change's first notice as a card, later ones as thread replies, and keeps the card current."""

    def __init__(self, settings: SlackSettings, *, client: WebClient | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.channel = settings.channel
        self.client = client or WebClient(token=settings.token.get_secret_value(), base_url=settings.base_url,
                                          timeout=math.ceil(settings.timeout), retry_handlers=[])
        self.pacer = ChannelPacer(settings.min_interval, clock=clock, sleep=sleep)
        # Keys already delivered by this process: a retry after a later step failed must not post twice.
        self._sent: OrderedDict[str, str] = OrderedDict()
        self._sent_lock = threading.Lock()

    def send(self, notification: Notification) -> str | None:
        with self._sent_lock:
            done = self._sent.get(notification.key)
        if done is not None:
            log.debug("slack: %s was already posted as %s; not posting again", notification.key, done)
            return done
        if notification.thread is None:
            ts, _ = self._post(notification, root=True)
        else:
            ts, channel_id = self._post(notification, root=False)
            self._refresh_card(notification, channel_id)
        with self._sent_lock:
            self._sent[notification.key] = ts
            while len(self._sent) > _SENT_MEMORY:
                self._sent.popitem(last=False)
        return ts

    def _post(self, notification: Notification, *, root: bool) -> tuple[str, str]:
        """Post the root card or a thread reply; return its ``ts`` and the channel's ID."""
        args: dict[str, Any] = {"channel": self.channel, "metadata": blocks.metadata(notification),
                                "unfurl_links": False, "unfurl_media": False}
        if root:
            args |= {"text": blocks.card_text(notification), "blocks": blocks.card(notification)}
        else:
            args |= {"text": blocks.reply_text(notification), "blocks": blocks.reply(notification),
                     "thread_ts": notification.thread, "reply_broadcast": blocks.broadcast(notification)}
        with self.pacer.slot(self.channel):
            response = self._call("chat.postMessage", lambda: self.client.chat_postMessage(**args))
        ts, channel_id = response.get("ts"), response.get("channel")
        if not isinstance(ts, str) or not isinstance(channel_id, str):
            raise RemoteError(SYSTEM, "chat.postMessage", response.status_code,
                              "Slack accepted the message but its answer has no ts or channel.")
        return ts, channel_id

    def _refresh_card(self, notification: Notification, channel_id: str) -> None:
        """Rewrite the root card with the current state. The reply is already posted, so a failure
        here is logged, not raised: raising would make the outbox post the reply again."""
        root_ts = notification.thread
        assert root_ts is not None
        try:
            # chat.update takes only channel IDs, so use the one Slack just answered with.
            self._call("chat.update", lambda: self.client.chat_update(
                channel=channel_id, ts=root_ts, text=blocks.card_text(notification),
                blocks=blocks.card(notification), metadata=blocks.metadata(notification)))
        except RemoteError as exc:
            log.warning("slack: posted %s in the thread of %s but could not update its first message; "
                        "the next notice will try again: %s", notification.key, notification.change_id, exc)

    def _call(self, operation: str, fn: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return fn()
        except SlackApiError as exc:
            raise _failure(operation, exc.response) from None
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            # urllib's text names neither the token nor the body; the client waits whole seconds.
            raise no_answer(SYSTEM, operation, exc, where="Slack",
                            timeout=math.ceil(self.settings.timeout)) from None


def _failure(operation: str, response: SlackResponse) -> RemoteError:
    """Slack's answer as chgsync's error: 429 → RateLimited, its error code and advice in the message."""
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {status}")[:300]  # a proxy's HTML page is not a message
    details = [str(m) for m in (data.get("errors") or (data.get("response_metadata") or {}).get("messages") or [])]
    message = error + (f" ({'; '.join(details)})" if details else "")
    if error in _ADVICE:
        message += f": {_ADVICE[error]}"
    if status == 429 or error == "ratelimited":  # Slack may also say ratelimited in a 200
        return RateLimited(SYSTEM, operation, message, retry_after=retry_after(response.headers))
    return SlackApiFailure(operation, status, error, message)


def from_settings(settings: Mapping[str, Any], *, client: WebClient | None = None,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> SlackNotifier:
    """The notifier for one ``notifiers:`` entry; raises ConfigError naming each bad setting."""
    return SlackNotifier(parse_settings(settings), client=client, clock=clock, sleep=sleep)


NOTIFIER_TYPE = NotifierType(
    name="slack",
    factory=from_settings,
    description="Slack through the Web API (bot token): one thread per change, its root card kept current.",
)
