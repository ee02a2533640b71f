"""The Grafana stand-in on its own, over raw HTTP, so each of Grafana's checks is seen to bite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from chgsync_grafana.standin import GrafanaStandIn


class Api:
    def __init__(self, standin: GrafanaStandIn) -> None:
        self.base = f"{standin.base_url}/api/annotations"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {standin.secret}"

    def post(self, body: Any) -> requests.Response:
        return self.session.post(self.base, json=body, timeout=5)

    def find(self, **params: Any) -> list[dict[str, Any]]:
        resp = self.session.get(self.base, params=params, timeout=5)
        assert resp.status_code == 200, resp.text
        found: list[dict[str, Any]] = resp.json()
        return found

    def one(self, method: str, annotation_id: int | str, body: Any = None) -> requests.Response:
        return self.session.request(method, f"{self.base}/{annotation_id}", json=body, timeout=5)


@pytest.fixture
def api(standin: GrafanaStandIn) -> Iterator[Api]:
    client = Api(standin)
    yield client
    client.session.close()


def test_post_answers_like_grafana_and_stores_a_region(standin: GrafanaStandIn, api: Api) -> None:
    resp = api.post({"time": 1507037197339, "timeEnd": 1507180805056, "tags": ["tag1", "tag2"],
                     "text": "Annotation Description", "unknownField": True})

    assert (resp.status_code, resp.json()) == (200, {"message": "Annotation added", "id": 1})
    stored = api.one("GET", 1).json()
    assert (stored["time"], stored["timeEnd"], stored["tags"]) == (1507037197339, 1507180805056, ["tag1", "tag2"])
    assert stored["dashboardUID"] is None and stored["dashboardId"] == 0 and stored["login"] == standin.user
    assert api.post({"text": "second"}).json()["id"] == 2


def test_point_without_time_is_now_and_reversed_region_is_swapped(standin: GrafanaStandIn, api: Api) -> None:
    now = api.post({"text": "now"}).json()["id"]
    swapped = api.post({"text": "r", "time": 2000, "timeEnd": 1000}).json()["id"]

    point = api.one("GET", now).json()
    assert point["time"] == point["timeEnd"] == point["created"] > 0
    assert (api.one("GET", swapped).json()["time"], api.one("GET", swapped).json()["timeEnd"]) == (1000, 2000)


@pytest.mark.parametrize(("body", "message", "error"), [
    ({"time": 1}, "Failed to save annotation", "text field should not be empty"),
    ({"text": ""}, "Failed to save annotation", "text field should not be empty"),
    ({"text": "t", "time": "1507037197339"}, "bad request data", "of type int64"),
    ({"text": "t", "timeEnd": 1.5e12}, "bad request data", "of type int64"),
    ({"text": "t", "tags": "a,b"}, "bad request data", "of type []string"),
    ({"text": "t", "tags": ["a", 1]}, "bad request data", "of type []string"),
    ({"text": "t", "panelId": True}, "bad request data", "of type int64"),
    (["text"], "bad request data", "cannot unmarshal"),
])
def test_bad_bodies_are_400_with_grafanas_message(standin: GrafanaStandIn, api: Api, body: Any, message: str,
                                                  error: str) -> None:
    resp = api.post(body)

    assert resp.status_code == 400
    assert resp.json()["message"] == message and error in resp.json()["error"]
    assert standin.annotations == {}


def test_tags_are_parsed_as_grafana_parses_them(api: Api) -> None:
    made = api.post({"text": "t", "tags": [" a : b ", "key:value:dropped", "a:b", "solo", ":no-key"]}).json()["id"]

    assert api.one("GET", made).json()["tags"] == ["a:b", "key:value", "solo"]


def test_tag_limits(standin: GrafanaStandIn, api: Api) -> None:
    too_many = api.post({"text": "t", "tags": [f"service:number-{n:03d}" for n in range(40)]})
    too_long = api.post({"text": "t", "tags": ["k:" + "v" * 101]})

    assert too_many.status_code == 400
    assert too_many.json() == {"message": "Tags length exceeds the maximum allowed.",
                               "messageId": "annotations.tag-limit-exceeded", "statusCode": 400, "traceID": ""}
    assert too_long.status_code == 500 and too_long.json()["message"] == "Failed to save annotation"
    assert standin.annotations == {}


def test_find_by_tags_all_or_any(api: Api) -> None:
    api.post({"text": "one", "tags": ["env:prod", "service:checkout"], "time": 1000})
    api.post({"text": "two", "tags": ["env:prod", "service:cart"], "time": 2000})
    api.post({"text": "three", "tags": ["env:dev"], "time": 3000})

    assert [a["text"] for a in api.find(tags=["env:prod", "service:cart"])] == ["two"]
    assert [a["text"] for a in api.find(tags=["service:cart", "env:dev"], matchAny="true")] == ["three", "two"]
    assert [a["text"] for a in api.find(tags="env:prod")] == ["two", "one"]
    assert api.find(tags="env") == []  # a key alone matches only tags without a value
    assert [a["text"] for a in api.find(limit=1)] == ["three"]
    assert [a["text"] for a in api.find(**{"from": 1500, "to": 2500})] == ["two"]
    assert api.find(type="alert") == [] and len(api.find(type="annotation")) == 3


def test_find_by_dashboard_and_panel(standin: GrafanaStandIn, api: Api) -> None:
    standin.dashboards["ops"] = 9
    api.post({"text": "panel", "dashboardUID": "ops", "panelId": 3})
    api.post({"text": "unknown dashboard: organisation annotation", "dashboardUID": "nope"})

    assert [a["text"] for a in api.find(dashboardUID="ops", panelId=3)] == ["panel"]
    assert [a["dashboardId"] for a in api.find()] == [0, 9]
    bad = api.session.get(api.base, params={"dashboardUID": "nope"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid dashboard UID in annotation request"


def test_patch_changes_only_what_it_is_given(api: Api) -> None:
    made = api.post({"text": "start", "tags": ["phase:started"], "time": 1000}).json()["id"]

    resp = api.one("PATCH", made, {"timeEnd": 5000, "text": ""})

    assert (resp.status_code, resp.json()) == (200, {"message": "Annotation patched"})
    after = api.one("GET", made).json()
    assert (after["time"], after["timeEnd"], after["text"], after["tags"]) == (1000, 5000, "start", ["phase:started"])
    api.one("PATCH", made, {"tags": ["phase:finished", "outcome:successful"], "text": "done"})
    after = api.one("GET", made).json()
    assert (after["text"], after["tags"]) == ("done", ["phase:finished", "outcome:successful"])
    assert api.one("PATCH", made, {"timeEnd": "soon"}).json()["message"] == "bad request data"


def test_put_replaces_text_and_tags(api: Api) -> None:
    made = api.post({"text": "start", "tags": ["a"], "time": 1000}).json()["id"]

    resp = api.one("PUT", made, {"text": "replaced", "timeEnd": 3000})

    assert resp.json() == {"message": "Annotation updated"}
    after = api.one("GET", made).json()
    assert (after["text"], after["tags"], after["time"], after["timeEnd"]) == ("replaced", [], 1000, 3000)


def test_delete_and_missing_annotations(standin: GrafanaStandIn, api: Api) -> None:
    made = api.post({"text": "t"}).json()["id"]

    assert api.one("DELETE", made).json() == {"message": "Annotation deleted"}
    for method, body in (("GET", None), ("PATCH", {"text": "x"}), ("PUT", {"text": "x"}), ("DELETE", None)):
        resp = api.one(method, made, body)
        assert (resp.status_code, resp.json()) == (404, {"message": "Annotation not found"})
    assert api.one("GET", "abc").json()["message"] == "annotationId is invalid"
    assert standin.annotations == {}


def test_authentication_answers(standin: GrafanaStandIn) -> None:
    url = f"{standin.base_url}/api/annotations"

    def post(headers: dict[str, str]) -> requests.Response:
        return requests.post(url, json={"text": "t"}, headers=headers, timeout=5)

    missing = post({})
    wrong = post({"Authorization": "Bearer glsa_wrong"})
    other_org = post({"Authorization": f"Bearer {standin.secret}", "X-Grafana-Org-Id": "2"})
    basic = requests.post(url, json={"text": "t"}, auth=("api_key", standin.secret), timeout=5)

    assert (missing.status_code, missing.json()["message"], missing.json()["messageId"]) == (
        401, "Unauthorized", "auth.unauthorized")
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Invalid API key")
    assert (other_org.status_code, other_org.json()["messageId"]) == (401, "api-key.organization-mismatch")
    assert basic.status_code == 200 and len(standin.annotations) == 1
    assert requests.get(f"{standin.base_url}/api/health", timeout=5).json()["database"] == "ok"


def test_faults_answer_with_grafanas_body(standin: GrafanaStandIn, api: Api) -> None:
    standin.faults.rate_limit(1, per=60, retry_after=42)
    assert api.post({"text": "t"}).status_code == 200

    limited = api.post({"text": "t"})

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "42")
    assert limited.json() == {"message": "Rate limit exceeded."}
    standin.faults.clear()
    standin.faults.fail_next(1, 502)
    assert api.post({"text": "t"}).status_code == 502
    assert len(standin.annotations) == 1


def test_seed_and_organisations() -> None:
    seed = {"dashboards": {"ops": 5},
            "annotations": [{"id": 40, "text": "seeded", "tags": ["change_id:chg-1"], "dashboardUID": "ops"},
                            {"text": "elsewhere", "tags": ["change_id:chg-1"], "orgId": 2}]}

    with GrafanaStandIn(seed=seed) as standin:
        (mine,) = standin.annotations_tagged("change_id:chg-1")
        assert (mine["id"], mine["dashboardUID"], mine["dashboardId"]) == (40, "ops", 5)
        assert [a["text"] for a in standin.annotations_tagged("change_id:chg-1", org_id=2)] == ["elsewhere"]
        api = Api(standin)
        assert [a["id"] for a in api.find(tags="change_id:chg-1")] == [40]  # the other org's stays hidden
        assert api.one("GET", 41).status_code == 404
        assert api.post({"text": "next"}).json()["id"] == 42
        assert standin.describe()["org_id"] == "1" and standin.describe()["token"] == standin.secret
        api.session.close()
