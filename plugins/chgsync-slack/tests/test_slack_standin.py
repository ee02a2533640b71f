"""The stand-in answers like Slack's Web API, for any client: slack-sdk, or raw JSON and form posts."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from chgsync_slack.standin import SlackStandIn
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


def _call(standin: SlackStandIn, method: str, *, token: str | None = None, form: bool = False,
          **args: Any) -> tuple[int, dict[str, Any]]:
    url = f"{standin.base_url}/api/{method}"
    if form:
        data = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in args.items()}
        if token is not None:
            data["token"] = token
        response = requests.post(url, data=data, timeout=5)
    else:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response = requests.post(url, json=args, headers=headers, timeout=5)
    return response.status_code, response.json()


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _post(standin: SlackStandIn, **args: Any) -> dict[str, Any]:
    status, body = _call(standin, "chat.postMessage", token=standin.secret, **args)
    assert status == 200
    return body


def test_auth_test_with_slack_sdk(standin: SlackStandIn) -> None:
    client = WebClient(token=standin.secret, base_url=f"{standin.base_url}/api/")
    answer = client.auth_test()
    assert answer["ok"] is True and answer["user_id"].startswith("U") and answer["bot_id"].startswith("B")


def test_a_wrong_token_is_refused_with_http_200_like_slack(standin: SlackStandIn) -> None:
    assert _call(standin, "auth.test", token="xoxb-wrong") == (200, {"ok": False, "error": "invalid_auth"})
    assert _call(standin, "auth.test") == (200, {"ok": False, "error": "not_authed"})
    client = WebClient(token="xoxb-wrong", base_url=f"{standin.base_url}/api/")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#changes", text="hello")
    assert caught.value.response["error"] == "invalid_auth"
    assert standin.roots("changes") == []


def test_form_encoded_posts_with_the_token_in_the_body(standin: SlackStandIn) -> None:
    status, body = _call(standin, "chat.postMessage", token=standin.secret, form=True, channel="changes",
                         text="fallback", blocks=[_header("CHG-1: Patch")],
                         metadata={"event_type": "chgsync_change", "event_payload": {"change_id": "CHG-1"}})
    assert status == 200 and body["ok"] is True
    [message] = standin.roots("#changes")
    assert message.blocks == [_header("CHG-1: Patch")]
    assert message.metadata == {"event_type": "chgsync_change", "event_payload": {"change_id": "CHG-1"}}
    assert standin.calls[-1].content_type == "application/x-www-form-urlencoded"
    assert "token" not in standin.calls[-1].args


def test_replies_must_name_a_message_in_that_channel(standin: SlackStandIn) -> None:
    root = _post(standin, channel="#changes", text="root")
    other = _post(standin, channel="#general", text="elsewhere")

    assert _post(standin, channel="#changes", text="r", thread_ts="1.000001")["error"] == "thread_not_found"
    assert _post(standin, channel="#changes", text="r", thread_ts=other["ts"])["error"] == "thread_not_found"
    reply = _post(standin, channel="#changes", text="r", thread_ts=root["ts"], reply_broadcast=True)
    nested = _post(standin, channel="#changes", text="r2", thread_ts=reply["ts"])

    assert reply["message"]["thread_ts"] == root["ts"]
    assert nested["message"]["thread_ts"] == root["ts"], "a reply to a reply joins the parent's thread"
    assert [m.text for m in standin.replies("changes", root["ts"])] == ["r", "r2"]
    assert float(root["ts"]) < float(reply["ts"]) < float(nested["ts"]), "ts values order messages"


@pytest.mark.parametrize(("args", "error"), [
    ({"text": "no channel"}, "channel_not_found"),
    ({"channel": "#nowhere", "text": "x"}, "channel_not_found"),
    ({"channel": "#changes"}, "no_text"),
    ({"channel": "#changes", "text": "x" * 40_001}, "msg_too_long"),
    ({"channel": "#changes", "text": "x", "metadata": {"event_type": "has space", "event_payload": {}}},
     "invalid_metadata_schema"),
    ({"channel": "#changes", "text": "x", "metadata": "not json"}, "invalid_metadata_format"),
])
def test_malformed_posts_are_refused(standin: SlackStandIn, args: dict[str, Any], error: str) -> None:
    assert _post(standin, **args)["error"] == error
    assert standin.roots("changes") == []


@pytest.mark.parametrize(("blocks", "problem"), [
    ([_header("h" * 151)], "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "[json-pointer:/blocks/0/text/type]"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}], "/blocks/0/text/text]"),
    ([{"type": "section"}], "must provide either text or fields"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
     "must provide no more than 10 items [json-pointer:/blocks/0/fields]"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "/blocks/0/fields/0/text]"),
    ([_header("h")] * 51, "must provide no more than 50 items [json-pointer:/blocks]"),
    ([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                       "url": "ftp://x"}]}], "must be a valid URL"),
    ([{"type": "carousel"}], "unknown block type"),
])
def test_block_kit_limits_are_enforced(standin: SlackStandIn, blocks: list[Any], problem: str) -> None:
    body = _post(standin, channel="#changes", text="x", blocks=blocks)
    assert body["error"] == "invalid_blocks"
    assert any(problem in e for e in body["errors"]), body["errors"]
    assert standin.roots("changes") == []


def test_chat_update_takes_a_channel_id_and_keeps_the_old_version(standin: SlackStandIn) -> None:
    root = _post(standin, channel="#changes", text="v1")
    _, by_name = _call(standin, "chat.update", token=standin.secret, channel="#changes", ts=root["ts"], text="v2")
    assert by_name == {"ok": False, "error": "channel_not_found"}

    status, body = _call(standin, "chat.update", token=standin.secret, channel=root["channel"], ts=root["ts"],
                         text="v2")
    assert status == 200 and body["ok"] is True and body["text"] == "v2"
    [message] = standin.roots("changes")
    assert message.text == "v2" and [v["text"] for v in message.versions] == ["v1"]
    assert "edited" in body["message"]

    missing = _call(standin, "chat.update", token=standin.secret, channel=root["channel"], ts="1.1", text="v3")
    assert missing[1]["error"] == "message_not_found"


def test_channel_membership_and_archives(standin: SlackStandIn) -> None:
    standin.load_seed({"channels": [{"name": "cab", "member": False}, {"name": "old", "archived": True}]})
    assert _post(standin, channel="#cab", text="x")["error"] == "not_in_channel"
    assert _post(standin, channel="old", text="x")["error"] == "is_archived"


def test_faults_answer_in_slacks_shape(standin: SlackStandIn) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=3)
    response = requests.post(f"{standin.base_url}/api/auth.test",
                             headers={"Authorization": f"Bearer {standin.secret}"}, timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"ok": False, "error": "ratelimited"}


def test_unknown_methods(standin: SlackStandIn) -> None:
    status, body = _call(standin, "chat.scheduleMessage", token=standin.secret, channel="#changes", text="x")
    assert (status, body["error"]) == (404, "unknown_method")


def test_describe_says_how_to_connect(standin: SlackStandIn) -> None:
    info = standin.describe()
    assert info["base_url"] == f"{standin.base_url}/api/"
    assert info["token"] == standin.secret
    assert "#changes" in info["channels"]
