"""The Statuspage notifier's settings, checked at start-up so a typo fails there and not mid-incident.

The daemon hands the section over with ``api_key_env`` already replaced by ``api_key``; code that
builds the notifier itself may still pass ``api_key_env``, which is read here the same way. The key
is a :class:`pydantic.SecretStr` and no message ever repeats it: a Statuspage key is full read/write
on every page of its organisation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from chgsync import settings as component_settings

DEFAULT_BASE_URL = "https://api.statuspage.io/v1"
WHO = "statuspage notifier"

_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")  # page and component ids are short lowercase alphanumerics


class StatuspageSettings(BaseModel):
    """``notifiers.<name>`` with ``type: statuspage``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr = Field(description="A Statuspage API key (API info in the management UI); set api_key_env.")
    page_id: str = Field(description="The page the incidents go on (the id in the page's management URL).")
    base_url: str = Field(DEFAULT_BASE_URL, description="Manage API root; tests point it at the stand-in.")
    components: dict[str, str] | None = Field(
        None, description="System name → component id. Without it, the page's components are listed once "
        "and matched to system names, ignoring case.")
    timeout: float = Field(30.0, gt=0, le=300, description="Seconds to wait for each API answer.")
    min_interval: float = Field(1.0, ge=0, le=60, description="Seconds between two API calls "
                                "(Statuspage allows one request per second per key).")
    deliver_notifications: bool = Field(True, description="Whether Statuspage notifies the page's subscribers "
                                        "of each incident update.")

    @field_validator("api_key")
    @classmethod
    def _key(cls, v: SecretStr) -> SecretStr:
        key = v.get_secret_value()
        if not key or key != key.strip() or any(c.isspace() for c in key):
            # Never echo the value: it is a credential.
            raise ValueError("expected a Statuspage API key without spaces; check the variable api_key_env names")
        return v

    @field_validator("page_id")
    @classmethod
    def _page_id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"expected a page id of letters and digits such as kctbh9vrtdwd, got {v!r}")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        return component_settings.http_url(v, example=DEFAULT_BASE_URL).rstrip("/")

    @field_validator("components")
    @classmethod
    def _components(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        for system, component_id in v.items():
            if not system.strip():
                raise ValueError("expected system names as keys, got an empty one")
            if not _ID.match(component_id):
                raise ValueError(f"expected a component id of letters and digits for {system!r}, got {component_id!r}")
        return v


def parse_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> StatuspageSettings:
    """``settings`` checked; a ConfigError names every bad key and what it expects."""
    return component_settings.parse_settings(StatuspageSettings, settings, component=WHO, environ=environ,
                                             secrets={"api_key": "the Statuspage API key"})
