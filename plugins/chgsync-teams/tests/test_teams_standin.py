"""The stand-in on its own, driven with raw HTTP: signed URLs, the card checks, the limit and faults."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from chgsync_teams.standin import DEFAULT_WORKFLOW, TeamsStandIn

GOOD: dict[str, Any] = {
    "type": "message",
    "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [
                {"type": "Container", "style": "Attention", "items": [
                    {"type": "TextBlock", "text": "CHG-9 rolled back", "weight": "Bolder", "size": "Large"}]},
                {"type": "ColumnSet", "columns": [
                    {"type": "Column", "width": "auto", "items": [{"type": "TextBlock", "text": "left"}]},
                    {"type": "Column", "width": 2, "items": [{"type": "TextBlock", "text": "right"}]}]},
                {"type": "FactSet", "facts": [{"title": "Risk", "value": "high"}]},
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://jira.example.com/browse/OPS-1"}],
        },
    }],
}


def post(url: str, body: Any = None, *, raw: bytes | None = None, content_type: str = "application/json",
         method: str = "POST") -> requests.Response:
    data = raw if raw is not None else json.dumps(GOOD if body is None else body).encode()
    return requests.request(method, url, data=data, headers={"Content-Type": content_type}, timeout=5)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


@pytest.mark.parametrize("power_platform", [False, True])
def test_a_good_message_is_accepted_with_202_and_no_id(standin: TeamsStandIn, power_platform: bool) -> None:
    response = post(standin.workflow_url(power_platform=power_platform))

    assert response.status_code == 202 and response.content == b""
    [kept] = standin.posts(DEFAULT_WORKFLOW)
    assert kept.card == GOOD["attachments"][0]["content"]
    assert kept.size == len(json.dumps(GOOD).encode())


@pytest.mark.parametrize(("change", "status", "code"), [
    (lambda u: u.replace("sig=", "sig=x"), 401, "DirectApiInvalidAuthorizationSignature"),
    (lambda u: u.split("&sp=")[0], 401, "DirectApiAuthorizationRequired"),
    (lambda u: u.replace("&sv=1.0", ""), 401, "AuthorizationFailed"),
    (lambda u: u.replace("sp=%2Ftriggers%2Fmanual%2Frun", "sp=%2Ftriggers%2Fother%2Frun"), 401, "AuthorizationFailed"),
    (lambda u: u.replace("api-version=1&", ""), 400, "MissingApiVersionParameter"),
    (lambda u: u.replace(DEFAULT_WORKFLOW, "nope"), 404, "WorkflowNotFound"),
    (lambda u: u.replace("/paths/invoke", "/paths/other"), 404, "NotFound"),
])
def test_the_trigger_url_is_checked_like_logic_apps_does(standin: TeamsStandIn, change: Callable[[str], str],
                                                         status: int, code: str) -> None:
    response = post(change(standin.workflow_url()))

    assert error_of(response)[:2] == (status, code)
    assert standin.posts() == []


def test_each_workflow_has_its_own_signature(standin: TeamsStandIn) -> None:
    other = standin.add_workflow("ops01", "ops-signature-0123456789", name="ops")

    wrong = post(standin.workflow_url("ops01").replace("ops-signature-0123456789", standin.secret))
    right = post(standin.workflow_url("ops01"))

    assert wrong.status_code == 401 and right.status_code == 202
    assert len(other.posts) == 1 and standin.posts(DEFAULT_WORKFLOW) == []


def test_a_body_that_is_not_json_is_refused(standin: TeamsStandIn) -> None:
    as_text = post(standin.workflow_url(), content_type="text/plain")
    broken = post(standin.workflow_url(), raw=b'{"type": "message", ')

    assert error_of(as_text)[:2] == (400, "TriggerInputSchemaMismatch")
    assert "application/json" in error_of(as_text)[2]
    assert error_of(broken)[:2] == (400, "InvalidRequestContent")
    assert standin.posts() == []


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    message = copy.deepcopy(GOOD)
    target: Any = message
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return message


_DELETE = object()
_CARD = ("attachments", 0, "content")


@pytest.mark.parametrize(("path", "value", "pointer"), [
    (("type",), "MessageCard", "/type"),
    (("attachments",), [], "/attachments"),
    (("attachments", 0, "contentType"), "application/vnd.microsoft.card.hero", "/attachments/0/contentType"),
    ((*_CARD, "type"), "MessageCard", "/attachments/0/content/type"),
    ((*_CARD, "version"), "2.0", "/attachments/0/content/version"),
    ((*_CARD, "body"), [], "/attachments/0/content/body"),
    ((*_CARD, "body", 2, "type"), "Image", "/attachments/0/content/body/2/type"),
    ((*_CARD, "body", 0, "items", 0, "text"), _DELETE, "/attachments/0/content/body/0/items/0/text"),
    ((*_CARD, "body", 0, "style"), "loud", "/attachments/0/content/body/0/style"),
    ((*_CARD, "body", 0, "items", 0, "color"), "red", "/attachments/0/content/body/0/items/0/color"),
    ((*_CARD, "body", 1, "columns", 1, "items", 0), {"type": "Media"},
     "/attachments/0/content/body/1/columns/1/items/0/type"),
    ((*_CARD, "body", 2, "facts", 0), {"title": "Risk"}, "/attachments/0/content/body/2/facts/0"),
    ((*_CARD, "actions", 0, "type"), "Action.Submit", "/attachments/0/content/actions/0/type"),
    ((*_CARD, "actions", 0, "url"), _DELETE, "/attachments/0/content/actions/0/url"),
    ((*_CARD, "actions", 0, "url"), "jira/OPS-1", "/attachments/0/content/actions/0/url"),
])
def test_malformed_cards_are_refused_naming_the_place(standin: TeamsStandIn, path: tuple[Any, ...], value: Any,
                                                      pointer: str) -> None:
    response = post(standin.workflow_url(), _mutated(path, value))

    status, code, message = error_of(response)
    assert (status, code) == (400, "TriggerInputSchemaMismatch")
    assert f"{pointer}:" in message
    assert standin.posts() == []


def test_a_body_over_the_limit_is_413_and_nothing_is_kept(standin: TeamsStandIn) -> None:
    big = _mutated((*_CARD, "body", 2, "facts", 0, "value"), "x" * (28 * 1024))

    response = post(standin.workflow_url(), big)

    assert error_of(response)[:2] == (413, "RequestEntityTooLarge")
    assert standin.posts() == []


def test_only_post_is_taken(standin: TeamsStandIn) -> None:
    response = post(standin.workflow_url(), method="PUT")

    assert error_of(response)[:2] == (405, "MethodNotAllowed")
    assert response.headers["Allow"] == "POST"


def test_rate_limit_fault_answers_429_with_retry_after(standin: TeamsStandIn) -> None:
    standin.faults.rate_limit(1, per=60, retry_after=9)

    first, second = post(standin.workflow_url()), post(standin.workflow_url())

    assert first.status_code == 202
    assert error_of(second)[:2] == (429, "TooManyRequests")
    assert second.headers["Retry-After"] == "9"
    assert len(standin.posts()) == 1


def test_server_error_fault_uses_the_logic_apps_envelope(standin: TeamsStandIn) -> None:
    standin.faults.fail_next(1, status=502)

    assert error_of(post(standin.workflow_url()))[:2] == (502, "BadGateway")
    assert post(standin.workflow_url()).status_code == 202


def test_control_endpoints_take_the_signature(standin: TeamsStandIn) -> None:
    post(standin.workflow_url())

    listed = requests.get(f"{standin.base_url}/_emulator/requests?sig={standin.secret}", timeout=5)
    refused = requests.get(f"{standin.base_url}/_emulator/requests", timeout=5)

    assert listed.status_code == 200 and [r["status"] for r in listed.json()] == [202]
    assert refused.status_code == 401


def test_seed_and_describe() -> None:
    with TeamsStandIn(secret="cli-sig-0123456789", seed={"workflows": [{"id": "cab", "sig": "cab-sig-01234567"}]}) \
            as standin:
        info = standin.describe()

        assert info["sig"] == "cli-sig-0123456789"
        assert post(info["workflow_url"]).status_code == 202
        assert post(standin.workflow_url("cab")).status_code == 202
        assert set(standin.workflows) == {DEFAULT_WORKFLOW, "cab"}
