"""Settings of both components, and their registration with chgsync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chgsync_prometheus import backend, pushgateway

from chgsync.errors import ConfigError
from chgsync.testing import assert_registers, config_problem

SINK = (pushgateway.from_settings, "http://gw:9091", "pushgateway marker sink")
BACKEND = (backend.from_settings, "http://prometheus:9090", "prometheus metric backend")


@pytest.mark.parametrize(("component", "settings", "field"), [
    (SINK, {"url": None}, "url"),
    (SINK, {"url": "pushgateway:9091"}, "url"),
    (SINK, {"timeout": 0}, "timeout"),
    (SINK, {"job": ""}, "job"),
    (SINK, {"user": "chgsync"}, "password"),
    (SINK, {"password": "x"}, "user"),
    (SINK, {"grouping": "x"}, "grouping"),
    (SINK, {"token": "t"}, "token"),  # the gateway sink has no bearer auth
    (BACKEND, {"url": None}, "url"),
    (BACKEND, {"url": "prometheus:9090"}, "url"),
    (BACKEND, {"timeout": -1}, "timeout"),
    (BACKEND, {"user": "u"}, "password"),
    (BACKEND, {"tokn": "x"}, "tokn"),
])
def test_bad_settings_name_the_setting(component: tuple[Callable[..., Any], str, str], settings: dict[str, Any],
                                       field: str) -> None:
    factory, url, name = component
    given = {k: v for k, v in {"url": url, **settings}.items() if v is not None}

    config_problem(lambda: factory(given), field=field, component=name)


def test_backend_takes_a_token_or_basic_auth_not_both() -> None:
    with pytest.raises(ConfigError, match="either token or user/password"):
        backend.from_settings({"url": "http://prometheus:9090", "token": "t", "user": "u", "password": "p"})


def test_registered_as_marker_sink_and_metric_backend() -> None:
    from chgsync_prometheus import plugin

    plugins = assert_registers(plugin, marker_sinks=["pushgateway"], metric_backends=["prometheus"])

    assert plugins.marker_sinks()["pushgateway"].factory is pushgateway.from_settings
    assert plugins.metric_backends()["prometheus"].factory is backend.from_settings
