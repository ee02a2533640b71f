"""Bad settings stop the daemon at start-up with a ConfigError that names the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chgsync_email import create

from chgsync.testing import config_problem

GOOD: dict[str, Any] = {"host": "smtp.example.com", "sender": "chgsync@example.com"}


def test_defaults_are_starttls_on_the_submission_port() -> None:
    mailer = create(GOOD)
    assert mailer.settings.security == "starttls"
    assert mailer.settings.effective_port == 587
    assert create(GOOD | {"security": "ssl"}).settings.effective_port == 465
    assert create(GOOD | {"security": "none"}).settings.effective_port == 25
    assert create(GOOD | {"port": 2525}).settings.effective_port == 2525


def test_the_password_never_shows_in_repr() -> None:
    mailer = create(GOOD | {"user": "bot", "password": "hunter2-hunter2"})
    assert "hunter2" not in repr(mailer.settings)


@pytest.mark.parametrize(("settings", "field", "says"), [
    ({"sender": "chgsync@example.com"}, "host", "required"),
    ({"host": "smtp.example.com"}, "sender", "required"),
    (GOOD | {"sender": "chgsync"}, "sender", "email address"),
    (GOOD | {"to": ["cab@example.com", "cab"]}, "to", "'cab'"),
    (GOOD | {"security": "tls"}, "security", "starttls"),
    (GOOD | {"port": 70000}, "port", "65535"),
    (GOOD | {"timeout": 0}, "timeout", "greater than 0"),
    (GOOD | {"ca_file": "/nonexistent/ca.pem"}, "ca_file", "not a file"),
    (GOOD | {"subject_prefix": "[{change}]"}, "subject_prefix", "{change_id}"),
    (GOOD | {"user": "bot"}, "password", "password_env"),
    (GOOD | {"password": "pw"}, "user", "both user and password"),
    (GOOD | {"user": "bot", "password": "pw", "security": "none"}, "security", "clear text"),
    (GOOD | {"pasword": "pw"}, "pasword", "unknown field"),
])
def test_bad_settings_name_the_setting(settings: dict[str, Any], field: str, says: str) -> None:
    config_problem(lambda: create(settings), field=field, says=says, component="email notifier")


def test_a_ca_file_that_exists_is_accepted(tmp_path: Path) -> None:
    from chgsync.testing.emulator import self_signed_certificate

    cert, _ = self_signed_certificate(tmp_path)
    assert create(GOOD | {"ca_file": str(cert)}).settings.ca_file == cert
