"""Rich text across API versions: wiki markup (v2) and Atlassian Document Format (v3)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.emulator.adf import adf_to_wiki, is_document, wiki_to_adf


def _p(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(nodes)}


def _t(text: str, *marks: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    kinds = [{"type": m} for m in marks] + ([{"type": "link", "attrs": {"href": href}}] if href else [])
    if kinds:
        node["marks"] = kinds
    return node


@pytest.mark.parametrize(
    ("wiki", "content"),
    [
        ("Plain text", [_p(_t("Plain text"))]),
        ("line one\nline two", [_p(_t("line one"), {"type": "hardBreak"}, _t("line two"))]),
        ("first\n\nsecond", [_p(_t("first")), _p(_t("second"))]),
        ("h2. Backout", [{"type": "heading", "attrs": {"level": 2}, "content": [_t("Backout")]}]),
        (
            "a *bold* _move_ with {{kubectl}}",
            [
                _p(
                    _t("a "),
                    _t("bold", "strong"),
                    _t(" "),
                    _t("move", "em"),
                    _t(" with "),
                    _t("kubectl", "code"),
                )
            ],
        ),
        (
            "see [the runbook|https://example.com/rb]",
            [_p(_t("see "), _t("the runbook", href="https://example.com/rb"))],
        ),
        (
            "* stop\n* start",
            [
                {
                    "type": "bulletList",
                    "content": [
                        {"type": "listItem", "content": [_p(_t("stop"))]},
                        {"type": "listItem", "content": [_p(_t("start"))]},
                    ],
                }
            ],
        ),
        ("# one", [{"type": "orderedList", "content": [{"type": "listItem", "content": [_p(_t("one"))]}]}]),
        (
            "{code:bash}\nsystemctl restart db\n{code}",
            [{"type": "codeBlock", "attrs": {"language": "bash"}, "content": [_t("systemctl restart db")]}],
        ),
        (
            "ping [~accountid:712020:abc]",
            [_p(_t("ping "), {"type": "mention", "attrs": {"id": "712020:abc", "text": ""}})],
        ),
        ("----", [{"type": "rule"}]),
    ],
)
def test_wiki_and_adf_convert_both_ways(wiki: str, content: list[dict[str, Any]]) -> None:
    doc = wiki_to_adf(wiki)
    assert doc == {"type": "doc", "version": 1, "content": content}
    assert is_document(doc)
    assert adf_to_wiki(doc) == wiki


@pytest.mark.parametrize(
    "value",
    [
        "text",
        {"type": "doc"},
        {"type": "doc", "version": 1, "content": [{"text": "x"}]},
        {"type": "doc", "version": 1, "content": [{"type": "blink"}]},
    ],
)
def test_what_is_not_a_document(value: Any) -> None:
    assert not is_document(value)


def test_written_in_one_version_read_in_the_other(
    jira_emulator: JiraEmulator, http: requests.Session, change_fields: Any
) -> None:
    base = jira_emulator.base_url
    doc = wiki_to_adf("Steps:\n* drain\n* patch")
    key = http.post(f"{base}/rest/api/3/issue", json={"fields": change_fields(description=doc)}).json()["key"]
    assert (
        http.get(f"{base}/rest/api/2/issue/{key}").json()["fields"]["description"]
        == "Steps:\n\n* drain\n* patch"
    )
    assert http.get(f"{base}/rest/api/3/issue/{key}").json()["fields"]["description"] == doc

    comment = http.post(f"{base}/rest/api/2/issue/{key}/comment", json={"body": "Looks *fine*."}).json()
    v3 = http.get(f"{base}/rest/api/3/issue/{key}/comment/{comment['id']}").json()
    assert v3["body"] == {
        "type": "doc",
        "version": 1,
        "content": [_p(_t("Looks "), _t("fine", "strong"), _t("."))],
    }
    refused = http.post(f"{base}/rest/api/3/issue/{key}/comment", json={"body": "plain"})
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["comment"]
    empty = http.post(f"{base}/rest/api/2/issue/{key}/comment", json={"body": ""})
    assert empty.json() == {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}
