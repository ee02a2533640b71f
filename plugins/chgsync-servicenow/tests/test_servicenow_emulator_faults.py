"""Authentication and injected server faults, answered in ServiceNow's envelope."""

from __future__ import annotations

from typing import Any

import pysnow
import pytest
import requests
from chgsync_servicenow.emulator import ServiceNowEmulator

UNAUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


@pytest.mark.parametrize("auth", [None, ("admin", "wrong"), ("someone", "Emulat0r-Passw0rd")])
def test_401_without_valid_basic_auth(servicenow_emulator: ServiceNowEmulator, auth: Any) -> None:
    resp = requests.get(f"{servicenow_emulator.base_url}/api/now/table/change_request", auth=auth, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == UNAUTHENTICATED
    assert resp.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
    assert resp.headers["X-Is-Logged-In"] == "false"
    assert servicenow_emulator.requests.count(status=401) == 1


def test_pysnow_with_a_bad_password(servicenow_emulator: ServiceNowEmulator) -> None:
    client = pysnow.Client(
        host=f"127.0.0.1:{servicenow_emulator.port}", user="admin", password="nope", use_ssl=False
    )
    with pytest.raises(requests.HTTPError) as caught:
        client.resource(api_path="/table/change_request").get().all()
    assert caught.value.response is not None and caught.value.response.status_code == 401


def test_429_with_retry_after(api: Any, emulator: ServiceNowEmulator) -> None:
    emulator.faults.rate_limit(2, per=60, retry_after=7)
    assert [api.get("cmdb_ci").status_code for _ in range(3)] == [200, 200, 429]
    limited = api.get("cmdb_ci")
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["status"] == "failure"
    assert limited.json()["error"]["message"] == "Rate limit exceeded"
    emulator.faults.rate_limit(None)
    assert api.get("cmdb_ci").status_code == 200


def test_5xx_burst_then_recovery(api: Any, emulator: ServiceNowEmulator) -> None:
    emulator.faults.fail_next(2, status=503)
    statuses = [api.get("cmdb_ci").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert emulator.requests.count("GET", "/api/now/table/cmdb_ci", status=503) == 2


def test_burst_does_not_half_apply_writes(api: Any, emulator: ServiceNowEmulator) -> None:
    emulator.faults.fail_next(1, status=500)
    assert api.post("change_request", {"short_description": "x"}).status_code == 500
    assert emulator.find_records("change_request") == []


def test_outage_on_and_off(api: Any, emulator: ServiceNowEmulator) -> None:
    resp = api.session.post(api.url("/_emulator/faults"), json={"outage": True}, timeout=10)
    assert resp.status_code == 204
    down = api.get("change_request")
    assert down.status_code == 503
    assert down.json()["status"] == "failure"
    assert api.post("change_request", {"short_description": "x"}).status_code == 503
    api.session.post(api.url("/_emulator/faults"), json={"outage": False}, timeout=10)
    assert api.get("change_request").status_code == 200
    assert emulator.find_records("change_request") == []


def test_request_counting(api: Any, emulator: ServiceNowEmulator) -> None:
    emulator.requests.clear()
    change = api.create_change()
    api.patch("change_request", change["sys_id"], {"short_description": "y"})
    api.get("change_request")
    assert emulator.requests.count() == 3
    assert emulator.requests.count("POST", "/api/now/table/change_request") == 1
    assert emulator.requests.count(path="/api/now/table/change_request/") == 1
    log = api.session.get(api.url("/_emulator/requests"), timeout=10).json()
    assert [(r["method"], r["status"], r["user"]) for r in log] == [
        ("POST", 201, "admin"),
        ("PATCH", 200, "admin"),
        ("GET", 200, "admin"),
    ]
