"""The Grafana marker sink's settings, as the daemon hands them over.

The daemon replaces ``token_env`` by ``token`` before the sink sees it; :func:`parse_settings` also
resolves ``token_env`` itself (through :mod:`chgsync.settings`) so the sink can be built outside the
daemon (a script, a test) the same way. Unknown keys are errors, so a typo (``dashbaord_uid``) fails
at start-up instead of quietly sending org-wide annotations. The token is a
:class:`pydantic.SecretStr` and never shows in a repr, a log line or an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from chgsync import settings as component_settings
from chgsync.settings import SettingError

COMPONENT = "grafana marker sink"
# Grafana's own rule for dashboard UIDs: at most 40 letters, digits, '-' and '_'.
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class GrafanaSettings(BaseModel):
    """``markers.<name>`` with ``type: grafana``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Grafana's root URL (https://grafana.example.com, or with its sub-path).")
    token: SecretStr = Field(description="A service account token (glsa_…) allowed annotations:create and "
                             "annotations:write; set token_env.")
    dashboard_uid: str | None = Field(None, description="Tie annotations to this dashboard; default: "
                                      "organisation annotations, shown by tag on any dashboard.")
    panel_id: int | None = Field(None, ge=1, description="Tie annotations to one panel of dashboard_uid.")
    org_id: int | None = Field(None, ge=1, description="Sent as X-Grafana-Org-Id; must be the token's organisation.")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for each answer.")
    html_links: bool = Field(True, description="Write the change's links as <a> elements (Grafana's tooltip "
                             "renders them); false writes 'name: url'.")

    @field_validator("url")
    @classmethod
    def _root_url(cls, v: str) -> str:
        v = component_settings.http_url(v, example="https://grafana.example.com").rstrip("/")
        if v.endswith("/api"):
            raise ValueError(f"expected Grafana's root URL without /api (the sink adds /api/annotations), got {v!r}")
        return v

    @field_validator("token")
    @classmethod
    def _usable_token(cls, v: SecretStr) -> SecretStr:
        # Never echo the value: it is a credential.
        raw = v.get_secret_value()
        if not raw.strip() or any(c.isspace() for c in raw):
            raise ValueError("expected a service account token such as glsa_…; check the variable token_env names")
        return v

    @field_validator("dashboard_uid")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        if v is not None and not _UID.match(v):
            raise ValueError(f"expected a dashboard UID (up to 40 letters, digits, '-' and '_'), got {v!r}")
        return v

    @model_validator(mode="after")
    def _panel_needs_dashboard(self) -> Self:
        if self.panel_id is not None and self.dashboard_uid is None:
            raise SettingError("panel_id", "panel_id needs dashboard_uid: a panel is only known within its "
                                           "dashboard")
        return self


def parse_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> GrafanaSettings:
    """``settings`` checked; a ConfigError names every bad key and what it expects."""
    return component_settings.parse_settings(GrafanaSettings, settings, component=COMPONENT, environ=environ,
                                             secrets={"token": "a Grafana service account token"})
