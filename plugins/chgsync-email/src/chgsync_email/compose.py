"""A notification as a MIME message: who receives it, what it says, and where it threads.

The Message-ID is derived from the notification's key rather than drawn at random, so the outbox's
retry of a mail that did in fact arrive carries the same Message-ID and the receiving client shows
one message, not two. Every later mail about the change names the first one in ``In-Reply-To`` and
``References``, which is what mail clients thread on.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from chgsync.notify import Notification

from .settings import EmailSettings, parse_address

log = logging.getLogger(__name__)

_SLUG = re.compile(r"[^a-z0-9-]+")


def recipients(notification: Notification, copies: Iterable[str]) -> list[str]:
    """Stakeholder addresses, then the configured copies; each address once, as written first.

    A stakeholder contact that is not a usable address is skipped with a warning: one bad contact
    must not keep the mail from everybody else.
    """
    seen: set[str] = set()
    out: list[str] = []
    for value in (*notification.emails, *copies):
        addr = parse_address(value)
        if addr is None:
            log.warning("skipping %r, a contact of %s that is not an email address", value, notification.change_id)
            continue
        if addr.lower() not in seen:
            seen.add(addr.lower())
            out.append(value)
    return out


def message_id(notification: Notification, domain: str) -> str:
    """``<chg0012345.<hash of the key>@<sender's domain>>``: the same for every retry of one message."""
    digest = hashlib.sha256(notification.key.encode()).hexdigest()[:24]
    slug = _SLUG.sub("-", notification.change_id.lower()).strip("-")[:40] or "change"
    try:
        host = domain.encode("idna").decode("ascii")
    except UnicodeError:
        host = "chgsync.invalid"
    return f"<{slug}.{digest}@{host}>"


def compose(notification: Notification, settings: EmailSettings, to: list[str], now: datetime) -> EmailMessage:
    """The mail for ``notification``: plain text with an HTML alternative, threaded on ``thread``."""
    msg = EmailMessage()
    prefix = settings.subject_prefix.format(change_id=notification.change_id)
    subject = " ".join(notification.subject.split())  # a header is one line
    msg["Subject"] = f"{prefix} {subject}".strip()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(notification, settings.sender_domain)
    if notification.thread:
        parent = _msgid(notification.thread)
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    # Out-of-office and other robots must not answer a notice (RFC 3834; Exchange's own header).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Chgsync-Change"] = notification.change_id
    msg["X-Chgsync-Event"] = notification.event
    if notification.emergency or notification.severity == "critical":
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    msg.set_content(text_body(notification))
    msg.add_alternative(html_body(notification), subtype="html")
    return msg


def envelope(to: list[str]) -> list[str]:
    """The bare addresses of header values (``Name <a@b>`` gives ``a@b``) for RCPT TO."""
    return [addr for _, addr in getaddresses(to)]


def text_body(n: Notification) -> str:
    lines = [*_banner(n), n.text.strip(), ""]
    if n.facts:
        width = max(len(label) for label in n.facts) + 1
        lines += [f"{label + ':':<{width}} {value}" for label, value in n.facts.items()] + [""]
    if n.links:
        lines += ["Tickets:", *(f"  {name}: {url}" for name, url in n.links.items()), ""]
    lines += ["-- ", f"chgsync, change {n.change_id} ({n.event})"]
    return "\n".join(lines) + "\n"


def html_body(n: Notification) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html><body style=\"font-family: sans-serif; font-size: 14px;\">"]
    parts += [f"<p><strong>{e(line)}</strong></p>" for line in _banner(n) if line]
    parts.append(f"<h2 style=\"font-size: 16px;\">{e(n.subject)}</h2>")
    for paragraph in re.split(r"\n\s*\n", n.text.strip()):
        if paragraph:
            parts.append("<p>" + "<br>\n".join(e(line) for line in paragraph.splitlines()) + "</p>")
    if n.facts:
        parts.append(_facts_table(n.facts))
    if n.links:
        parts.append("<p>Tickets: " + " &middot; ".join(_link(name, url) for name, url in n.links.items()) + "</p>")
    parts.append(f"<p style=\"color: #666; font-size: 12px;\">chgsync, change {e(n.change_id)} "
                 f"({e(n.event)})</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _banner(n: Notification) -> list[str]:
    if n.emergency:
        status = f" ({n.status})" if n.status else ""
        return [f"EMERGENCY CHANGE{status}", ""]
    if n.severity == "critical":
        return ["CRITICAL", ""]
    return []


def _facts_table(facts: Mapping[str, str]) -> str:
    cell = "style=\"padding: 2px 12px 2px 0; text-align: left; vertical-align: top;\""
    rows = "\n".join(f"<tr><th {cell}>{html.escape(str(k))}</th><td {cell}>{html.escape(str(v))}</td></tr>"
                     for k, v in facts.items())
    return f"<table style=\"border-collapse: collapse;\">\n{rows}\n</table>"


def _link(name: str, url: str) -> str:
    """An anchor for web addresses only: a ``javascript:`` link in a ticket URL must stay text."""
    if url.lower().startswith(("https://", "http://")):
        return f"<a href=\"{html.escape(url, quote=True)}\">{html.escape(name)}</a>"
    return f"{html.escape(name)}: {html.escape(url)}"


def _msgid(value: str) -> str:
    value = " ".join(value.split())
    return value if value.startswith("<") and value.endswith(">") else f"<{value}>"
