"""Settings of this package's components: pydantic models whose errors become chgsync ConfigErrors.

The daemon hands each component its section of the configuration as a mapping (``*_env`` keys
already replaced by their values). A typo must not silently drop authentication, so unknown keys
are errors, and each problem names its setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chgsync.errors import ConfigError, Problem
from chgsync.files import problems_from

M = TypeVar("M", bound=BaseModel)


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
        if not v.startswith(("http://", "https://")) or len(v) <= len("https://"):
            raise ValueError(f"expected an http:// or https:// base URL, got {v!r}")
        return v.rstrip("/")

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.user is not None and self.password is not None else None


def validated(model: type[M], settings: Mapping[str, Any], component: str) -> M:
    """``settings`` as ``model``; raise ConfigError naming each bad setting of ``component``."""
    try:
        parsed = model.model_validate(dict(settings))
    except ValidationError as exc:
        raise ConfigError(None, [Problem(p.field, f"{p.message} ({component})")
                                 for p in problems_from(exc, model, {})]) from None
    if isinstance(parsed, HttpSettings) and (parsed.user is None) != (parsed.password is None):
        missing = "password" if parsed.password is None else "user"
        raise ConfigError(None, Problem(missing, f"basic auth needs both user and password; set {missing} "
                                                 f"(or password_env) too ({component})."))
    return parsed
