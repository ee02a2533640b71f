"""Settings and mapping problems are refused when the adapter is built, in sentences naming the key."""

from __future__ import annotations

from typing import Any

import chgsync_jira.plugin
import pytest
from chgsync_jira.adapter import JiraAdapter, from_settings

from chgsync.errors import ConfigError, MappingError
from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.plugins import Plugins


def test_the_plugin_registers_the_adapter_next_to_the_emulator() -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    assert set(plugins.adapters()) == {"jira"} and set(plugins.emulators()) == {"jira"}
    adapter = plugins.adapters()["jira"].factory({"url": "https://acme.atlassian.net/", "name": "jira-prod"})
    assert isinstance(adapter, JiraAdapter) and adapter.name == "jira-prod"
    assert adapter.base_url == "https://acme.atlassian.net" and adapter.mapping.name == "jira-service-management"
    assert adapter.calls == {}  # built without a single request


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "field 'url': is required: the Jira site"),
    ({"url": "https://x", "tokn": "t"}, "field 'tokn': is not a Jira adapter setting; known: "),
    ({"url": "https://x", "timeout": "soon"}, "field 'timeout': expected seconds, got 'soon'."),
    ({"url": "https://x", "mapping": 42}, "field 'mapping': expected a mapping file path or a loaded mapping"),
])
def test_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_settings(settings)


def test_a_mapping_for_another_system_is_refused() -> None:
    mapping = load_mapping(shipped_mapping("jira-software")).model_copy(update={"system": "servicenow"})
    with pytest.raises(MappingError, match="the mapping is for 'servicenow', not for the Jira adapter"):
        from_settings({"url": "https://x", "mapping": mapping})


def test_record_problems_name_the_key() -> None:
    mapping = load_mapping(shipped_mapping("jira-service-management"))
    record = {**mapping.record, "also_means": {"Failed": "Completd"}, "by_outcome": {"Done": {}}}
    with pytest.raises(MappingError) as info:
        from_settings({"url": "https://x", "mapping": mapping.model_copy(update={"record": record})})
    assert "field 'record.also_means.Failed': reads 'Failed' as 'Completd', which no state in `states` uses." \
        in str(info.value)
    assert "field 'record.by_outcome.Done': 'Done' is not a status any state uses." in str(info.value)
    states = dict(mapping.states)
    first = next(iter(states))
    states[first] = states[first].model_copy(update={"remote": {"status": "PLANNING"}})
    with pytest.raises(MappingError, match="spells status 'Planning', but states.draft.remote.status spells it "
                                           "'PLANNING'"):
        from_settings({"url": "https://x", "mapping": mapping.model_copy(update={"states": states})})
