"""The webhook notifier's settings: a pydantic model whose errors become chgsync ConfigErrors.

Unknown keys are errors (a misspelt ``secret_env`` must not leave deliveries unsigned), the secret
is required, and static headers may not override the ones the receiver relies on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from chgsync import settings as component_settings
from chgsync.errors import ConfigError, Problem
from chgsync.settings import CaBundle

COMPONENT = "webhook notifier"
MIN_SECRET = 16
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP field name (RFC 9110 token)
RESERVED = ("content-type", "content-length", "host", "user-agent", "x-chgsync-")


class WebhookSettings(BaseModel):
    """One ``notifiers:`` entry of ``type: webhook``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Where to POST; url_env works for addresses that carry a token.")
    secret: SecretStr = Field(description="The shared HMAC key (secret_env).")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for the receiver's answer.")
    headers: dict[str, str] = Field(default_factory=dict, description="Static headers added to every delivery.")
    ca_file: CaBundle | None = Field(None, description="PEM bundle that signs the receiver's certificate.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return component_settings.http_url(v, example="https://hooks.example.com/chgsync")

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < MIN_SECRET:
            raise ValueError(f"expected a secret of at least {MIN_SECRET} characters (for instance the output "
                             "of 'openssl rand -hex 32')")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not _TOKEN.match(name):
                raise ValueError(f"{name!r} is not a usable header name")
            if name.lower().startswith(RESERVED):
                raise ValueError(f"{name!r} is set by chgsync itself and cannot be overridden")
            if "\r" in value or "\n" in value:
                raise ValueError(f"the value of {name!r} must be one line")
        return v

    @property
    def origin(self) -> str:
        """scheme://host[:port]: what messages name, since paths and queries may carry tokens."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{re.split(r'[/?#]', rest, maxsplit=1)[0].rpartition('@')[2]}"


def load_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> WebhookSettings:
    """``settings`` validated; a ConfigError names each setting at fault."""
    if "secret" not in settings and "secret_env" not in settings:
        raise ConfigError(None, Problem("secret", "deliveries must be signed: set secret_env to the variable "
                                                  f"that holds the shared secret ({COMPONENT})."))
    return component_settings.parse_settings(WebhookSettings, settings, component=COMPONENT, environ=environ,
                                             secrets={"secret": "the shared HMAC secret"})
