"""Workflow reading: ``POST /rest/api/{2,3}/workflows`` (Cloud's current bulk read).

Integrations use it to see which transitions exist between which statuses without having to
create a probe issue: the chgsync adapter's ``mapping check`` compares its declared transitions
with it. The older ``GET /workflow/search`` is deprecated in the Cloud description and is not
served. Shapes follow the description's ``WorkflowReadResponse``; the emulator has no layouts,
rules or triggers, so those lists are empty. Each workflow's initial transition is reported as
Jira does (id 1, type ``INITIAL``) unless a seed gave a regular transition that id.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import JiraError
from ..model import Status, Workflow
from ..routing import ApiRequest, Reply, route

READ_BODY = ("projectAndIssueTypes", "workflowIds", "workflowNames")
CATEGORY = {"new": "TODO", "indeterminate": "IN_PROGRESS", "done": "DONE", "undefined": "TODO"}


def workflow_id(name: str) -> str:
    """Workflows have UUIDs on Cloud; the emulator derives a stable one from the name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jira-emulator:workflow:{name}"))


@route("/rest/api/<ver:version>/workflows", methods=("POST",), spec="/rest/api/3/workflows")
def read_workflows(req: ApiRequest) -> Reply:
    body = req.json()
    if not isinstance(body, dict):
        raise JiraError(400, "The request body must be a JSON object.")
    for key, value in body.items():
        if key not in READ_BODY:
            raise JiraError(400, f'Unrecognized field "{key}", not marked as ignorable.')
        if value is not None and not isinstance(value, list):
            raise JiraError(400, f"The value of '{key}' must be an array.")
    wanted: dict[str, Workflow] = {}
    by_id = {workflow_id(name): wf for name, wf in req.site.workflows.items()}
    for name in body.get("workflowNames") or []:
        if isinstance(name, str) and name in req.site.workflows:
            wanted[name] = req.site.workflows[name]
    for wid in body.get("workflowIds") or []:
        if isinstance(wid, str) and wid in by_id:
            wanted[by_id[wid].name] = by_id[wid]
    for n, pair in enumerate(body.get("projectAndIssueTypes") or []):
        if not isinstance(pair, dict) or not {"projectId", "issueTypeId"} <= set(pair):
            raise JiraError(
                400, f"projectAndIssueTypes[{n}] must be an object with 'projectId' and 'issueTypeId'."
            )
        project = req.site.projects.get(str(pair["projectId"]))
        config = project.issue_types.get(str(pair["issueTypeId"])) if project is not None else None
        if config is not None:
            wanted[config.workflow] = req.site.workflows[config.workflow]
    referenced: dict[str, Status] = {}
    workflows = []
    for wf in wanted.values():
        for sid in wf.statuses:
            referenced[sid] = req.site.statuses[sid]
        workflows.append(_workflow(wf))
    return Reply({"statuses": [_status(s) for s in referenced.values()], "workflows": workflows})


def _status(s: Status) -> dict[str, Any]:
    return {
        "description": s.description,
        "id": s.id,
        "name": s.name,
        "scope": {"type": "GLOBAL"},
        "statusCategory": CATEGORY.get(s.category.key, "TODO"),
        "statusReference": s.id,
    }


def _transition(tid: str, name: str, kind: str, to: str, sources: tuple[str, ...]) -> dict[str, Any]:
    return {
        "actions": [],
        "description": "",
        "id": tid,
        "links": [{"fromPort": 0, "fromStatusReference": s, "toPort": 1} for s in sources],
        "name": name,
        "properties": {},
        "toStatusReference": to,
        "triggers": [],
        "type": kind,
        "validators": [],
    }


def _workflow(wf: Workflow) -> dict[str, Any]:
    transitions = []
    if all(t.id != "1" for t in wf.transitions):
        transitions.append(_transition("1", "Create", "INITIAL", wf.initial, ()))
    for t in wf.transitions:
        transitions.append(_transition(t.id, t.name, "GLOBAL" if t.is_global else "DIRECTED", t.to, t.sources))
    wid = workflow_id(wf.name)
    return {
        "description": "",
        "id": wid,
        "isEditable": True,
        "name": wf.name,
        "scope": {"type": "GLOBAL"},
        "statuses": [
            {"deprecated": False, "properties": {}, "statusReference": sid} for sid in wf.statuses
        ],
        "transitions": transitions,
        "version": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, wid)), "versionNumber": 1},
    }
