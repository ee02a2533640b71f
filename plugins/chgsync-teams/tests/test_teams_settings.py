"""Settings are checked at start-up: each problem names its key, and the trigger URL never shows."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_teams import plugin
from chgsync_teams.notifier import TeamsNotifier, from_settings
from chgsync_teams.settings import parse_settings

from chgsync.daemon.config import resolve
from chgsync.testing import assert_registers, config_problem

SIG = "Zx9vQ2lxTjRwS3dMbU5hYlBzUXJUdVZ3WHlaMDEyMzQ1"
URL = ("https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke"
       f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}")
PP_URL = ("https://default0a1b2c.3d.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/"
          f"0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}")


def test_defaults_and_the_url_stays_hidden() -> None:
    settings = parse_settings({"url": URL})

    assert settings.timeout == 30.0 and settings.card_version == "1.4" and settings.full_width is True
    assert SIG not in repr(settings)
    notifier = from_settings({"url": URL})
    assert repr(notifier) == "TeamsNotifier(https://prod-12.westeurope.logic.azure.com:443)"


def test_power_platform_trigger_urls_are_accepted() -> None:
    assert parse_settings({"url": PP_URL}).url.get_secret_value() == PP_URL


def test_url_env_in_the_daemon_configuration_gives_the_url() -> None:
    raw = {"type": "teams", "url_env": "TEAMS_WORKFLOW_URL", "timeout": 10}
    settings = resolve("notifiers", "teams", raw, "chgsync.yaml", environ={"TEAMS_WORKFLOW_URL": URL})
    settings.pop("type")

    notifier = from_settings(settings)

    assert notifier.settings.url.get_secret_value() == URL and notifier.settings.timeout == 10


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({}, "url", "required"),
    ({"url": 12345}, "url", "as text"),
    ({"url": f"ftp://files.example.com/x?sig={SIG}"}, "url", "https://"),
    ({"url": f"https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/{SIG}/ghi"}, "url", "retired"),
    ({"url": f"https://outlook.office.com/webhook/abc/IncomingWebhook/{SIG}/ghi"}, "url", "Workflows"),
    ({"url": URL.replace("https://", "http://")}, "url", "loopback"),
    ({"url": URL.replace(f"&sig={SIG}", "")}, "url", "sig="),
    ({"url": URL, "timeout": 0}, "timeout", "greater than 0"),
    ({"url": URL, "card_version": "1.6"}, "card_version", "1.4"),
    ({"url": URL, "webhook_url": URL}, "webhook_url", "unknown field"),
])
def test_bad_settings_are_config_errors_naming_the_field(settings: dict[str, Any], field: str, words: str) -> None:
    config_problem(lambda: from_settings(settings), field=field, says=words, component="teams notifier",
                   hidden=[SIG])


def test_a_sig_pasted_into_another_setting_is_masked_too() -> None:
    config_problem(lambda: from_settings({"url": URL, "card_version": f"sig={SIG}"}), field="card_version",
                   says="sig=***", component="teams notifier", hidden=[SIG])


def test_the_plugin_registers_the_notifier_and_the_stand_in() -> None:
    plugins = assert_registers(plugin, notifiers=["teams"], emulators=["teams"])

    assert isinstance(plugins.notifiers()["teams"].factory({"url": URL}), TeamsNotifier)
    emulator = plugins.emulators()["teams"].factory(secret="sig-from-the-command-line")
    assert emulator.workflows[next(iter(emulator.workflows))].sig == "sig-from-the-command-line"
