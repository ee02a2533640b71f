"""Settings are checked at start-up, the key never shows, calls are paced, and the plugin registers."""

from __future__ import annotations

from typing import Any

import pytest
from chgsync_statuspage import plugin
from chgsync_statuspage.notifier import Pacer, StatuspageNotifier, from_settings
from chgsync_statuspage.settings import parse_settings
from chgsync_statuspage.standin import DEFAULT_PAGE_ID, StatuspageStandIn

from chgsync.daemon.config import resolve
from chgsync.notify import Notification
from chgsync.testing import ManualClock, assert_registers, config_problem

GOOD = {"api_key": "0123abcd-key", "page_id": "kctbh9vrtdwd"}


def test_defaults() -> None:
    settings = parse_settings(GOOD)
    assert settings.base_url == "https://api.statuspage.io/v1"
    assert settings.components is None and settings.deliver_notifications is True
    assert settings.timeout == 30.0 and settings.min_interval == 1.0
    assert "0123abcd-key" not in repr(settings)


def test_base_url_loses_its_trailing_slash() -> None:
    assert parse_settings({**GOOD, "base_url": "http://127.0.0.1:9/v1/"}).base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"page_id": "kctbh9vrtdwd"}, "api_key", "required"),
    ({"api_key": "k"}, "page_id", "required"),
    ({**GOOD, "api_key": "has spaces in it"}, "api_key", "api_key_env"),
    ({**GOOD, "page_id": "not/a/page"}, "page_id", "letters and digits"),
    ({**GOOD, "base_url": "api.statuspage.io/v1"}, "base_url", "http"),
    ({**GOOD, "components": {"checkout": "no such id!"}}, "components", "component id"),
    ({**GOOD, "components": ["checkout"]}, "components", "mapping"),
    ({**GOOD, "timeout": 0}, "timeout", "greater than 0"),
    ({**GOOD, "min_interval": -1}, "min_interval", "greater than or equal to 0"),
    ({**GOOD, "deliver_notifications": "sometimes"}, "deliver_notifications", "boolean"),
    ({**GOOD, "page": "kctbh9vrtdwd"}, "page", "unknown field"),
])
def test_bad_settings_are_config_errors_naming_the_field(settings: dict[str, Any], field: str, words: str) -> None:
    config_problem(lambda: from_settings(settings), field=field, says=words, component="statuspage notifier",
                   hidden=["has spaces in it"])


def test_api_key_env_is_read_from_the_environment() -> None:
    notifier = from_settings({"api_key_env": "SP_KEY", "page_id": "kctbh9vrtdwd"}, environ={"SP_KEY": "abc123"})
    assert notifier.settings.api_key.get_secret_value() == "abc123"


def test_a_missing_api_key_env_variable_is_a_config_error() -> None:
    config_problem(lambda: from_settings({"api_key_env": "SP_KEY", "page_id": "kctbh9vrtdwd"}, environ={}),
                   field="api_key_env", says="'SP_KEY' is not set; it should hold the Statuspage API key",
                   component="statuspage notifier")


def test_the_daemons_resolved_section_makes_a_working_notifier(standin: StatuspageStandIn) -> None:
    raw = {"api_key_env": "STATUSPAGE_API_KEY", "page_id": DEFAULT_PAGE_ID, "base_url": f"{standin.base_url}/v1",
           "min_interval": 0}
    settings = resolve("notifiers", "status", raw, "chgsync.yaml", environ={"STATUSPAGE_API_KEY": standin.secret})

    notifier = from_settings(settings)
    thread = notifier.send(Notification(key="k", change_id="CHG-1", event="state_changed", subject="CHG-1: down",
                                        text="Looking.", emergency=True, status="investigating"))
    notifier.close()

    assert [i.id for i in standin.incidents_on()] == [thread]


def test_the_pacer_spaces_calls_and_never_waits_longer_than_the_interval() -> None:
    clock = ManualClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)

    for _ in range(3):
        with pacer.turn():
            clock.now += 0.25  # the call itself takes a quarter second
    clock.now -= 50  # a clock that jumps back must not stall the notifier
    with pacer.turn():
        pass

    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_a_create_is_paced_one_call_per_interval(standin: StatuspageStandIn) -> None:
    clock = ManualClock()
    notifier = from_settings({"api_key": standin.secret, "page_id": DEFAULT_PAGE_ID,
                              "base_url": f"{standin.base_url}/v1"}, clock=clock, sleep=clock.sleep)
    notice = Notification(key="k", change_id="CHG-2", event="state_changed", subject="CHG-2: slow", text="Looking.",
                          emergency=True, status="investigating", components=("search",))

    notifier.send(notice)
    notifier.close()

    assert len(standin.requests) == 3  # components, open incidents, the POST
    assert clock.sleeps == [1.0, 1.0]


def test_the_plugin_registers_the_notifier_and_the_stand_in() -> None:
    plugins = assert_registers(plugin, notifiers=["statuspage"], emulators=["statuspage"])

    notifier = plugins.notifiers()["statuspage"].factory(GOOD)
    assert isinstance(notifier, StatuspageNotifier)
    notifier.close()
    assert isinstance(plugins.emulators()["statuspage"].factory(), StatuspageStandIn)
