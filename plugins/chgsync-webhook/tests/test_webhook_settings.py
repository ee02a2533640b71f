"""Bad settings stop the daemon at start-up with a ConfigError naming the setting; the secret never shows."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_webhook import create
from chgsync_webhook.settings import load_settings

from chgsync.testing import config_problem

SECRET = "a-shared-secret-of-some-length"
GOOD: dict[str, Any] = {"url": "https://hooks.example.com/chgsync", "secret": SECRET}


@pytest.mark.parametrize(("settings", "field", "says"), [
    ({"url": "https://hooks.example.com/chgsync"}, "secret", "deliveries must be signed"),
    ({**GOOD, "secret": "short"}, "secret", "at least 16 characters"),
    ({**GOOD, "url": "hooks.example.com/chgsync"}, "url", "such as https://hooks.example.com/chgsync"),
    ({**GOOD, "timeout": 0}, "timeout", "greater than 0"),
    ({**GOOD, "headers": {"X-Chgsync-Delivery": "x"}}, "headers", "set by chgsync itself"),
    ({**GOOD, "headers": {"X-Team": "a\nb"}}, "headers", "one line"),
    ({**GOOD, "ca_file": "/nonexistent/ca.pem"}, "ca_file", "not a file"),
    ({**GOOD, "sceret": "x"}, "sceret", "unknown field"),
])
def test_bad_settings_name_the_setting(settings: dict[str, Any], field: str, says: str) -> None:
    config_problem(lambda: create(settings), field=field, says=says, component="webhook notifier",
                   hidden=[SECRET])


def test_secret_env_is_read_when_the_notifier_is_built_outside_the_daemon() -> None:
    raw = {"url": GOOD["url"], "secret_env": "HOOK_SECRET"}
    assert load_settings(raw, environ={"HOOK_SECRET": SECRET}).secret.get_secret_value() == SECRET
    config_problem(lambda: load_settings(raw, environ={}), field="secret_env",
                   says="it should hold the shared HMAC secret", component="webhook notifier")
