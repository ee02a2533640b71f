"""Settings are checked at start-up: each problem names its key, and a routing key never shows."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_pagerduty import plugin
from chgsync_pagerduty.settings import parse_settings
from chgsync_pagerduty.sink import PagerDutySink, from_settings
from chgsync_pagerduty.standin import PagerDutyStandIn

from chgsync.daemon.config import resolve
from chgsync.errors import ConfigError
from chgsync.testing import assert_registers, config_problem

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def test_defaults_and_secrecy() -> None:
    settings = parse_settings({"routing_key": KEY})

    assert settings.base_url == "https://events.pagerduty.com"
    assert settings.endpoint == "https://events.pagerduty.com/v2/change/enqueue"
    assert (settings.source, settings.timeout, settings.services) == ("chgsync", 10.0, {})
    assert KEY not in repr(settings) and KEY not in str(settings)


def test_base_url_loses_its_trailing_slash() -> None:
    assert parse_settings({"routing_key": KEY, "base_url": "http://127.0.0.1:9/"}).endpoint == \
        "http://127.0.0.1:9/v2/change/enqueue"


def test_daemon_resolves_routing_key_env() -> None:
    """The daemon's own resolution of ``routing_key_env``, then the factory, as at start-up."""
    raw = {"routing_key_env": "PD_CHANGES_KEY", "source": "chgsync-prod"}
    settings = resolve("markers", "pagerduty", raw, "chgsync.yaml", {"PD_CHANGES_KEY": KEY})

    sink = from_settings(settings)

    assert sink.settings.routing_key is not None and sink.settings.routing_key.get_secret_value() == KEY


def test_daemon_refuses_a_routing_key_written_in_the_file() -> None:
    with pytest.raises(ConfigError) as err:
        resolve("markers", "pagerduty", {"routing_key": KEY}, "chgsync.yaml", {})
    assert err.value.problems[0].field == "markers.pagerduty.routing_key"


def test_service_keys_come_from_the_environment() -> None:
    settings = parse_settings({"services": {"checkout": {"routing_key_env": "PD_CHECKOUT"}, "payments": OTHER}},
                              environ={"PD_CHECKOUT": KEY})

    assert {name: key.get_secret_value() for name, key in settings.services.items()} == {
        "checkout": KEY, "payments": OTHER}
    assert settings.routing_key is None


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({}, "routing_key", "no routing key"),
    ({"routing_key": "abc123"}, "routing_key", "got 6 characters"),
    ({"routing_key": "0123456789abcdef0123456789abcde-"}, "routing_key", "letters and digits"),
    ({"routing_key": "R0123456789ABCDEF0123456789ABCDE"}, "routing_key", "ruleset"),
    ({"routing_key": KEY, "services": {"checkout": "short"}}, "services", "service 'checkout'"),
    ({"routing_key": KEY, "services": {"check out": OTHER}}, "services", "not a chgsync service name"),
    ({"routing_key": KEY, "services": {"checkout": 7}}, "services.checkout", "string"),
    ({"routing_key": KEY, "services": ["checkout"]}, "services", "mapping"),
    ({"routing_key": KEY, "services": {"checkout": {"key": OTHER}}}, "services.checkout", "routing_key_env"),
    ({"routing_key": KEY, "services": {"checkout": {"routing_key_env": "NOT_SET"}}},
     "services.checkout.routing_key_env", "'NOT_SET' is not set"),
    ({"routing_key": KEY, "base_url": "events.pagerduty.com"}, "base_url", "http"),
    ({"routing_key": KEY, "timeout": 0}, "timeout", "greater than 0"),
    ({"routing_key": KEY, "source": ""}, "source", "at least 1 character"),
    ({"routing_key": KEY, "routing": "x"}, "routing", "unknown field"),
    ({"routing_key": KEY, "dedup_key": "x"}, "dedup_key", "unknown field"),
])
def test_bad_settings_are_config_errors_naming_the_field(settings: dict[str, Any], field: str,
                                                         words: str) -> None:
    config_problem(lambda: from_settings(settings, environ={}), field=field, says=words,
                   component="pagerduty marker sink",
                   hidden=[KEY, OTHER, "abc123", "R0123456789ABCDEF0123456789ABCDE"])


def test_plugin_registers_the_sink_and_the_stand_in() -> None:
    plugins = assert_registers(plugin, marker_sinks=["pagerduty"], emulators=["pagerduty"])

    assert isinstance(plugins.marker_sinks()["pagerduty"].factory({"routing_key": KEY}), PagerDutySink)
    emulator = plugins.emulators()["pagerduty"].factory(secret=OTHER)
    assert isinstance(emulator, PagerDutyStandIn) and emulator.services == {OTHER: "Default Service"}
