"""The stand-in answers like Statuspage's Manage API for any client: raw JSON, form posts, curl."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from chgsync_statuspage.standin import DEFAULT_PAGE_ID, StatuspageStandIn


def _call(standin: StatuspageStandIn, method: str, path: str, *, key: str | None = None, form: Any = None,
          content_type: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"OAuth {standin.secret if key is None else key}"}
    if content_type:
        headers["Content-Type"] = content_type
    url = f"{standin.base_url}/v1/pages/{DEFAULT_PAGE_ID}{path}"
    response = requests.request(method, url, headers=headers, data=form, timeout=5, **kwargs)
    return response.status_code, response.json()


def _create(standin: StatuspageStandIn, **incident: Any) -> dict[str, Any]:
    status, body = _call(standin, "POST", "/incidents",
                         json={"incident": {"name": "Payments down", "status": "investigating", **incident}})
    assert status == 201, body
    return body


def test_auth_by_header_or_query_and_statuspages_401(standin: StatuspageStandIn) -> None:
    assert _call(standin, "GET", "/components")[0] == 200
    query = requests.get(f"{standin.base_url}/v1/pages/{DEFAULT_PAGE_ID}/components.json",
                         params={"api_key": standin.secret}, timeout=5)
    assert query.status_code == 200 and len(query.json()) == 4

    assert _call(standin, "GET", "/components", key="wrong") == (401, {"error": "Could not authenticate"})
    bearer = requests.get(f"{standin.base_url}/v1/pages/{DEFAULT_PAGE_ID}/components",
                          headers={"Authorization": f"Bearer {standin.secret}"}, timeout=5)
    assert bearer.status_code == 401


def test_create_records_the_first_update_and_sets_components(standin: StatuspageStandIn) -> None:
    checkout = standin.component("Checkout").id

    created = _create(standin, body="Looking into it.", component_ids=[checkout],
                      components={checkout: "partial_outage"}, metadata={"chgsync": {"change_id": "CHG-1"}})

    assert created["status"] == "investigating" and created["impact"] == "major"
    assert [c["name"] for c in created["components"]] == ["Checkout"]
    [update] = created["incident_updates"]
    assert update["body"] == "Looking into it." and update["status"] == "investigating"
    assert update["affected_components"] == [{"code": checkout, "name": "Checkout", "old_status": "operational",
                                              "new_status": "partial_outage"}]
    assert standin.component("Checkout").status == "partial_outage"
    assert created["metadata"] == {"chgsync": {"change_id": "CHG-1"}}


def test_each_patch_with_a_body_or_new_status_appends_an_update(standin: StatuspageStandIn) -> None:
    incident = _create(standin, body="Looking.")
    path = f"/incidents/{incident['id']}"

    _call(standin, "PATCH", path, json={"incident": {"status": "identified", "body": "Found it."}})
    _call(standin, "PATCH", path, json={"incident": {"body": "Still on it."}})  # same status, new text
    _call(standin, "PATCH", path, json={"incident": {"status": "monitoring"}})  # new status, no text
    status, shown = _call(standin, "PATCH", path, json={"incident": {"name": "Payments failing"}})  # no update

    assert status == 200 and shown["name"] == "Payments failing"
    assert [(u["status"], u["body"]) for u in shown["incident_updates"]] == [
        ("monitoring", ""), ("identified", "Still on it."), ("identified", "Found it."), ("investigating", "Looking.")]
    assert shown["monitoring_at"] and shown["resolved_at"] is None


def test_resolving_leaves_components_alone_unless_told(standin: StatuspageStandIn) -> None:
    checkout = standin.component("Checkout").id
    incident = _create(standin, components={checkout: "major_outage"})

    _call(standin, "PATCH", f"/incidents/{incident['id']}", json={"incident": {"status": "resolved", "body": "Ok."}})

    assert standin.component("Checkout").status == "major_outage"  # as Statuspage: say what the components are


def test_unresolved_lists_open_realtime_incidents_newest_first(standin: StatuspageStandIn) -> None:
    first, second, third = (_create(standin, name=f"Incident {n}") for n in range(3))
    _call(standin, "PATCH", f"/incidents/{second['id']}", json={"incident": {"status": "resolved"}})

    status, found = _call(standin, "GET", "/incidents/unresolved")

    assert status == 200 and [i["id"] for i in found] == [third["id"], first["id"]]
    assert [i["id"] for i in _call(standin, "GET", "/incidents/unresolved", params={"per_page": 1, "page": 2})[1]] \
        == [first["id"]]
    assert [i["id"] for i in _call(standin, "GET", "/incidents", params={"q": "incident 1"})[1]] == [second["id"]]


def test_invalid_values_are_422_naming_each(standin: StatuspageStandIn) -> None:
    status, body = _call(standin, "POST", "/incidents", json={"incident": {
        "name": "", "status": "on_fire", "components": {"nope00000000": "down"}, "metadata": {"chgsync": "CHG-1"},
        "deliver_notifications": "yes"}})

    assert status == 422 and set(body) == {"error"}
    for words in ("Name can't be blank", "'on_fire'", "'nope00000000'", "Metadata", "Deliver notifications"):
        assert words in body["error"]
    assert standin.incidents_on() == []


def test_component_statuses_are_checked(standin: StatuspageStandIn) -> None:
    checkout = standin.component("Checkout").id

    status, body = _call(standin, "POST", "/incidents",
                         json={"incident": {"name": "x", "components": {checkout: "down"}}})

    assert status == 422 and "'down'" in body["error"]
    assert standin.component("Checkout").status == "operational"


def test_a_realtime_incident_cannot_take_a_maintenance_status(standin: StatuspageStandIn) -> None:
    incident = _create(standin)

    status, body = _call(standin, "PATCH", f"/incidents/{incident['id']}", json={"incident": {"status": "completed"}})

    assert status == 422 and "realtime" in body["error"]


def test_not_found_and_bad_request(standin: StatuspageStandIn) -> None:
    assert _call(standin, "GET", "/incidents/nosuch000000")[0] == 404
    unknown_page = requests.get(f"{standin.base_url}/v1/pages/otherpage000/incidents",
                                headers={"Authorization": f"OAuth {standin.secret}"}, timeout=5)
    assert unknown_page.status_code == 404 and "error" in unknown_page.json()
    status, body = _call(standin, "POST", "/incidents", json={"name": "not wrapped"})
    assert status == 400 and "incident" in body["error"]
    status, body = _call(standin, "POST", "/incidents", form="{", content_type="application/json")
    assert status == 400


def test_form_encoded_bodies_work_like_curl(standin: StatuspageStandIn) -> None:
    checkout = standin.component("Checkout").id

    status, body = _call(standin, "POST", "/incidents", form=[
        ("incident[name]", "From curl"), ("incident[status]", "identified"), ("incident[body]", "Hello"),
        ("incident[component_ids][]", checkout), (f"incident[components][{checkout}]", "degraded_performance"),
        ("incident[deliver_notifications]", "f")])

    assert status == 201, body
    assert body["name"] == "From curl" and body["status"] == "identified"
    assert body["incident_updates"][0]["deliver_notifications"] is False
    assert standin.component("Checkout").status == "degraded_performance"


def test_components_can_be_patched_and_are_paged(standin: StatuspageStandIn) -> None:
    search = standin.component("Search").id
    status, body = _call(standin, "PATCH", f"/components/{search}", json={"component": {"status": "major_outage"}})
    assert status == 200 and body["status"] == "major_outage"
    assert _call(standin, "PATCH", f"/components/{search}", json={"component": {"status": "meh"}})[0] == 422

    for n in range(100):
        standin.add_component(DEFAULT_PAGE_ID, f"Edge {n}")
    assert len(_call(standin, "GET", "/components")[1]) == 100
    assert len(_call(standin, "GET", "/components", params={"page": 2})[1]) == 4
    assert _call(standin, "GET", "/components", params={"per_page": 500})[0] == 400


def test_rate_limits_and_server_errors_carry_statuspages_envelope(standin: StatuspageStandIn) -> None:
    standin.rate_limit_status = 420
    standin.faults.rate_limit(0, per=60, retry_after=3)
    limited = requests.get(f"{standin.base_url}/v1/pages/{DEFAULT_PAGE_ID}/components",
                           headers={"Authorization": f"OAuth {standin.secret}"}, timeout=5)
    assert limited.status_code == 420 and limited.headers["Retry-After"] == "3" and "error" in limited.json()
    standin.faults.clear()

    standin.faults.fail_next(1, status=502)
    assert _call(standin, "GET", "/components")[0] == 502


def test_a_lost_answer_still_happened(standin: StatuspageStandIn) -> None:
    standin.lose_next_answer()

    with pytest.raises(requests.ConnectionError):
        _create(standin)

    assert len(standin.incidents_on()) == 1
    assert _call(standin, "GET", "/components")[0] == 200  # only the next one is lost


def test_seed_pages_and_components() -> None:
    seed = {"pages": [{"id": "seedpage0001", "name": "Seeded", "components": [
        "Web", {"name": "DB", "id": "db0000000001", "status": "under_maintenance"}, {"name": "Core", "group": True}]}]}
    with StatuspageStandIn(seed=seed, secret="k") as server:
        answer = requests.get(f"{server.base_url}/v1/pages/seedpage0001/components",
                              headers={"Authorization": "OAuth k"}, timeout=5).json()
        assert [(c["name"], c["status"], c["group"]) for c in answer] == [
            ("Web", "operational", False), ("DB", "under_maintenance", False), ("Core", "operational", True)]
        assert server.describe()["base_url"] == f"{server.base_url}/v1"
