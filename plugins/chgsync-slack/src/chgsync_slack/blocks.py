"""Block Kit layouts: the root card a channel shows for a change, and the replies in its thread.

The root card is rebuilt from every notice and written over the root message, so the channel always
shows the change's current state while the thread keeps the history. Every layout stays inside
Slack's documented limits (header 150 characters, section text 3000, ten fields of 2000, 50 blocks);
text is cut with an ellipsis rather than refused, because a shortened notice beats a lost one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from chgsync.notify import Event, Notification

HEADER_MAX = 150
TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
BUTTONS_MAX = 25
URL_MAX = 3000
BLOCKS_MAX = 50
FALLBACK_MAX = 4000  # Slack advises keeping the top-level text under 4,000 characters

METADATA_EVENT_TYPE = "chgsync_change"

# Replies about these also appear in the channel, not only in the thread: people act on them.
BROADCAST = frozenset({Event.IMPLEMENTATION_STARTED, Event.IMPLEMENTATION_COMPLETED, Event.ROLLBACK,
                       Event.ROLLBACK_RECOMMENDED, Event.VALIDATION_FAILED})

Block = dict[str, Any]

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn; anything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def broadcast(notification: Notification) -> bool:
    return Event.of(notification.event) in BROADCAST


def title(notification: Notification) -> str:
    """``CHG-1: subject``; the relay's subjects already start with the change ID."""
    subject = notification.subject.strip() or notification.event
    return subject if subject.startswith(notification.change_id) else f"{notification.change_id}: {subject}"


def _event_label(event: str) -> str:
    return event.replace("_", " ").capitalize()


def _mentions(recipients: Iterable[str]) -> list[str]:
    """Slack user IDs become mentions; handles are shown as written (only IDs notify anyone)."""
    out = []
    for r in recipients:
        if _SLACK_ID.match(r):
            out.append(f"<@{r}>")
        elif r.startswith("@"):
            out.append(escape(r))
    return out


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://")) and len(value) <= URL_MAX


def _context(notification: Notification) -> Block:
    parts = [f"*{_event_label(notification.event)}*"]
    if notification.severity != "info":
        parts.append(f"severity {escape(notification.severity)}")
    parts += [f"{escape(system)}: {escape(ref)}" for system, ref in notification.links.items() if not _is_url(ref)]
    mentions = _mentions(notification.recipients)
    if mentions:
        parts.append("cc " + " ".join(mentions))
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(" · ".join(parts), TEXT_MAX)}]}


def _fields(notification: Notification) -> list[Block]:
    fields = [{"type": "mrkdwn", "text": clip(f"*{escape(label)}*\n{escape(value)}", FIELD_MAX)}
              for label, value in notification.facts.items() if value]
    return [{"type": "section", "fields": fields[i:i + FIELDS_PER_SECTION]}
            for i in range(0, len(fields), FIELDS_PER_SECTION)]


def _buttons(notification: Notification) -> list[Block]:
    buttons = [{"type": "button", "action_id": f"chgsync_link_{i}", "url": url,
                "text": {"type": "plain_text", "text": clip(f"Open in {system}", BUTTON_TEXT_MAX)}}
               for i, (system, url) in enumerate(notification.links.items()) if _is_url(url)]
    return [{"type": "actions", "elements": buttons[:BUTTONS_MAX]}] if buttons else []


def card(notification: Notification) -> list[Block]:
    """The root message: what the change is and where it stands now."""
    alarm = notification.emergency or notification.severity == "critical"
    header = (":rotating_light: " if alarm else "") + title(notification)
    blocks: list[Block] = [{"type": "header",
                            "text": {"type": "plain_text", "text": clip(header, HEADER_MAX), "emoji": True}}]
    if notification.text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(notification.text), TEXT_MAX)}})
    blocks += _fields(notification)[: BLOCKS_MAX - 4]  # room for text, buttons and context
    blocks += _buttons(notification)
    blocks.append(_context(notification))
    return blocks


def card_text(notification: Notification) -> str:
    """The root's plain text: what notifications and screen readers use instead of the blocks."""
    state = notification.facts.get("State")
    head = f"{title(notification)} ({state})" if state else title(notification)
    return clip(escape(head), FALLBACK_MAX)


def reply(notification: Notification) -> list[Block]:
    """A thread reply: the notice's own words and what it is about."""
    body = notification.text or title(notification)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(body), TEXT_MAX)}},
            _context(notification)]


def reply_text(notification: Notification) -> str:
    return clip(escape(notification.text or title(notification)), FALLBACK_MAX)


def metadata(notification: Notification) -> dict[str, Any]:
    """Machine-readable tags on every message, so a workspace search or an app can find them."""
    return {"event_type": METADATA_EVENT_TYPE,
            "event_payload": {"change_id": notification.change_id, "event": notification.event,
                              "key": notification.key}}
