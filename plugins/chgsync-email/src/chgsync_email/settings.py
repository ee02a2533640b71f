"""The email notifier's settings: a pydantic model whose errors become chgsync ConfigErrors.

Unknown keys are errors: a misspelt ``pasword_env`` must not quietly turn authentication off.
Everything that can be checked before the first mail (addresses, the CA file, the subject template)
is checked here, so a bad configuration stops the daemon at start-up rather than dead-lettering mail.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from chgsync import settings as component_settings
from chgsync.settings import CaBundle, SettingError

Security = Literal["none", "starttls", "ssl"]

# The port each security mode is conventionally served on (RFC 8314 for 465, RFC 6409 for 587).
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}


def parse_address(value: str) -> str | None:
    """The bare address in ``value`` ("Name <a@b>" or "a@b"), or None when it is not exactly one."""
    if "\r" in value or "\n" in value:
        return None
    found = email.utils.getaddresses([value])
    if len(found) != 1:
        return None
    addr = found[0][1]
    local, at, domain = addr.rpartition("@")
    if not at or not local or "@" in local or not _DOMAIN.match(domain):
        return None
    return addr


_DOMAIN = re.compile(r"^[^\s@<>()\[\],;:\"\\.][^\s@<>()\[\],;:\"\\]*$")


class EmailSettings(BaseModel):
    """One ``notifiers:`` entry of ``type: email``."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, description="The SMTP server (a relay or submission server).")
    port: int | None = Field(None, ge=1, le=65535, description="Default: 25, 587 or 465 by security.")
    security: Security = Field("starttls", description="none, starttls (upgrade after connecting) or ssl "
                               "(TLS from the first byte).")
    user: str | None = Field(None, min_length=1)
    password: SecretStr | None = None
    sender: str = Field(description="The From address, optionally with a display name.")
    to: list[str] = Field(default_factory=list, description="Addresses that get every mail.")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for the server at each step.")
    ca_file: CaBundle | None = Field(None, description="PEM bundle that signs the server's certificate "
                                 "(default: the system's trust store).")
    subject_prefix: str = Field("[{change_id}]", description="Put before each subject; {change_id} is "
                                "replaced.")
    helo: str | None = Field(None, min_length=1, description="The name chgsync gives in EHLO (default: "
                             "this host's fully qualified name).")

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        if parse_address(v) is None:
            raise ValueError(f"expected one email address such as 'chgsync <chgsync@example.com>', got {v!r}")
        return v

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if parse_address(a) is None]
        if bad:
            raise ValueError(f"expected email addresses, got {', '.join(map(repr, bad))}")
        return v

    @field_validator("subject_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        try:
            v.format(change_id="CHG0000001")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"expected text where only {{change_id}} is replaced, got {v!r} ({exc!r})") from None
        if "\n" in v or "\r" in v:
            raise ValueError("expected one line of text")
        return v

    @model_validator(mode="after")
    def _login(self) -> Self:
        if (self.user is None) != (self.password is None):
            missing = "password" if self.password is None else "user"
            raise SettingError(missing, "SMTP authentication needs both user and password; set "
                                        f"{missing} too (password comes from password_env)")
        if self.user is not None and self.security == "none":
            raise SettingError("security", "with user and password set, security must be starttls or "
                                           "ssl: with none the password would cross the network in clear "
                                           "text")
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @property
    def sender_address(self) -> str:
        return parse_address(self.sender) or self.sender

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2]


def load_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> EmailSettings:
    """``settings`` validated; a ConfigError names each setting at fault."""
    return component_settings.parse_settings(EmailSettings, settings, component="email notifier",
                                             secrets={"password": "the SMTP password"}, environ=environ)
