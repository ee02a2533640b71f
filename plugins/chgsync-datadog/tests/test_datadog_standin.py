"""The Datadog stand-in on its own: raw HTTP, so each documented check is seen to bite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from chgsync_datadog.standin import DatadogStandIn


class Api:
    def __init__(self, standin: DatadogStandIn) -> None:
        self.standin = standin
        self.session = requests.Session()
        self.session.headers["DD-API-KEY"] = standin.secret

    def event(self, body: Any) -> requests.Response:
        return self.session.post(f"{self.standin.base_url}/api/v1/events", json=body, timeout=5)

    def deployment(self, attributes: Any) -> requests.Response:
        return self.session.post(f"{self.standin.base_url}/api/v2/dora/deployment",
                                 json={"data": {"attributes": attributes}}, timeout=5)


@pytest.fixture
def api(standin: DatadogStandIn) -> Iterator[Api]:
    client = Api(standin)
    yield client
    client.session.close()


GOOD_DEPLOYMENT = {"service": "checkout", "started_at": 1_795_000_000, "finished_at": 1_795_000_600_000,
                   "id": "chgsync:CHG0012345", "env": "prod", "custom_tags": ["change_id:CHG0012345"]}


def test_event_is_accepted_with_datadogs_answer(standin: DatadogStandIn, api: Api) -> None:
    resp = api.event({"title": "CHG0012345 → Implement", "text": "Scheduled 14:00–15:00 UTC",
                      "tags": ["change_id:CHG0012345", "service:checkout"], "alert_type": "info",
                      "aggregation_key": "CHG0012345", "source_type_name": "my_apps", "priority": "low"})

    assert resp.status_code == 202
    body = resp.json()
    assert body["status"] == "ok"
    assert body["event"]["id_str"] == str(body["event"]["id"])
    assert body["event"]["url"].endswith(f"/event/event?id={body['event']['id']}")
    assert standin.events_tagged("change_id:chg0012345")[0]["tags"] == ["change_id:chg0012345", "service:checkout"]


@pytest.mark.parametrize(("body", "complaint"), [
    ({"text": "x"}, "'title' is required"),
    ({"title": "t"}, "'text' is required"),
    ({"title": "t", "text": "x" * 4001}, "the limit is 4000"),
    ({"title": "t", "text": "x", "tags": "change_id:1"}, "'tags' must be a list of strings"),
    ({"title": "t", "text": "x", "alert_type": "critical"}, "'alert_type' must be one of"),
    ({"title": "t", "text": "x", "priority": "high"}, "'priority' must be one of"),
    ({"title": "t", "text": "x", "aggregation_key": "k" * 101}, "at most 100 characters"),
    ({"title": "t", "text": "x", "date_happened": "1795000000"}, "'date_happened' must be an integer"),
    ({"title": "t", "text": "x", "related_event_id": 1.5}, "'related_event_id' must be an integer"),
])
def test_event_violations_are_400_with_errors(standin: DatadogStandIn, api: Api, body: dict[str, Any],
                                              complaint: str) -> None:
    resp = api.event(body)

    assert resp.status_code == 400
    assert any(complaint in e for e in resp.json()["errors"]), resp.json()
    assert standin.events == []


def test_event_older_than_18_hours_is_refused(api: Api) -> None:
    old = int((datetime.now(UTC) - timedelta(hours=18, minutes=5)).timestamp())
    recent = int((datetime.now(UTC) - timedelta(hours=17)).timestamp())

    assert api.event({"title": "t", "text": "x", "date_happened": old}).status_code == 400
    assert api.event({"title": "t", "text": "x", "date_happened": recent}).status_code == 202


def test_deployment_is_stored_and_replaced_by_id(standin: DatadogStandIn, api: Api) -> None:
    first = api.deployment(GOOD_DEPLOYMENT)
    second = api.deployment({**GOOD_DEPLOYMENT, "finished_at": 1_795_000_900})

    assert first.status_code == second.status_code == 200
    assert first.json() == {"data": {"id": "chgsync:CHG0012345", "type": "dora_deployment"}}
    (stored,) = standin.deployments.values()
    assert stored["started_at_ns"] == 1_795_000_000 * 10**9
    assert stored["finished_at_ns"] == 1_795_000_900 * 10**9
    assert len(standin.deployment_posts) == 2
    assert standin.deployments_tagged("change_id:chg0012345") == [stored]


def test_deployment_without_id_gets_one(standin: DatadogStandIn, api: Api) -> None:
    attrs = {k: v for k, v in GOOD_DEPLOYMENT.items() if k != "id"}

    made = api.deployment(attrs).json()["data"]["id"]

    assert made in standin.deployments


@pytest.mark.parametrize(("change", "complaint"), [
    ({"id": "CHG0012345"}, "'id' must be 16-128 characters"),
    ({"id": "chgsync:CHG 0012345"}, "'id' must be 16-128 characters"),
    ({"id": "c" * 129}, "'id' must be 16-128 characters"),
    ({"service": ""}, "'service' is required"),
    ({"started_at": None}, "'started_at' is required"),
    ({"finished_at": "1795000600"}, "'finished_at' is required"),
    ({"finished_at": 1_795_000_600_000_000}, "is not a Unix time"),
    ({"env": 1}, "'env' must be a string"),
    ({"custom_tags": ["t"] * 101}, "at most 100 strings"),
    ({"git": {"repository_url": "https://github.com/acme/cart"}}, "'git' needs both"),
])
def test_deployment_violations_are_400_with_errors(standin: DatadogStandIn, api: Api, change: dict[str, Any],
                                                   complaint: str) -> None:
    resp = api.deployment({**GOOD_DEPLOYMENT, **change})

    assert resp.status_code == 400
    assert any(complaint in e for e in resp.json()["errors"]), resp.json()
    assert standin.deployments == {}


def test_deployment_needs_the_envelope(api: Api, standin: DatadogStandIn) -> None:
    resp = api.session.post(f"{standin.base_url}/api/v2/dora/deployment", json=GOOD_DEPLOYMENT, timeout=5)
    assert resp.status_code == 400 and "data" in resp.json()["errors"][0]


def test_requests_without_the_api_key_are_forbidden(standin: DatadogStandIn) -> None:
    for headers in ({}, {"DD-API-KEY": "wrong"}, {"Authorization": f"Bearer {standin.secret}"}):
        resp = requests.post(f"{standin.base_url}/api/v1/events", json={"title": "t", "text": "x"},
                             headers=headers, timeout=5)
        assert (resp.status_code, resp.json()) == (403, {"errors": ["Forbidden"]})
    assert standin.events == []


def test_validate_and_unknown_paths(standin: DatadogStandIn, api: Api) -> None:
    assert api.session.get(f"{standin.base_url}/api/v1/validate", timeout=5).json() == {"valid": True}
    missing = api.session.get(f"{standin.base_url}/api/v1/dashboards", timeout=5)
    assert missing.status_code == 404 and "errors" in missing.json()


def test_rate_limit_speaks_datadogs_headers(standin: DatadogStandIn, api: Api) -> None:
    standin.faults.rate_limit(1, per=60, retry_after=42)

    assert api.event({"title": "t", "text": "x"}).status_code == 202
    limited = api.event({"title": "t", "text": "x"})

    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Reset"] == "42" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers


def test_seed_loads_events_and_deployments() -> None:
    seed = {"events": [{"title": "t", "text": "x", "tags": ["Change_ID:A"]}], "deployments": [GOOD_DEPLOYMENT]}
    standin = DatadogStandIn(seed=seed)

    assert standin.events_tagged("change_id:a")[0]["id_str"]
    assert list(standin.deployments) == ["chgsync:CHG0012345"]
