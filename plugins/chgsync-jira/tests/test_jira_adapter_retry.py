"""Failures: 429 waits at least what Retry-After says, 5xx and lost connections back off with jitter,
other 4xx fail at once in Jira's own words, and non-idempotent writes are not repeated blindly.

No test sleeps: the adapter's ``sleep`` is a recorder (the ``sleeps`` fixture)."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator

from chgsync.errors import RateLimited, RemoteError
from chgsync.lifecycle import ChangeType
from chgsync.mapping import load_mapping, shipped_mapping
from chgsync.testing.samples import sample_change


@pytest.fixture
def created(jira_emulator: JiraEmulator, make_adapter: Any) -> tuple[Any, Any]:
    adapter = make_adapter(jira_emulator)
    return adapter, adapter.create(sample_change(ChangeType.NORMAL, id="CHG-600")).ref


def test_429_waits_at_least_retry_after_then_succeeds(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # time passes: the burst window is over
        waited.append(seconds)
        jira_emulator.faults.rate_limit(None)

    adapter = make_adapter(jira_emulator, sleep=sleep)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-601")).ref
    jira_emulator.faults.rate_limit(0, per=60.0, retry_after=7)
    jira_emulator.requests.clear()
    adapter.calls.clear()
    assert adapter.get(ref).ref.id == ref.id
    assert len(waited) == 1 and waited[0] >= 7
    assert [r.status for r in jira_emulator.requests] == [429, 200]
    assert adapter.calls["get"] == 2  # the refused attempt counts too


def test_429_that_persists_gives_up_with_the_servers_advice(jira_emulator: JiraEmulator, make_adapter: Any,
                                                             sleeps: list[float]) -> None:
    adapter = make_adapter(jira_emulator)
    ref = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-602")).ref
    jira_emulator.faults.rate_limit(0, per=60.0, retry_after=5)
    with pytest.raises(RateLimited) as info:
        adapter.get(ref)
    assert info.value.status == 429 and info.value.retry_after == 5 and info.value.attempts == 3
    assert info.value.remote_message == "The request has been rate-limited. Please try again later."
    assert len(sleeps) == 2 and all(s >= 5 for s in sleeps)


def test_429_without_retry_after_backs_off(created: tuple[Any, Any], jira_emulator: JiraEmulator,
                                           sleeps: list[float]) -> None:
    adapter, ref = created
    jira_emulator.faults.fail_next(1, status=429)
    assert adapter.get(ref).ref.id == ref.id
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.05


def test_5xx_backs_off_with_jitter_then_gives_up(created: tuple[Any, Any], jira_emulator: JiraEmulator,
                                                sleeps: list[float]) -> None:
    adapter, ref = created
    jira_emulator.faults.fail_next(2, status=503)
    assert adapter.get(ref).ref.id == ref.id
    assert len(sleeps) == 2 and sleeps[0] <= 0.01 and sleeps[1] <= 0.02  # full jitter under base·2^n
    sleeps.clear()
    jira_emulator.faults.fail_next(3, status=502)
    with pytest.raises(RemoteError) as info:
        adapter.get(ref)
    assert (info.value.status, info.value.attempts) == (502, 3)
    assert info.value.remote_message == "Internal server error (emulated fault)."


def test_other_4xx_fail_at_once_in_jiras_words(jira_emulator: JiraEmulator, make_adapter: Any,
                                               sleeps: list[float]) -> None:
    mapping = load_mapping(shipped_mapping("jira-service-management"))
    fields = [f.model_copy(update={"values": {"standard": "Standard", "normal": "Normall", "emergency": "Emergency"}})
              if f.canonical == "type" else f for f in mapping.fields]
    adapter = make_adapter(jira_emulator, mapping.model_copy(update={"fields": fields}))
    with pytest.raises(RemoteError) as info:
        adapter.create(sample_change(ChangeType.NORMAL, id="CHG-603"))
    assert (info.value.status, info.value.attempts) == (400, 1)
    assert info.value.remote_message == "customfield_10040: Specify a valid 'id' or 'name' for Change type"
    with pytest.raises(RemoteError) as missing:
        adapter.get("CHG-999")
    assert missing.value.status == 404
    assert missing.value.remote_message == "Issue does not exist or you do not have permission to see it."
    assert sleeps == []


def test_a_wrong_token_is_a_401_with_jiras_message(jira_emulator: JiraEmulator, make_adapter: Any) -> None:
    adapter = make_adapter(jira_emulator, token="not-the-token")
    with pytest.raises(RemoteError) as info:
        adapter.get("CHG-1")
    assert info.value.status == 401 and info.value.attempts == 1
    assert info.value.remote_message == "Client must be authenticated to access this resource."


def test_no_server_is_retried_then_reported(jira_emulator: JiraEmulator, make_adapter: Any,
                                            sleeps: list[float]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    adapter = make_adapter(jira_emulator, url=f"http://127.0.0.1:{port}")
    with pytest.raises(RemoteError) as info:
        adapter.get("CHG-1")
    assert info.value.status is None and info.value.attempts == 3 and len(sleeps) == 2
    assert "ConnectionError" in info.value.remote_message


class LoseAnswers(requests.adapters.HTTPAdapter):
    """Delivers a request to the emulator, then drops its answer: a reset after Jira did the work."""

    def __init__(self, method: str, path: str, times: int = 1) -> None:
        super().__init__()
        self.method, self.path, self.times = method, path, times

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if self.times and request.method == self.method and urlsplit(request.url).path == self.path:
            self.times -= 1
            raise requests.ConnectionError("Connection reset by peer (answer lost after the request was sent)")
        return response


def test_a_create_whose_answer_was_lost_is_found_not_repeated(jira_emulator: JiraEmulator, make_adapter: Any,
                                                             sleeps: list[float]) -> None:
    adapter = make_adapter(jira_emulator)
    adapter.connect()
    adapter._http.client._session.mount("http://", LoseAnswers("POST", "/rest/api/2/issue"))
    record = adapter.create(sample_change(ChangeType.NORMAL, id="CHG-604"))
    assert record.change.id == "CHG-604" and len(sleeps) == 1
    assert jira_emulator.requests.count("POST", "/rest/api/2/issue") == 1  # the retry searched instead
    assert [i.key for i in jira_emulator.site.issues.values()] == [record.ref.key]


def test_a_comment_whose_answer_was_lost_is_not_posted_twice(created: tuple[Any, Any], jira_emulator: JiraEmulator,
                                                            ) -> None:
    adapter, ref = created
    adapter._http.client._session.mount("http://", LoseAnswers("POST", f"/rest/api/2/issue/{ref.id}/comment"))
    comment_id = adapter.comment(ref, "Moved back: the CAB has not approved this change.")
    comments = jira_emulator.issue(ref.key).comments
    assert [c.id for c in comments] == [comment_id]
    assert comments[0].internal  # JSM: chgsync's explanations stay off the customer portal
