"""The adapter passes chgsync's conformance suite against the emulator, over real HTTP, for both
shipped Jira mappings (Jira Service Management's CHG project and Jira Software's OPS board)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chgsync_jira.emulator import JiraEmulator

from chgsync.testing.conformance import AdapterConformance


class TestJiraAdapter(AdapterConformance):
    """The JSM mapping: ``mappings/jira-service-management.yaml``."""

    mapping_name = "jira-service-management"

    @pytest.fixture
    def emulator(self) -> Iterator[JiraEmulator]:
        with JiraEmulator() as emulator:
            yield emulator

    @pytest.fixture
    def adapter(self, emulator: JiraEmulator, make_adapter: Any) -> Any:
        return make_adapter(emulator, self.mapping_name)


class TestJiraSoftwareAdapter(TestJiraAdapter):
    """The Jira Software mapping: ``mappings/jira-software.yaml`` (status plus a Change stage field)."""

    mapping_name = "jira-software"
