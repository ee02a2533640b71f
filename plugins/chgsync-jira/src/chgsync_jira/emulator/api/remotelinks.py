"""Remote issue links: list, create or update by ``globalId``, read, update and delete by id."""

from __future__ import annotations

from .. import render
from ..errors import JiraError
from ..routing import NO_CONTENT, ApiRequest, Reply, route

LINKS_SPEC = "/rest/api/3/issue/{issueIdOrKey}/remotelink"
LINK_SPEC = "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"


@route("/rest/api/<ver:version>/issue/<issue>/remotelink", spec=LINKS_SPEC)
def list_links(req: ApiRequest, issue: str) -> Reply:
    """A list, or the one link with ``globalId`` (the description only documents the latter)."""
    found = req.site.issue(issue)
    global_id = req.arg("globalId")
    if global_id is not None:
        for link in found.remote_links:
            if link.global_id == global_id:
                return Reply(render.remote_link(link, found, req.view))
        raise JiraError(404, f"No remote link with globalId '{global_id}' exists on issue '{found.key}'.")
    return Reply([render.remote_link(link, found, req.view) for link in found.remote_links])


@route("/rest/api/<ver:version>/issue/<issue>/remotelink", methods=("POST",), spec=LINKS_SPEC)
def create_link(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    link, created = req.service.put_remote_link(found, req.json())
    return Reply(
        {"id": link.id, "self": f"{req.view.api}/issue/{found.id}/remotelink/{link.id}"},
        201 if created else 200,
    )


@route("/rest/api/<ver:version>/issue/<issue>/remotelink", methods=("DELETE",), spec=LINKS_SPEC)
def delete_link_by_global_id(req: ApiRequest, issue: str) -> Reply:
    found = req.site.issue(issue)
    global_id = req.arg("globalId")
    if not global_id:
        raise JiraError(400, "The query parameter 'globalId' is required.")
    before = len(found.remote_links)
    found.remote_links = [lk for lk in found.remote_links if lk.global_id != global_id]
    if len(found.remote_links) == before:
        raise JiraError(404, f"No remote link with globalId '{global_id}' exists on issue '{found.key}'.")
    return Reply(None, NO_CONTENT)


def _link_id(raw: str) -> int:
    if not raw.isdigit():
        raise JiraError(400, f"The remote link id '{raw}' is not a number.")
    return int(raw)


@route("/rest/api/<ver:version>/issue/<issue>/remotelink/<link_id>", spec=LINK_SPEC)
def get_link(req: ApiRequest, issue: str, link_id: str) -> Reply:
    found = req.site.issue(issue)
    return Reply(render.remote_link(req.service.remote_link(found, str(_link_id(link_id))), found, req.view))


@route("/rest/api/<ver:version>/issue/<issue>/remotelink/<link_id>", methods=("PUT",), spec=LINK_SPEC)
def update_link(req: ApiRequest, issue: str, link_id: str) -> Reply:
    found = req.site.issue(issue)
    req.service.put_remote_link(found, req.json(), link_id=_link_id(link_id))
    return Reply(None, NO_CONTENT)


@route("/rest/api/<ver:version>/issue/<issue>/remotelink/<link_id>", methods=("DELETE",), spec=LINK_SPEC)
def delete_link(req: ApiRequest, issue: str, link_id: str) -> Reply:
    found = req.site.issue(issue)
    link = req.service.remote_link(found, str(_link_id(link_id)))
    found.remote_links.remove(link)
    return Reply(None, NO_CONTENT)
