"""Comments on issues: list (paged, ordered) and add, plus reading one by id."""

from __future__ import annotations

from typing import Any

from .. import render
from ..adf import wiki_to_html
from ..errors import JiraError
from ..model import Comment, Issue
from ..routing import ApiRequest, Reply, route

ORDERS = ("created", "-created", "+created")


def _comment_json(req: ApiRequest, comment: Comment, issue: Issue, expand: set[str]) -> dict[str, Any]:
    data = render.comment(req.site, comment, issue, req.view)
    if "renderedBody" in expand:
        data["renderedBody"] = wiki_to_html(comment.body.wiki())
    return data


@route("/rest/api/<ver:version>/issue/<issue>/comment", spec="/rest/api/3/issue/{issueIdOrKey}/comment")
def list_comments(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    start = req.arg_int("startAt", 0)
    size = req.arg_int("maxResults", 100)
    order = req.arg("orderBy") or "created"
    if order not in ORDERS:
        raise JiraError(400, f"The orderBy value '{order}' is not valid; use one of {', '.join(ORDERS)}.")
    comments = list(found.comments)
    if order == "-created":
        comments.reverse()
    expand = req.expand()
    page = comments[start : start + size]
    return Reply(
        {
            "comments": [_comment_json(req, c, found, expand) for c in page],
            "maxResults": size,
            "total": len(comments),
            "startAt": start,
        }
    )


@route(
    "/rest/api/<ver:version>/issue/<issue>/comment",
    methods=("POST",),
    spec="/rest/api/3/issue/{issueIdOrKey}/comment",
)
def add_comment(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    comment, events = req.service.add_comment(req.actor, found, req.json(), req.version)
    req.emulator.publish(events)
    return Reply(_comment_json(req, comment, found, req.expand()), 201)


@route(
    "/rest/api/<ver:version>/issue/<issue>/comment/<comment_id>",
    spec="/rest/api/3/issue/{issueIdOrKey}/comment/{id}",
)
def get_comment(req: ApiRequest, issue: str, comment_id: str) -> Reply:
    found = req.site.issue(issue)
    for comment in found.comments:
        if comment.id == comment_id:
            return Reply(_comment_json(req, comment, found, req.expand()))
    raise JiraError(404, f"Can not find a comment for the id: {comment_id}.")
