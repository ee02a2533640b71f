"""A notice as an Adaptive Card inside the message envelope a Workflows trigger expects.

Layout: a tinted header (severity line, the subject, the change's ID and status), the notice's
text, a FactSet of the change's facts, and one ``Action.OpenUrl`` button per ticket link. The tint
carries the urgency so a channel can be scanned by colour: attention for critical and emergency
notices, warning for warnings, good for completions, a neutral emphasis otherwise.

Teams refuses a post of more than about 28 KB, and a notice's text is free-form (an emergency's
root-cause write-up can be long), so :func:`render` shortens the text, then fact values, until the
request body fits a budget a little below that limit. Cutting is better than losing the notice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chgsync.notify import Notification

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
#: Bytes of request body aimed for; Teams' own limit is about 28 KB and the flow adds its own wrapping.
BUDGET = 27_000
SHORTENED = " … (shortened to fit Teams' card size limit)"
MIN_TEXT = 280
FACT_LIMIT = 300
SUBJECT_LIMIT = 300

_LABELS = {"jira": "Jira", "servicenow": "ServiceNow", "github": "GitHub", "gitlab": "GitLab",
           "statuspage": "Statuspage", "pagerduty": "PagerDuty"}
_GOOD_EVENTS = frozenset({"implementation_completed", "emergency_resolved"})


@dataclass(frozen=True)
class Look:
    """Container style of the header and colour of its severity line (Adaptive Card enum values)."""

    style: str
    colour: str


def look(notification: Notification) -> Look:
    """How urgent the notice looks: severity first, then emergency, then a completed event."""
    severity = notification.severity.lower()
    if severity == "critical":
        return Look("attention", "attention")
    if notification.event in _GOOD_EVENTS and severity != "warning":
        return Look("good", "good")
    if notification.emergency:
        return Look("attention", "attention")
    if severity == "warning":
        return Look("warning", "warning")
    return Look("emphasis", "accent")


def label(name: str) -> str:
    """A link's name as a person would write it (``servicenow`` → ServiceNow)."""
    return _LABELS.get(name.lower(), name.replace("_", " ").replace("-", " ").strip() or "ticket")


def is_url(value: str) -> bool:
    return value.lower().startswith(("https://", "http://"))


def headline(notification: Notification) -> str:
    what = notification.event.replace("_", " ")
    what = ("CAB" + what[3:]) if what.startswith("cab") else what[:1].upper() + what[1:]
    severity = notification.severity.lower()
    parts = ["EMERGENCY CHANGE"] if notification.emergency else []
    if severity in ("warning", "critical"):
        parts.append(severity.upper())
    return " · ".join([*parts, what])


def facts(notification: Notification) -> list[tuple[str, str]]:
    """The FactSet's rows: the notice's facts, then status, affected systems and non-URL references."""
    rows = [(str(k), str(v)) for k, v in notification.facts.items() if str(v).strip()]
    titles = {t.lower() for t, _ in rows}
    if notification.status and "status" not in titles:
        rows.append(("Status", notification.status))
    if notification.components and "affected" not in titles:
        rows.append(("Affected", ", ".join(notification.components)))
    rows += [(label(name), ref) for name, ref in notification.links.items() if ref and not is_url(ref)]
    return rows


def card(notification: Notification, *, version: str = "1.4", full_width: bool = True,
         subject: str | None = None, text: str | None = None,
         rows: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The AdaptiveCard object; ``subject``, ``text`` and ``rows`` replace the notice's own when cut."""
    shade = look(notification)
    title = (notification.subject if subject is None else subject) or notification.change_id
    header: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline(notification), "size": "Small", "weight": "Bolder",
         "color": shade.colour, "wrap": True},
        {"type": "TextBlock", "text": title, "size": "Large", "weight": "Bolder", "wrap": True, "spacing": "None"},
    ]
    sub = notification.change_id
    if notification.status:
        sub += f" · {notification.status}"
    header.append({"type": "TextBlock", "text": sub, "isSubtle": True, "wrap": True, "spacing": "None"})
    body: list[dict[str, Any]] = [{"type": "Container", "style": shade.style, "bleed": True, "items": header}]
    text = notification.text if text is None else text
    if text.strip():
        body.append({"type": "TextBlock", "text": text, "wrap": True})
    rows = facts(notification) if rows is None else rows
    if rows:
        body.append({"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in rows]})
    content: dict[str, Any] = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": version, "body": body}
    actions = [{"type": "Action.OpenUrl", "title": f"Open in {label(name)}", "url": url}
               for name, url in notification.links.items() if url and is_url(url)]
    if actions:
        content["actions"] = actions
    if full_width:
        content["msteams"] = {"width": "Full"}
    return content


def envelope(content: Mapping[str, Any]) -> dict[str, Any]:
    """The message a Workflows trigger posts: one Adaptive Card attachment."""
    return {"type": "message",
            "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": dict(content)}]}


def encode(payload: Mapping[str, Any]) -> bytes:
    # UTF-8 rather than \u escapes: a non-ASCII character then costs 2-4 bytes instead of 6-12.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cut(value: str, length: int) -> str:
    length = max(0, length)
    return value if len(value) <= length else value[:length].rstrip() + SHORTENED


def _cost(value: str) -> int:
    """Bytes ``value`` takes in the encoded body (escapes included)."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8")) - 2


def _cut_bytes(value: str, size: int) -> str:
    """``value`` cut to at most ``size`` UTF-8 bytes (never mid-character), with the note appended."""
    kept = value.encode("utf-8")[: max(0, size)].decode("utf-8", "ignore").rstrip()
    return kept + SHORTENED


class TooLarge(ValueError):
    """Even with the text and facts cut, the card is over the budget (hundreds of links, say)."""

    def __init__(self, size: int, budget: int) -> None:
        self.size, self.budget = size, budget
        super().__init__(f"the card is {size} bytes even after shortening its text and facts; Teams takes "
                         f"about 28 KB and chgsync aims for {budget} bytes")


def render(notification: Notification, *, version: str = "1.4", full_width: bool = True,
           budget: int = BUDGET) -> tuple[dict[str, Any], bytes]:
    """The envelope and its encoded body, shortened until the body is at most ``budget`` bytes."""
    subject, text, rows = notification.subject, notification.text, facts(notification)
    for _ in range(len(rows) + 8):
        payload = envelope(card(notification, version=version, full_width=full_width, subject=subject, text=text,
                                rows=rows))
        raw = encode(payload)
        over = len(raw) - budget
        if over <= 0:
            return payload, raw
        if len(text) > MIN_TEXT + len(SHORTENED):
            # Drop what is over (in bytes, as encoded) and room for the note; never below MIN_TEXT bytes,
            # after which the facts go next.
            keep = max(MIN_TEXT, _cost(text) - over - _cost(SHORTENED))
            text = _cut_bytes(text, keep)
        elif any(len(v) > FACT_LIMIT + len(SHORTENED) for _, v in rows):
            rows = [(t, _cut(v, FACT_LIMIT)) for t, v in rows]
        elif rows:
            rows = rows[:-1]
        elif len(subject) > SUBJECT_LIMIT + len(SHORTENED):
            subject = _cut(subject, SUBJECT_LIMIT)
        else:
            break
    raise TooLarge(len(raw), budget)
