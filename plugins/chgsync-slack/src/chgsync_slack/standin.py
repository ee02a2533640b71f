"""A loopback stand-in for Slack's Web API: ``chat.postMessage``, ``chat.update`` and ``auth.test``.

It answers like Slack: HTTP 200 with ``{"ok": false, "error": "..."}`` for refused calls (a bad token
included), HTTP 429 with ``Retry-After`` when rate limited, and ``ts`` values that order messages.
Each call is checked against what Slack documents (bot token, channel membership, text or blocks,
Block Kit limits, threads, metadata) and what was posted is kept per channel with its threads, so
tests assert on the conversation a person would see. Bodies are accepted as JSON or form-encoded
(``blocks`` and ``metadata`` then arrive as JSON strings), as slack-sdk and curl send them.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from chgsync.errors import InputError
from chgsync.testing.emulator import Emulator

from .blockkit import check_blocks

TEAM_ID = "T0CHGSYNC1"
BOT_USER_ID = "U0CHGSYNC1"
BOT_ID = "B0CHGSYNC1"
MAX_TEXT = 40_000
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_ERROR_CODES = {429: "ratelimited", 500: "internal_error", 502: "service_unavailable",
                503: "service_unavailable", 504: "request_timeout"}


class SlackRefusal(Exception):
    """An ``ok: false`` answer; ``errors`` are Block Kit's per-problem lines."""

    def __init__(self, error: str, errors: list[str] | None = None) -> None:
        self.error = error
        self.errors = errors or []
        super().__init__(error)


@dataclass
class Message:
    """One message as the channel shows it; ``versions`` holds what earlier edits replaced."""

    ts: str
    channel: str
    text: str
    blocks: list[Any]
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "team": TEAM_ID,
                               "ts": self.ts, "text": self.text, "blocks": self.blocks}
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
            if self.reply_broadcast:
                out["subtype"] = "thread_broadcast"
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.versions:
            out["edited"] = {"user": BOT_USER_ID, "ts": self.versions[-1]["replaced_at"]}
        return out


@dataclass
class Channel:
    id: str
    name: str
    member: bool = True
    archived: bool = False
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """One Web API call as received: method, decoded arguments and how they were encoded."""

    method: str
    args: Mapping[str, Any]
    content_type: str


class SlackStandIn(Emulator):
    """Slack's Web API for one workspace with one bot. The token it accepts is ``secret``."""

    product: ClassVar[str] = "slack"
    secret_label: ClassVar[str] = "token"
    default_user: ClassVar[str] = "chgsync-bot"
    default_secret: ClassVar[str] = "xoxb-chgsync-standin-token"

    _auth = threading.local()  # why the current request's token was refused (each request has a thread)

    # -- state -----------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.calls: list[Call] = []
        self.edits_allowed = True  # False: chat.update answers edit_window_closed, as workspaces can set
        self._refusals: list[str] = []
        self._seq = 0
        self.add_channel("changes")
        self.add_channel("general")

    def load_seed(self, data: Mapping[str, Any]) -> None:
        """``{"channels": ["ops", {"name": "cab", "id": "C0CAB00001", "member": false}]}``."""
        entries = data.get("channels", [])
        if not isinstance(entries, list):
            raise InputError("seed", "'channels' must be a list of names or {name, id, member, archived}.")
        for entry in entries:
            if isinstance(entry, str):
                self.add_channel(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                self.add_channel(entry["name"], entry.get("id"), member=bool(entry.get("member", True)),
                                 archived=bool(entry.get("archived", False)))
            else:
                raise InputError("seed", f"channel entry {entry!r} needs at least a 'name'.")

    def add_channel(self, name: str, channel_id: str | None = None, *, member: bool = True,
                    archived: bool = False) -> str:
        """Create a public channel (the bot a member unless ``member=False``); return its ID."""
        with self.lock:
            name = name.lstrip("#")
            channel_id = channel_id or f"C{len(self.channels) + 1:08d}X"
            self.channels[channel_id] = Channel(channel_id, name, member, archived)
            return channel_id

    def refuse_next(self, error: str, n: int = 1) -> None:
        """Answer the next ``n`` API calls with HTTP 200 ``{"ok": false, "error": error}``."""
        with self.lock:
            self._refusals.extend([error] * n)

    def channel(self, ref: str) -> Channel:
        """A channel by ID, ``#name`` or name (for assertions)."""
        found = self._find(ref, names=True)
        if found is None:
            raise KeyError(f"The stand-in has no channel {ref!r}.")
        return found

    def roots(self, ref: str) -> list[Message]:
        """The channel's top-level messages, oldest first (what scrolling the channel shows)."""
        return [m for m in self.channel(ref).messages if m.thread_ts is None]

    def replies(self, ref: str, ts: str) -> list[Message]:
        """The thread under the message ``ts``, oldest first."""
        return [m for m in self.channel(ref).messages if m.thread_ts == ts]

    def _find(self, ref: str, *, names: bool) -> Channel | None:
        if ref in self.channels:
            return self.channels[ref]
        if names:
            name = ref.lstrip("#")
            return next((c for c in self.channels.values() if c.name == name), None)
        return None

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{int(self.clock().timestamp())}.{self._seq:06d}"

    # -- auth and errors -------------------------------------------------------------------------------
    def authenticated_user(self, request: Request) -> str | None:
        token: str | None = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer "):].strip()
        elif request.mimetype in _FORMS:
            token = request.form.get("token")  # Slack still takes a token argument in form bodies
        self._auth.error = "not_authed" if not token else "invalid_auth"
        return self.user if token and hmac.compare_digest(token, self.secret) else None

    def unauthorized(self) -> Response:
        return _answer({"ok": False, "error": getattr(self._auth, "error", "invalid_auth")})

    def error_response(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        response = _answer({"ok": False, "error": _ERROR_CODES.get(status, "request_failed")}, status)
        response.headers.update(dict(headers or {}))
        return response

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["base_url"] = f"{self.base_url}/api/"
        info["channels"] = ", ".join(f"#{c.name} ({c.id})" for c in self.channels.values())
        return info

    # -- the API ---------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/api/([A-Za-z]+(?:\.[A-Za-z]+)+)", request.path)
        method = match.group(1) if match else request.path
        handler = {"auth.test": self._auth_test, "chat.postMessage": self._post_message,
                   "chat.update": self._update}.get(method)
        if handler is None:
            return _answer({"ok": False, "error": "unknown_method", "req_method": method}, 404)
        try:
            args = _arguments(request)
            self.calls.append(Call(method, args, request.mimetype))
            if self._refusals:
                raise SlackRefusal(self._refusals.pop(0))
            return _answer({"ok": True, **handler(args)})
        except SlackRefusal as refusal:
            body: dict[str, Any] = {"ok": False, "error": refusal.error}
            if refusal.errors:
                body["errors"] = refusal.errors
                body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in refusal.errors]}
            return _answer(body)

    def _auth_test(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"url": "https://chgsync-standin.slack.com/", "team": "chgsync stand-in", "user": self.user,
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _post_message(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._writable(args.get("channel"), names=True)
        text, blocks = _content(args)
        metadata = _metadata(args.get("metadata"))
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            parent = next((m for m in channel.messages if m.ts == str(thread_ts)), None)
            if parent is None:
                raise SlackRefusal("thread_not_found")
            thread_ts = parent.thread_ts or parent.ts  # a reply to a reply joins the parent's thread
        message = Message(self._next_ts(), channel.id, text, blocks, metadata, thread_ts,
                          bool(thread_ts) and _flag(args.get("reply_broadcast")))
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_json()}

    def _update(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._writable(args.get("channel"), names=False)  # chat.update takes IDs only
        if not self.edits_allowed:
            raise SlackRefusal("edit_window_closed")
        message = next((m for m in channel.messages if m.ts == str(args.get("ts") or "")), None)
        if message is None:
            raise SlackRefusal("message_not_found")
        text, blocks = _content(args)
        metadata = _metadata(args.get("metadata")) if "metadata" in args else message.metadata
        message.versions.append({"text": message.text, "blocks": message.blocks, "metadata": message.metadata,
                                 "replaced_at": self._next_ts()})
        message.text, message.blocks, message.metadata = text, blocks, metadata
        return {"channel": channel.id, "ts": message.ts, "text": text, "message": message.as_json()}

    def _writable(self, ref: Any, *, names: bool) -> Channel:
        channel = self._find(ref, names=names) if isinstance(ref, str) and ref else None
        if channel is None:
            raise SlackRefusal("channel_not_found")
        if channel.archived:
            raise SlackRefusal("is_archived")
        if not channel.member:
            raise SlackRefusal("not_in_channel")
        return channel


# -- decoding ------------------------------------------------------------------------------------------
def _answer(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _arguments(request: Request) -> dict[str, Any]:
    """The call's arguments from the query string and a JSON or form body, JSON strings decoded."""
    args: dict[str, Any] = dict(request.args)
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise SlackRefusal("invalid_json")
        args.update(body)
    elif request.mimetype in _FORMS:
        args.update(request.form.to_dict())
    elif request.get_data():
        raise SlackRefusal("invalid_form_data")
    args.pop("token", None)
    for key, error in (("blocks", "invalid_blocks_format"), ("metadata", "invalid_metadata_format")):
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key]) if args[key] else None
            except ValueError:
                raise SlackRefusal(error) from None
    return args


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true"))


def _content(args: Mapping[str, Any]) -> tuple[str, list[Any]]:
    text, blocks = args.get("text"), args.get("blocks")
    if not text and not blocks:
        raise SlackRefusal("no_text")
    if text is not None and not isinstance(text, str):
        raise SlackRefusal("invalid_arguments", ["text must be a string [json-pointer:/text]"])
    if text and len(text) > MAX_TEXT:
        raise SlackRefusal("msg_too_long")
    if blocks:
        problems = check_blocks(blocks)
        if problems:
            raise SlackRefusal("invalid_blocks", problems)
    return text or "", list(blocks or [])


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SlackRefusal("invalid_metadata_format")
    event_type, payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type) or not isinstance(payload, dict):
        raise SlackRefusal("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}
