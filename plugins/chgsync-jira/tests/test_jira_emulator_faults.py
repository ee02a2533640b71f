"""Authentication, injected faults (429, 5xx bursts, outages, latency), request counting and TLS."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator
from jira import JIRA, JIRAError


def test_missing_or_wrong_credentials_get_401(jira_emulator: JiraEmulator) -> None:
    url = f"{jira_emulator.base_url}/rest/api/2/myself"
    anonymous = requests.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "errorMessages": ["Client must be authenticated to access this resource."],
        "errors": {},
    }
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url, auth=(jira_emulator.user, "wrong-token")).status_code == 401
    assert requests.get(url, auth=("someone@example.com", jira_emulator.secret)).status_code == 401
    # serverInfo is public on Cloud, so a client with a bad token is only refused on its first real call
    client = JIRA(
        server=jira_emulator.base_url, basic_auth=(jira_emulator.user, "wrong-token"), max_retries=0
    )
    with pytest.raises(JIRAError) as err:
        client.myself()
    assert err.value.status_code == 401
    assert jira_emulator.requests.count(status=401) == 4


def test_rate_limit_answers_429_with_whole_seconds_retry_after(
    jira_emulator: JiraEmulator, http: requests.Session
) -> None:
    jira_emulator.faults.rate_limit(2, per=60, retry_after=3)
    url = f"{jira_emulator.base_url}/rest/api/2/myself"
    assert [http.get(url).status_code for _ in range(2)] == [200, 200]
    limited = http.get(url)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert limited.json() == {
        "errorMessages": ["The request has been rate-limited. Please try again later."],
        "errors": {},
    }
    jira_emulator.faults.rate_limit(None)
    assert http.get(url).status_code == 200


def test_the_jira_library_honours_retry_after(jira_emulator: JiraEmulator) -> None:
    jira_emulator.faults.rate_limit(1, per=1.0, retry_after=1)
    client = JIRA(
        server=jira_emulator.base_url,
        basic_auth=(jira_emulator.user, jira_emulator.secret),
        max_retries=1,
        get_server_info=False,
    )
    assert client.myself()["emailAddress"] == jira_emulator.user  # first call
    assert client.myself()["emailAddress"] == jira_emulator.user  # 429, waits Retry-After, succeeds
    assert jira_emulator.requests.count("GET", "/rest/api/2/myself", status=429) == 1


def test_a_burst_of_5xx_then_recovery(jira_emulator: JiraEmulator, jira_client: JIRA) -> None:
    jira_emulator.faults.fail_next(2, status=503)
    for _ in range(2):
        with pytest.raises(JIRAError) as err:
            jira_client.myself()
        assert err.value.status_code == 503
    assert jira_client.myself()["accountId"]
    jira_emulator.faults.outage(True, status=502)
    with pytest.raises(JIRAError) as err:
        jira_client.issue("CHG-1")
    assert err.value.status_code == 502 and err.value.response.json()["errorMessages"]
    jira_emulator.faults.outage(False)
    with pytest.raises(JIRAError) as err:
        jira_client.issue("CHG-1")
    assert err.value.status_code == 404


def test_latency_is_added_to_every_answer(jira_emulator: JiraEmulator, http: requests.Session) -> None:
    url = f"{jira_emulator.base_url}/rest/api/2/myself"
    jira_emulator.faults.latency = 0.3
    started = time.monotonic()
    assert http.get(url).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert jira_emulator.requests.count("GET", "/rest/api/2/myself") == 1


def test_requests_are_counted_per_endpoint(
    jira_emulator: JiraEmulator, jira_client: JIRA, new_change: Any, http: requests.Session
) -> None:
    jira_emulator.requests.clear()
    issue = new_change()
    issue.update(fields={"summary": "counted"})
    assert jira_emulator.requests.count("POST", "/rest/api/2/issue") == 1
    assert jira_emulator.requests.count("PUT", f"/rest/api/2/issue/{issue.id}") == 1
    assert jira_emulator.requests.count(status=201) == 1
    logged = http.get(f"{jira_emulator.base_url}/_emulator/requests").json()
    assert [(r["method"], r["path"]) for r in logged[:2]] == [
        ("POST", "/rest/api/2/issue"),
        ("GET", "/rest/api/2/issue/CHG-1"),
    ]
    assert all(r["user"] == jira_emulator.user for r in logged)


def test_control_endpoints_set_faults_and_reset_the_site(
    jira_emulator: JiraEmulator, http: requests.Session, new_change: Any
) -> None:
    new_change()
    control = f"{jira_emulator.base_url}/_emulator"
    assert http.post(f"{control}/faults", json={"fail_next": 1, "fail_status": 500}).status_code == 204
    assert http.get(f"{jira_emulator.base_url}/rest/api/2/myself").status_code == 500
    assert http.post(f"{control}/reset").status_code == 204
    assert http.get(f"{jira_emulator.base_url}/rest/api/2/issue/CHG-1").status_code == 404


def test_tls_with_the_generated_certificate() -> None:
    with JiraEmulator(tls=True) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:") and emu.cert_path is not None
        url = f"{emu.base_url}/rest/api/3/serverInfo"
        ok = requests.get(url, verify=str(emu.cert_path), auth=(emu.user, emu.secret))
        assert ok.status_code == 200 and ok.json()["baseUrl"] == emu.base_url
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, verify=requests.certs.where())
        assert emu.session().get(f"{emu.base_url}/rest/api/2/myself").status_code == 200
