"""The Teams notifier's settings, as the daemon hands them over (``url_env`` already resolved to ``url``,
or resolved here when the notifier is built outside the daemon).

The Workflows trigger URL carries its own credential (the ``sig`` query parameter): whoever has the
URL can post to the channel. So it is a :class:`pydantic.SecretStr`, and no error raised here ever
repeats it, not even in part. Unknown keys are errors so that a typo fails at start-up instead of
posting nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from chgsync import settings as component_settings
from chgsync.errors import ConfigError, Problem

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

_SIG = re.compile(r"(?i)(\bsig=)[^&\s'\"<>)]+")


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with every ``sig=`` value (and ``secret`` itself, wherever it appears) masked.

    A very short ``secret`` is left to the ``sig=`` rule: masking it everywhere would garble the text.
    """
    out = _SIG.sub(r"\1***", text)
    if secret and len(secret) >= 8:
        out = out.replace(secret, "***")
    return out


def origin(url: str) -> str:
    """scheme://host[:port] of ``url``: the only part of a trigger URL fit for a log line."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def signature(url: str) -> str | None:
    """The ``sig`` query parameter of ``url`` (decoded), if there is one."""
    values = parse_qs(urlsplit(url).query).get("sig")
    return values[0] if values else None


def _retired_connector(host: str, path: str) -> bool:
    # Office 365 connector ("Incoming Webhook") URLs: <tenant>.webhook.office.com/webhookb2/…
    # and the older outlook.office.com/webhook/… form.
    return host.endswith(".webhook.office.com") or (
        host in ("outlook.office.com", "outlook.office365.com") and path.startswith("/webhook"))


class TeamsSettings(BaseModel):
    """``notifiers.<name>`` with ``type: teams``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SecretStr = Field(description="The Workflows trigger URL (\"When a Teams webhook request is received\"); "
                           "it carries its own signature, so set url_env.")
    timeout: float = Field(30.0, gt=0, le=300, description="Seconds to wait for the trigger's answer.")
    card_version: Literal["1.4", "1.5"] = Field("1.4", description="Adaptive Card schema version the card "
                                                "declares; 1.4 renders on every Teams client.")
    full_width: bool = Field(True, description="Ask Teams to draw the card across the whole conversation width.")

    @field_validator("url", mode="before")
    @classmethod
    def _workflow_url(cls, v: Any) -> Any:
        # Each message below describes the problem without repeating any part of the value.
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("expected the Workflows trigger URL as text; check the variable url_env names")
        parts = urlsplit(raw.strip())
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError("expected an https:// Workflows trigger URL; check the variable url_env names")
        if _retired_connector(host, parts.path):
            raise ValueError("this is an Office 365 connector (Incoming Webhook) URL, and those connectors are "
                             "retired; create a Workflows flow 'When a Teams webhook request is received' → "
                             "'Post card in a chat or channel' and use its trigger URL")
        if parts.scheme == "http" and host not in LOOPBACK:
            raise ValueError("expected https://; plain http is accepted only for a stand-in on loopback")
        if signature(raw) is None:
            raise ValueError("expected a Workflows trigger URL with its signature (the sig= query parameter); "
                             "copy the whole URL from the flow's trigger")
        return raw.strip()


def parse_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> TeamsSettings:
    """``settings`` checked; a :class:`ConfigError` names every bad key and what it expects.

    Beyond the URL itself, which no message repeats, any ``sig=`` value is masked: one pasted into
    the wrong setting would otherwise be quoted back.
    """
    try:
        return component_settings.parse_settings(TeamsSettings, settings, component="teams notifier",
                                                 secrets={"url": "the Workflows trigger URL"},
                                                 environ=environ)
    except ConfigError as exc:
        raise ConfigError(None, [Problem(p.field, redact(p.message)) for p in exc.problems]) from None
