"""The PagerDuty stand-in on its own: raw HTTP, so each documented check is seen to bite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from chgsync_pagerduty.standin import PagerDutyStandIn, parse_timestamp

from chgsync.errors import InputError


class Api:
    def __init__(self, standin: PagerDutyStandIn) -> None:
        self.standin = standin
        self.session = requests.Session()

    def change(self, body: Any) -> requests.Response:
        return self.session.post(f"{self.standin.base_url}/v2/change/enqueue", json=body, timeout=5)


@pytest.fixture
def api(standin: PagerDutyStandIn) -> Iterator[Api]:
    client = Api(standin)
    yield client
    client.session.close()


def good(standin: PagerDutyStandIn, **changes: Any) -> dict[str, Any]:
    """PagerDuty's documented example change event, sent to the stand-in's default service."""
    body: dict[str, Any] = {
        "routing_key": standin.secret,
        "payload": {"summary": "Build Success: Increase snapshot create timeout to 30 seconds",
                    "timestamp": "2020-07-17T08:42:58.315+0000", "source": "acme-build-pipeline-tool-default-i-9999",
                    "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}},
        "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}],
    }
    payload = {k[len("payload."):]: v for k, v in changes.items() if k.startswith("payload.")}
    body["payload"].update(payload)
    body["payload"] = {k: v for k, v in body["payload"].items() if v is not ...}
    body.update({k: v for k, v in changes.items() if not k.startswith("payload.")})
    return {k: v for k, v in body.items() if v is not ...}


def test_documented_example_is_accepted_with_pagerdutys_answer(standin: PagerDutyStandIn, api: Api) -> None:
    resp = api.change(good(standin))

    assert resp.status_code == 202
    assert resp.json() == {"status": "success", "message": "Change event processed"}
    (event,) = standin.events_for("Default Service")
    assert event["payload"]["custom_details"]["build_state"] == "passed"
    assert event["links"][0]["href"] == "https://acme.pagerduty.dev/build/2"


def test_only_summary_is_required_in_the_payload(standin: PagerDutyStandIn, api: Api) -> None:
    resp = api.change({"routing_key": standin.secret, "payload": {"summary": "Deployed"}})
    assert resp.status_code == 202 and standin.events[0]["payload"] == {"summary": "Deployed"}


def test_events_land_on_the_service_their_key_names(standin: PagerDutyStandIn, api: Api) -> None:
    checkout = standin.add_service("Checkout")

    api.change(good(standin, routing_key=checkout))
    api.change(good(standin))

    assert [e["service"] for e in standin.events] == ["Checkout", "Default Service"]
    assert len(standin.events_for("Checkout")) == 1


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"routing_key": ...}, "'routing_key' is required"),
    ({"routing_key": "abc"}, "Length of 'routing_key' is incorrect (should be 32 characters)"),
    ({"routing_key": "0123456789abcdef0123456789abcde!"}, "'routing_key' cannot contain non-alphanumeric"),
    ({"routing_key": "f" * 32}, "Invalid routing key"),
    ({"payload": ...}, "'payload' is required"),
    ({"payload": "Deployed"}, "'payload' is required and must be an object"),
    ({"payload.summary": ...}, "'payload.summary' is required"),
    ({"payload.summary": "   "}, "non-blank"),
    ({"payload.summary": "s" * 1025}, "should be at most 1024 characters, is 1025"),
    ({"payload.source": 9}, "'payload.source' must be a string"),
    ({"payload.timestamp": "yesterday"}, "'payload.timestamp' must be an ISO 8601 time"),
    ({"payload.timestamp": "2026-03-02T14:01:07"}, "with a zone"),
    ({"payload.timestamp": "2026-02-30T14:01:07Z"}, "'payload.timestamp'"),
    ({"payload.timestamp": 1772460067}, "'payload.timestamp'"),
    ({"payload.custom_details": ["a"]}, "'payload.custom_details' must be an object"),
    ({"links": {"href": "https://x.example"}}, "'links' must be a list"),
    ({"links": ["https://x.example"]}, "'links[0]' must be an object"),
    ({"links": [{"text": "no href"}]}, "'links[0].href' is required"),
    ({"links": [{"href": "/relative"}]}, "absolute http or https URL"),
    ({"links": [{"href": "https://x.example", "text": 3}]}, "'links[0].text' must be a string"),
    ({"images": [{"src": "http://x.example/a.png"}]}, "'images[0].src' is required and must be an absolute https"),
])
def test_violations_are_400_invalid_event(standin: PagerDutyStandIn, api: Api, changes: dict[str, Any],
                                          complaint: str) -> None:
    resp = api.change(good(standin, **changes))

    assert resp.status_code == 400
    body = resp.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(complaint in e for e in body["errors"]), body
    assert standin.events == []


def test_every_problem_is_listed(standin: PagerDutyStandIn, api: Api) -> None:
    body = api.change({"routing_key": "abc!", "payload": {"source": 1}}).json()
    assert body["errors"] == [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'routing_key' cannot contain non-alphanumeric characters.",
        "'payload.summary' is required and must be a non-blank string.",
        "'payload.source' must be a string."]


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b""])
def test_unreadable_body_is_an_unrecognized_object(standin: PagerDutyStandIn, api: Api, data: bytes) -> None:
    resp = api.session.post(f"{standin.base_url}/v2/change/enqueue", data=data,
                            headers={"Content-Type": "application/json"}, timeout=5)
    assert (resp.status_code, resp.json()) == (400, {"status": "Unrecognized object",
                                                     "message": "Event object format is unrecognized",
                                                     "errors": ["JSON parse error"]})


@pytest.mark.parametrize(("text", "ok"), [
    ("2020-07-17T08:42:58.315+0000", True), ("2026-03-02T14:01:07.250Z", True), ("2026-03-02T14:01:07+01:00", True),
    ("2026-03-02T14:01Z", True), ("2026-03-02T14:01:07.123456789Z", True), ("2026-03-02 14:01:07Z", False),
    ("2026-03-02", False), ("2026-13-02T14:01:07Z", False),
])
def test_timestamp_forms(text: str, ok: bool) -> None:
    assert (parse_timestamp(text) is not None) is ok


def test_rate_limit_answers_429_without_advice(standin: PagerDutyStandIn, api: Api) -> None:
    standin.faults.rate_limit(1, per=60, retry_after=42)

    assert api.change(good(standin)).status_code == 202
    limited = api.change(good(standin))

    assert limited.status_code == 429
    assert limited.json()["status"] == "Request Limit Exceeded"
    assert "Retry-After" not in limited.headers
    standin.send_retry_after = True
    assert api.change(good(standin)).headers["Retry-After"] == "42"
    assert len(standin.events) == 1


def test_faults_answer_in_pagerdutys_error_shape(standin: PagerDutyStandIn, api: Api) -> None:
    standin.faults.fail_next(1, 502)

    failed = api.change(good(standin))

    assert failed.status_code == 502
    assert failed.json() == {"status": "Bad Gateway", "message": "Internal server error (emulated fault)."}
    assert api.change(good(standin)).status_code == 202


def test_alert_events_and_other_paths_are_not_served(standin: PagerDutyStandIn, api: Api) -> None:
    alert = api.session.post(f"{standin.base_url}/v2/enqueue", json={"routing_key": standin.secret}, timeout=5)
    assert alert.status_code == 404 and "change events only" in alert.json()["message"]
    assert api.session.get(f"{standin.base_url}/v2/change/enqueue", timeout=5).status_code == 404


def test_control_endpoints_still_need_the_emulators_basic_auth(standin: PagerDutyStandIn, api: Api) -> None:
    api.change(good(standin))
    assert requests.post(f"{standin.base_url}/_emulator/reset", timeout=5).status_code == 401

    reset = requests.post(f"{standin.base_url}/_emulator/reset", auth=(standin.user, standin.secret), timeout=5)

    assert reset.status_code == 204 and standin.events == []


def test_seed_adds_services_and_refuses_bad_ones() -> None:
    key = "0123456789abcdef0123456789abcdef"
    standin = PagerDutyStandIn(seed={"services": {"Checkout": key}})
    assert standin.services[key] == "Checkout"

    with pytest.raises(InputError, match="services.Checkout.*32-character"):
        PagerDutyStandIn(seed={"services": {"Checkout": "short"}})
    with pytest.raises(InputError, match="expected 'services'"):
        PagerDutyStandIn(seed={"incidents": []})
    with pytest.raises(InputError, match="token.*ruleset"):
        PagerDutyStandIn(secret="R" + "0" * 31)


def test_describe_names_the_endpoint_and_key(standin: PagerDutyStandIn) -> None:
    info = standin.describe()
    assert info["endpoint"] == f"{standin.base_url}/v2/change/enqueue"
    assert info["routing_key"] == standin.secret
