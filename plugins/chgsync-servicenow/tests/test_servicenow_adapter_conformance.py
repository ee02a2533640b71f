"""The adapter conformance suite every chgsync adapter passes, run against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.errors import RemoteError
from chgsync.testing.conformance import AdapterConformance


class TestServiceNowAdapter(AdapterConformance):
    @pytest.fixture
    def emulator(self) -> Iterator[ServiceNowEmulator]:
        # The real clock: the suite compares fetch_changed with datetime.now().
        with ServiceNowEmulator() as emu:
            yield emu

    @pytest.fixture
    def adapter(self, emulator: ServiceNowEmulator, make_adapter: Callable[..., ServiceNowAdapter],
                sleeps: Any) -> ServiceNowAdapter:
        return make_adapter(emulator)

    def test_rate_limit_waits_at_least_retry_after(self, adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                    created: Any, sleeps: list[float]) -> None:
        """Beyond the suite: the waits asked for are at least the server's Retry-After."""
        emulator.faults.rate_limit(1, per=60.0, retry_after=7)
        adapter.get(created)
        with pytest.raises(RemoteError):
            adapter.get(created)
        assert sleeps and min(sleeps) >= 7
