"""Settings of this package's components: pydantic models whose errors become chgsync ConfigErrors.

The daemon hands each component its section of the configuration as a mapping (``*_env`` keys
already replaced by their values; :mod:`chgsync.settings` does the same for a component built
outside the daemon). A typo must not silently drop authentication, so unknown keys are errors, and
each problem names its setting.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chgsync.settings import SettingError, http_url

#: What the ``*_env`` variables of these components hold, for chgsync.settings.parse_settings.
SECRETS = {"password": "the basic-auth password", "token": "the bearer token"}


class HttpSettings(BaseModel):
    """What every HTTP client here needs: where, how long to wait, and optional basic auth."""

    model_config = ConfigDict(extra="forbid")

    url: str
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for an answer.")
    user: str | None = None
    password: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        return http_url(v, example="http://prometheus:9090").rstrip("/")

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.user is None) != (self.password is None):
            missing = "password" if self.password is None else "user"
            hint = " (password comes from password_env)" if missing == "password" else ""
            raise SettingError(missing, f"basic auth needs both user and password; set {missing} too{hint}")
        return self

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.user is not None and self.password is not None else None
