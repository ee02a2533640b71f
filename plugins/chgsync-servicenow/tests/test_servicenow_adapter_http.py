"""Transport behaviour: rate limits, server errors, refusals, timeouts, TLS, call counting, silent drops."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from chgsync_servicenow.adapter import ServiceNowAdapter
from chgsync_servicenow.emulator import ServiceNowEmulator

from chgsync.errors import RateLimited, RemoteError
from chgsync.lifecycle import ChangeType, State
from chgsync.testing.pytest_plugin import emulator_fixture
from chgsync.testing.samples import sample_change

START = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
servicenow_tls = emulator_fixture(ServiceNowEmulator, tls=True)


@pytest.fixture
def created(adapter: ServiceNowAdapter) -> Any:
    return adapter.create(sample_change(ChangeType.NORMAL, id="CHG-1", start=START)).ref


def test_429_waits_for_retry_after_then_succeeds(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                 created: Any, sleeps: list[float]) -> None:
    emulator.faults.rate_limit(1, per=3600.0, retry_after=30)
    adapter.get(created)  # the one allowed request
    sleeps.clear()
    lifted: list[float] = []

    def sleep(seconds: float) -> None:  # the hour "passes" during the first wait
        lifted.append(seconds)
        emulator.faults.rate_limit(None)

    adapter.client.sleep = sleep
    emulator.requests.clear()
    adapter.calls.clear()
    assert adapter.get(created).ref.id == created.id
    assert [r.status for r in emulator.requests] == [429, 200]
    assert lifted and lifted[0] >= 30  # honoured the header (plus a little jitter)
    assert adapter.calls["get"] == 2  # the 429 counts as a call


def test_429_until_attempts_run_out_is_rate_limited(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                    created: Any, sleeps: list[float]) -> None:
    emulator.faults.rate_limit(0, per=3600.0, retry_after=5)
    with pytest.raises(RateLimited) as info:
        adapter.get(created)
    assert info.value.retry_after == 5 and info.value.attempts == 4
    assert "Rate limit exceeded" in info.value.remote_message
    assert len(sleeps) == 3 and all(s >= 5 for s in sleeps)


def test_5xx_burst_is_retried_with_capped_backoff(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                  created: Any, sleeps: list[float]) -> None:
    emulator.faults.fail_next(3, status=502)
    adapter.calls.clear()
    assert adapter.get(created).ref.id == created.id
    assert adapter.calls["get"] == 4
    assert len(sleeps) == 3 and all(0 <= s <= 0.01 for s in sleeps)  # FAST_RETRY caps backoff at 10 ms


def test_other_4xx_fail_at_once_with_servicenows_message(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator,
                                                         make_adapter: Callable[..., ServiceNowAdapter],
                                                         sleeps: list[float]) -> None:
    emulator.requests.clear()
    with pytest.raises(RemoteError) as info:
        adapter.get("0" * 32)
    assert info.value.status == 404 and info.value.attempts == 1 and not sleeps
    assert info.value.remote_message == "No Record found: Record doesn't exist or ACL restricts the record retrieval"
    wrong = make_adapter(emulator, password="wrong")
    with pytest.raises(RemoteError) as info:
        wrong.get("0" * 32)
    assert info.value.status == 401
    assert info.value.remote_message == "User Not Authenticated: Required to provide Auth information"
    assert len(emulator.requests) == 2


def test_an_unknown_key_is_a_404(adapter: ServiceNowAdapter) -> None:
    with pytest.raises(RemoteError) as info:
        adapter.get("CHG9999999")
    assert info.value.status == 404 and "no change_request is numbered 'CHG9999999'" in str(info.value)


def test_connection_refused_is_retried_then_reported(make_adapter: Callable[..., ServiceNowAdapter],
                                                     sleeps: list[float]) -> None:
    with ServiceNowEmulator() as emu:
        adapter = make_adapter(emu)
    with pytest.raises(RemoteError) as info:  # the emulator is gone: nothing listens on its port
        adapter.get("0" * 32)
    assert info.value.status is None and info.value.retryable and info.value.attempts == 4
    assert "cannot connect" in info.value.remote_message and len(sleeps) == 3


def test_a_timeout_is_retried(emulator: ServiceNowEmulator, make_adapter: Callable[..., ServiceNowAdapter]) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        emulator.faults.latency = 0.0

    adapter = make_adapter(emulator, timeout=0.1, sleep=sleep)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-2", start=START)).ref
    emulator.faults.latency = 0.4
    assert adapter.get(ref).ref.id == ref.id
    assert len(waits) == 1


def test_verify_is_passed_per_request_despite_requests_ca_bundle(
        servicenow_tls: ServiceNowEmulator, make_adapter: Callable[..., ServiceNowAdapter],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """REQUESTS_CA_BUNDLE overrides Session.verify; the adapter's CA path still applies."""
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    assert servicenow_tls.cert_path is not None
    adapter = make_adapter(servicenow_tls, verify=str(servicenow_tls.cert_path))
    assert adapter.url.startswith("https://")
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-3", start=START))
    assert adapter.get(record.ref).change.id == "CHG-3"
    untrusting = make_adapter(servicenow_tls, verify=True)  # the public bundle does not know the emulator's CA
    servicenow_tls.requests.clear()
    with pytest.raises(RemoteError) as info:
        untrusting.get(record.ref)
    assert "TLS failed" in info.value.remote_message and info.value.attempts == 1


def test_calls_are_counted_per_operation(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-4", start=START)
    emulator.requests.clear()
    ref = adapter.create(change).ref
    adapter.update(ref, change.model_copy(update={"title": "Renamed"}), ["title"])
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    adapter.comment(ref, "noted")
    adapter.link(ref, ref)
    adapter.find("CHG-4")
    records = adapter.fetch_changed(None)
    next(records)
    adapter.get(ref)  # between two pages of a scan: counted as get, not fetch_changed
    list(records)
    # create: a sys_user lookup for each person (requester, implementer), then the insert
    assert dict(adapter.calls) == {"create": 2 + 1, "update": 1, "move": 3, "comment": 2, "link": 2, "find": 1,
                                   "fetch_changed": 1, "get": 1}
    assert sum(adapter.calls.values()) == len(emulator.requests)


def test_a_field_servicenow_ignores_is_an_error_naming_it(adapter: ServiceNowAdapter,
                                                          emulator: ServiceNowEmulator) -> None:
    """ServiceNow accepts a new type only while the change is New; elsewhere it answers 200 unchanged."""
    change = sample_change(ChangeType.NORMAL, id="CHG-5", start=START)
    ref = adapter.create(change).ref
    adapter.move(ref, change.model_copy(update={"state": State.CAB_REVIEW}))
    with pytest.raises(RemoteError) as info:
        adapter.update(ref, change.model_copy(update={"type": ChangeType.EMERGENCY}), ["type"])
    assert info.value.status == 200 and not info.value.retryable
    assert "type: wrote 'emergency', reads 'normal'" in info.value.remote_message


def test_an_unknown_mapped_field_is_an_error_naming_it(emulator: ServiceNowEmulator, tmp_path: Any,
                                                       make_adapter: Callable[..., ServiceNowAdapter]) -> None:
    from chgsync.mapping import MAPPINGS_DIR

    text = (MAPPINGS_DIR / "servicenow-change-request.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("remote: test_plan", "remote: u_test_plan"))
    adapter = make_adapter(emulator, mapping=str(bad))
    with pytest.raises(RemoteError) as info:
        adapter.create(sample_change(ChangeType.NORMAL, id="CHG-6", start=START))
    assert "'u_test_plan' is not in the answer" in info.value.remote_message
    bad.write_text(text.replace("remote: u_chgsync_id", "remote: u_change_key"))
    adapter = make_adapter(emulator, mapping=str(bad))
    emulator.load_seed({"tables": {"change_request": [{"short_description": "someone else's"}]}})
    with pytest.raises(RemoteError) as info:  # ServiceNow drops the unknown query term: never trust the answer
        adapter.find("CHG-6")
    assert "change_request has no field 'u_change_key'" in info.value.remote_message


def test_comment_returns_the_journal_entry_and_link_is_idempotent(adapter: ServiceNowAdapter,
                                                                  emulator: ServiceNowEmulator) -> None:
    change = sample_change(ChangeType.NORMAL, id="CHG-7", start=START)
    ref = adapter.create(change).ref
    entry = adapter.comment(ref, "[chgsync] CAB approved")
    (row,) = emulator.find_records("sys_journal_field", f"element_id={ref.id}")
    assert entry == row["sys_id"] and (row["element"], row["value"]) == ("work_notes", "[chgsync] CAB approved")
    other = type(ref)(system="jira", id="10042", key="OPS-42", url="https://jira.example.com/browse/OPS-42")
    adapter.link(ref, other)
    raw = emulator.get_record("change_request", ref.id)
    assert raw is not None and (raw["correlation_id"], raw["correlation_display"]) == ("OPS-42", "jira")
    version = raw["sys_mod_count"]
    emulator.requests.clear()
    adapter.link(ref, other)
    assert [r.method for r in emulator.requests] == ["GET"]
    assert emulator.get_record("change_request", ref.id)["sys_mod_count"] == version  # type: ignore[index]


def test_times_are_written_as_utc_to_the_second(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    from datetime import timedelta, timezone

    start = datetime(2026, 12, 8, 3, 30, 15, 987654, tzinfo=timezone(timedelta(hours=1, minutes=30)))
    change = sample_change(ChangeType.NORMAL, id="CHG-8", start=start)
    body = adapter.payload(change)
    assert (body["start_date"], body["end_date"]) == ("2026-12-08 02:00:15", "2026-12-08 03:00:15")
    ref = adapter.create(change).ref
    raw = emulator.get_record("change_request", ref.id)
    assert raw is not None and raw["start_date"] == "2026-12-08 02:00:15"
    planned = adapter.get(ref).change.schedule.planned_start
    assert planned == start.replace(microsecond=0) and planned is not None and planned.utcoffset() == timedelta(0)


@responses.activate
def test_a_hibernating_instance_is_reported_not_parsed() -> None:
    """A sleeping developer instance answers 200 with an HTML page (narrow case, scripted)."""
    base = "https://dev00000.service-now.com"
    responses.get(f"{base}/api/now/table/change_request/{'b' * 32}",
                  body="<html><body>Your instance is hibernating</body></html>", content_type="text/html")
    adapter = ServiceNowAdapter(base, "svc", "pw", sleep=lambda s: None)
    with pytest.raises(RemoteError) as info:
        adapter.get("b" * 32)
    assert info.value.status == 200 and "hibernating" in info.value.remote_message
    assert len(responses.calls) == 1


def test_sys_ids_never_reach_a_url_unchecked(adapter: ServiceNowAdapter, emulator: ServiceNowEmulator) -> None:
    """Anything but 32 hex characters is looked up as a number (a query value), never put in a path."""
    emulator.requests.clear()
    with pytest.raises(RemoteError) as info:
        adapter.get("../sys_user")
    assert info.value.status == 404
    assert [r.path for r in emulator.requests] == ["/api/now/table/change_request"]
    with pytest.raises(ValueError):
        adapter.client.url("change_request", "../../sys_user")


def test_requests_send_raw_values_without_reference_links(adapter: ServiceNowAdapter,
                                                          emulator: ServiceNowEmulator) -> None:
    emulator.requests.clear()
    adapter.create(sample_change(ChangeType.NORMAL, id="CHG-9", start=START))
    *lookups, request = list(emulator.requests)
    assert [r.path for r in lookups] == ["/api/now/table/sys_user"] * 2  # the requester, the implementer
    assert "sysparm_display_value=false" in request.query and "sysparm_exclude_reference_link=true" in request.query
