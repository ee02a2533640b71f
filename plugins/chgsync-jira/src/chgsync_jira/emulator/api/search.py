"""JQL search endpoints: enhanced ``/search/jql`` (GET and POST), the older ``/search``, and the count."""

from __future__ import annotations

from typing import Any

from ..errors import JiraError
from ..routing import ApiRequest, Reply, route
from ..search import Searcher

# POST bodies are strict beans on Jira's side: unknown properties are refused.
ENHANCED_BODY: dict[str, tuple[type, ...]] = {
    "jql": (str,),
    "nextPageToken": (str,),
    "maxResults": (int,),
    "fields": (list,),
    "expand": (str,),
    "properties": (list,),
    "fieldsByKeys": (bool,),
    "reconcileIssues": (list,),
    "failFast": (bool,),
}
LEGACY_BODY: dict[str, tuple[type, ...]] = {
    "jql": (str,),
    "startAt": (int,),
    "maxResults": (int,),
    "fields": (list,),
    "expand": (list,),
    "properties": (list,),
    "fieldsByKeys": (bool,),
    "validateQuery": (str,),
}
VALIDATE_QUERY = ("strict", "warn", "none", "true", "false")


def _searcher(req: ApiRequest) -> Searcher:
    return Searcher(req.site, req.view, req.emulator.clock(), req.user.account_id if req.user else None)


def _body(req: ApiRequest, allowed: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise JiraError(400, "The request body must be a JSON object.")
    for key, value in body.items():
        if key not in allowed:
            raise JiraError(400, f'Unrecognized field "{key}", not marked as ignorable.')
        types = allowed[key]
        if value is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        ):
            raise JiraError(400, f"The value of '{key}' must be {_describe(types)}.")
    return body


def _describe(types: tuple[type, ...]) -> str:
    return {str: "a string", int: "an integer", list: "an array", bool: "true or false"}[types[0]]


def _split(values: Any) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def _check_reconcile(values: Any) -> None:
    if values is None:
        return
    if len(values) > 50 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise JiraError(400, "'reconcileIssues' must be a list of at most 50 issue ids (numbers).")


@route("/rest/api/<ver:version>/search/jql", spec="/rest/api/3/search/jql")
def enhanced_get(req: ApiRequest) -> Reply:
    reconcile = req.arg_list("reconcileIssues")
    if reconcile is not None and not all(v.isdigit() for v in reconcile):
        raise JiraError(400, "'reconcileIssues' must be a list of at most 50 issue ids (numbers).")
    max_results = req.arg_int("maxResults", 50, minimum=None) if req.arg("maxResults") is not None else None
    data = _searcher(req).enhanced(
        req.arg("jql") or "", req.arg_list("fields"), req.expand(), max_results, req.arg("nextPageToken")
    )
    return Reply(data)


@route("/rest/api/<ver:version>/search/jql", methods=("POST",), spec="/rest/api/3/search/jql")
def enhanced_post(req: ApiRequest) -> Reply:
    body = _body(req, ENHANCED_BODY)
    _check_reconcile(body.get("reconcileIssues"))
    data = _searcher(req).enhanced(
        body.get("jql") or "",
        _split(body.get("fields")),
        req.expand(body.get("expand")),
        body.get("maxResults"),
        body.get("nextPageToken"),
    )
    return Reply(data)


@route(
    "/rest/api/<ver:version>/search",
    spec="/rest/api/3/search",
    note="Deprecated and removed from Cloud in 2025; answers 410 when the seed sets legacySearch: false.",
)
def legacy_get(req: ApiRequest) -> Reply:
    validate = req.arg("validateQuery")
    if validate is not None and validate not in VALIDATE_QUERY:
        raise JiraError(400, f"The value '{validate}' is not valid for parameter 'validateQuery'.")
    data = _searcher(req).legacy(
        req.arg("jql") or "",
        req.arg_list("fields"),
        req.expand(),
        req.arg_int("startAt", 0),
        req.arg_int("maxResults", 50),
    )
    return Reply(data)


@route(
    "/rest/api/<ver:version>/search",
    methods=("POST",),
    spec="/rest/api/3/search",
    note="Deprecated and removed from Cloud in 2025; answers 410 when the seed sets legacySearch: false.",
)
def legacy_post(req: ApiRequest) -> Reply:
    body = _body(req, LEGACY_BODY)
    validate = body.get("validateQuery")
    if validate is not None and validate not in VALIDATE_QUERY:
        raise JiraError(400, f"The value '{validate}' is not valid for 'validateQuery'.")
    start = body.get("startAt") or 0
    size = body.get("maxResults")
    if start < 0 or (size is not None and size < 0):
        raise JiraError(400, "'startAt' and 'maxResults' must not be negative.")
    data = _searcher(req).legacy(
        body.get("jql") or "",
        _split(body.get("fields")),
        req.expand(body.get("expand")),
        start,
        50 if size is None else size,
    )
    return Reply(data)


@route(
    "/rest/api/<ver:version>/search/approximate-count",
    methods=("POST",),
    spec="/rest/api/3/search/approximate-count",
)
def approximate_count(req: ApiRequest) -> Reply:
    body = _body(req, {"jql": (str,)})
    return Reply({"count": _searcher(req).count(body.get("jql") or "")})
