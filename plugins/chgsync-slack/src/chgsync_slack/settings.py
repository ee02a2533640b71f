"""The Slack notifier's settings, as the daemon hands them over (``token_env`` already resolved, or
resolved here when the notifier is built outside the daemon).

Unknown keys are errors so that a typo (``chanel``) fails at start-up instead of posting nowhere.
The token is a :class:`pydantic.SecretStr` so that it never shows in a repr, a log line or an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from chgsync import settings as component_settings

DEFAULT_BASE_URL = "https://slack.com/api/"

# A channel ID (C…, G… private, D… direct) or a name, with or without the leading '#'.
_CHANNEL = re.compile(r"^(#?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{6,})$")


class SlackSettings(BaseModel):
    """``notifiers.<name>`` with ``type: slack``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr = Field(description="Bot token (xoxb-…) with the chat:write scope; set token_env.")
    channel: str = Field(description="Channel ID (C0123ABCD) or name (#changes) the bot is a member of.")
    base_url: str = Field(DEFAULT_BASE_URL, description="Web API root; tests point it at the stand-in.")
    timeout: float = Field(30.0, gt=0, le=300, description="Seconds to wait for each API answer.")
    min_interval: float = Field(1.0, ge=0, le=60, description="Seconds between posts to the channel "
                                "(Slack allows about one message per second per channel).")

    @field_validator("token")
    @classmethod
    def _bot_token(cls, v: SecretStr) -> SecretStr:
        # Never echo the value: it is a credential.
        if not re.match(r"^xox[a-z]-[A-Za-z0-9-]+$", v.get_secret_value()):
            raise ValueError("expected a Slack token such as xoxb-…; check the variable token_env names")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        if not _CHANNEL.match(v):
            raise ValueError(f"expected a channel ID such as C0123ABCD or a name such as #changes, got {v!r}")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        v = component_settings.http_url(v, example=DEFAULT_BASE_URL)
        return v if v.endswith("/") else v + "/"  # slack-sdk joins method names onto it


def parse_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> SlackSettings:
    """``settings`` checked; a ConfigError names every bad key and what it expects."""
    return component_settings.parse_settings(SlackSettings, settings, component="slack notifier",
                                             secrets={"token": "a Slack bot token (xoxb-…)"}, environ=environ)
