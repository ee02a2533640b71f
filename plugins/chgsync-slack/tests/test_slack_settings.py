"""Settings are checked at start-up: each problem names its key; the token never shows."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_slack import plugin
from chgsync_slack.notifier import SlackNotifier, from_settings
from chgsync_slack.settings import parse_settings

from chgsync.testing import assert_registers, config_problem

GOOD = {"token": "xoxb-1234-abcd", "channel": "#changes"}


def test_defaults() -> None:
    settings = parse_settings(GOOD)
    assert settings.base_url == "https://slack.com/api/"
    assert settings.min_interval == 1.0 and settings.timeout == 30.0
    assert "xoxb-1234-abcd" not in repr(settings)


def test_base_url_gets_the_trailing_slash_slack_sdk_needs() -> None:
    assert parse_settings({**GOOD, "base_url": "http://127.0.0.1:9/api"}).base_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize("channel", ["#changes", "changes", "C0123ABCD", "G0ABCDEF1", "#ops-cab_2"])
def test_channel_ids_and_names_are_accepted(channel: str) -> None:
    assert parse_settings({**GOOD, "channel": channel}).channel == channel


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"channel": "#changes"}, "token", "required"),
    ({"token": "xoxb-1"}, "channel", "required"),
    ({**GOOD, "token": "hunter2"}, "token", "xoxb-"),
    ({**GOOD, "channel": "#Has Spaces"}, "channel", "#changes"),
    ({**GOOD, "base_url": "slack.com/api"}, "base_url", "http"),
    ({**GOOD, "timeout": 0}, "timeout", "greater than 0"),
    ({**GOOD, "min_interval": -1}, "min_interval", "greater than or equal to 0"),
    ({**GOOD, "chanel": "#x"}, "chanel", "unknown field"),
])
def test_bad_settings_are_config_errors_naming_the_field(settings: dict[str, Any], field: str, words: str) -> None:
    config_problem(lambda: from_settings(settings), field=field, says=words, component="slack notifier",
                   hidden=["hunter2"])


def test_token_env_is_read_when_the_notifier_is_built_outside_the_daemon() -> None:
    settings = parse_settings({"token_env": "SLACK_BOT_TOKEN", "channel": "#changes"},
                              environ={"SLACK_BOT_TOKEN": "xoxb-1234-abcd"})
    assert settings.token.get_secret_value() == "xoxb-1234-abcd"
    unset = {"token_env": "SLACK_BOT_TOKEN", "channel": "#changes"}
    config_problem(lambda: parse_settings(unset, environ={}), field="token_env",
                   says="'SLACK_BOT_TOKEN' is not set", component="slack notifier")


def test_the_plugin_registers_the_notifier_and_the_stand_in() -> None:
    plugins = assert_registers(plugin, notifiers=["slack"], emulators=["slack"])

    assert isinstance(plugins.notifiers()["slack"].factory(GOOD), SlackNotifier)
    assert plugins.emulators()["slack"].factory().product == "slack"
