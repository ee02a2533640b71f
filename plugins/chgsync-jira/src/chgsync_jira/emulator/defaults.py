"""The site every emulator starts with, written in the seed format so it goes through the same loader.

- ``CHG``: a Jira Service Management project set up for change management: issue type *Change*
  with the ITSM template's fields (change type, risk, reason, impact, urgency, planned start/end,
  implementation/backout/test plans, affected services, approvers) and a change workflow modelled
  on JSM's: Planning -> Peer review -> Awaiting CAB approval -> Awaiting implementation ->
  Implementing -> Completed / Failed, with Declined and Canceled exits and a way back to Planning.
- ``OPS``: a Jira Software project with *Task* and the simplified To Do / In Progress / Done
  workflow (global transitions, as team boards have).

Ids are fixed so tests and documentation can name them; see the package README for the table.
"""

from __future__ import annotations

from typing import Any

DEFAULT_TIME_ZONE = "Europe/Berlin"

CHANGE_WORKFLOW = "CHG: Change management workflow"
SOFTWARE_WORKFLOW = "OPS: Software simplified workflow"

_SELECTS: dict[str, list[str]] = {
    "customfield_10040": ["Standard", "Normal", "Emergency"],
    "customfield_10041": ["Low", "Medium", "High", "Critical"],
    "customfield_10042": ["Repair", "Upgrade", "Maintenance", "New functionality", "Other"],
    "customfield_10043": [
        "Extensive / Widespread",
        "Significant / Large",
        "Moderate / Limited",
        "Minor / Localized",
    ],
    "customfield_10044": ["Critical", "High", "Medium", "Low"],
    "customfield_10054": ["CAB review", "Approved", "Scheduled", "Closed", "Rejected", "Cancelled"],
    "customfield_10060": ["Development", "Staging", "Production"],
    "customfield_10069": ["Successful", "Successful with issues", "Unsuccessful", "Rolled back"],
}


def _options(field_id: str, first_id: int) -> list[dict[str, str]]:
    return [{"id": str(first_id + n), "value": v} for n, v in enumerate(_SELECTS[field_id])]


def default_document(user_email: str) -> dict[str, Any]:
    """The default site; ``user_email`` is the account the emulator accepts (the integration user)."""
    return {
        "settings": {
            "timeZone": "UTC",
            "legacySearch": True,
            "dynamicWebhooksForUsers": False,
            "title": "Jira",
        },
        "users": [
            {"email": user_email, "displayName": "chgsync integration", "timeZone": DEFAULT_TIME_ZONE},
            {
                "email": "alex.morgan@example.com",
                "displayName": "Alex Morgan",
                "timeZone": "America/New_York",
            },
            {"email": "priya.shah@example.com", "displayName": "Priya Shah", "timeZone": "Asia/Kolkata"},
            # the people of chgsync.testing.samples: who asks for a change, who carries it out
            {"email": "dana@example.com", "displayName": "Dana Whitfield", "timeZone": "Europe/London"},
            {"email": "sam@example.com", "displayName": "Sam Okafor", "timeZone": "Europe/London"},
            {
                "email": "automation@example.com",
                "displayName": "Automation for Jira",
                "accountType": "app",
                "timeZone": "UTC",
            },
        ],
        "priorities": [
            {"id": "1", "name": "Highest", "color": "#d04437"},
            {"id": "2", "name": "High", "color": "#f15C75"},
            {"id": "3", "name": "Medium", "color": "#f79232", "default": True},
            {"id": "4", "name": "Low", "color": "#707070"},
            {"id": "5", "name": "Lowest", "color": "#999999"},
        ],
        "resolutions": [
            {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."},
            {"id": "10001", "name": "Won't Do", "description": "This issue won't be actioned."},
            {
                "id": "10002",
                "name": "Duplicate",
                "description": "The problem is a duplicate of an existing issue.",
            },
            {"id": "10003", "name": "Cannot Reproduce", "description": "This issue couldn't be reproduced."},
            {"id": "10004", "name": "Declined", "description": "This request was declined."},
        ],
        "statuses": [
            {"id": "10000", "name": "To Do", "category": "new"},
            {
                "id": "3",
                "name": "In Progress",
                "category": "indeterminate",
                "description": "This issue is being actively worked on at the moment by the assignee.",
            },
            {"id": "10001", "name": "Done", "category": "done"},
            {
                "id": "10100",
                "name": "Planning",
                "category": "new",
                "description": "The change is being drafted and planned.",
            },
            {
                "id": "10101",
                "name": "Peer review",
                "category": "indeterminate",
                "description": "A peer or the change manager reviews the plan.",
            },
            {
                "id": "10102",
                "name": "Awaiting CAB approval",
                "category": "indeterminate",
                "description": "The change advisory board decides.",
            },
            {
                "id": "10103",
                "name": "Awaiting implementation",
                "category": "indeterminate",
                "description": "Approved; waiting for its planned start.",
            },
            {"id": "10104", "name": "Implementing", "category": "indeterminate"},
            {"id": "10105", "name": "Completed", "category": "done"},
            {"id": "10106", "name": "Failed", "category": "done"},
            {"id": "10107", "name": "Declined", "category": "done"},
            {"id": "10108", "name": "Canceled", "category": "done"},
        ],
        "issueTypes": [
            {
                "id": "10001",
                "name": "Task",
                "description": "A small, distinct piece of work.",
                "avatarId": 10318,
            },
            {
                "id": "10002",
                "name": "Change",
                "description": "Created by Jira Service Management to track changes to IT services.",
                "avatarId": 10310,
            },
        ],
        "services": [
            {"id": "4a1c2b9e-6f0d-4c57-9d10-1b7f2c3e5a01", "name": "Payments API"},
            {"id": "7d3e8f21-0b4a-4e6c-8f52-2c9a1d4b6e02", "name": "Checkout web"},
            {"id": "b2f9a6c4-3e1d-4a08-b7c3-5e6d8f0a1c03", "name": "Customer database"},
        ],
        "fields": [
            {
                "id": "customfield_10040",
                "name": "Change type",
                "type": "select",
                "options": _options("customfield_10040", 10100),
            },
            {
                "id": "customfield_10041",
                "name": "Change risk",
                "type": "select",
                "options": _options("customfield_10041", 10110),
            },
            {
                "id": "customfield_10042",
                "name": "Change reason",
                "type": "select",
                "options": _options("customfield_10042", 10120),
            },
            {
                "id": "customfield_10043",
                "name": "Impact",
                "type": "select",
                "options": _options("customfield_10043", 10130),
            },
            {
                "id": "customfield_10044",
                "name": "Urgency",
                "type": "select",
                "options": _options("customfield_10044", 10140),
            },
            {"id": "customfield_10045", "name": "Planned start", "type": "datetime"},
            {"id": "customfield_10046", "name": "Planned end", "type": "datetime"},
            {"id": "customfield_10047", "name": "Implementation plan", "type": "textarea"},
            {"id": "customfield_10048", "name": "Backout plan", "type": "textarea"},
            {"id": "customfield_10049", "name": "Test plan", "type": "textarea"},
            {"id": "customfield_10050", "name": "Affected services", "type": "services"},
            {"id": "customfield_10051", "name": "Affected systems", "type": "labels"},
            {"id": "customfield_10052", "name": "Approvers", "type": "multiuserpicker"},
            {"id": "customfield_10053", "name": "External change reference", "type": "textfield"},
            # Fields a change manager adds to carry a whole change plan (not in JSM's ITSM template):
            # a sub-stage for the statuses JSM lacks, and text for the plan's other parts.
            {
                "id": "customfield_10054",
                "name": "Change stage",
                "type": "select",
                "options": _options("customfield_10054", 10160),
            },
            {"id": "customfield_10055", "name": "Justification", "type": "textarea"},
            {"id": "customfield_10056", "name": "Risk assessment", "type": "textarea"},
            {"id": "customfield_10057", "name": "Stakeholders", "type": "textarea"},
            {"id": "customfield_10058", "name": "Dependencies", "type": "labels"},
            {"id": "customfield_10059", "name": "Verification", "type": "textarea"},
            {"id": "customfield_10062", "name": "Change ID", "type": "textfield"},
            {"id": "customfield_10063", "name": "Communication channels", "type": "labels"},
            {"id": "customfield_10064", "name": "Catalog entry", "type": "textfield"},
            {"id": "customfield_10065", "name": "Emergency authorised by", "type": "textfield"},
            {"id": "customfield_10066", "name": "Emergency threshold", "type": "textfield"},
            {"id": "customfield_10067", "name": "Actual start", "type": "datetime"},
            {"id": "customfield_10068", "name": "Actual end", "type": "datetime"},
            {
                "id": "customfield_10069",
                "name": "Outcome",
                "type": "select",
                "options": _options("customfield_10069", 10170),
            },
            {"id": "customfield_10071", "name": "Close notes", "type": "textarea"},
            {"id": "customfield_10072", "name": "Retrospective", "type": "url"},
            {"id": "customfield_10073", "name": "Post-mortem", "type": "url"},
            {"id": "customfield_10074", "name": "CAB decisions", "type": "textarea"},
            {"id": "customfield_10075", "name": "Pre-implementation checklist", "type": "labels"},
            {"id": "customfield_10015", "name": "Start date", "type": "datepicker"},
            {"id": "customfield_10016", "name": "Story point estimate", "type": "storypoints"},
            {
                "id": "customfield_10060",
                "name": "Deployment environment",
                "type": "select",
                "options": _options("customfield_10060", 10150),
            },
            {"id": "customfield_10061", "name": "Runbook", "type": "url"},
        ],
        "workflows": [
            {
                "name": CHANGE_WORKFLOW,
                "initial": "Planning",
                "transitions": [
                    {"id": "11", "name": "Submit for review", "from": ["Planning"], "to": "Peer review"},
                    {"id": "21", "name": "Approve", "from": ["Peer review"], "to": "Awaiting CAB approval"},
                    {
                        "id": "31",
                        "name": "Decline",
                        "from": ["Peer review"],
                        "to": "Declined",
                        "resolution": "Declined",
                    },
                    {
                        "id": "41",
                        "name": "Approve",
                        "from": ["Awaiting CAB approval"],
                        "to": "Awaiting implementation",
                    },
                    {
                        "id": "51",
                        "name": "Decline",
                        "from": ["Awaiting CAB approval"],
                        "to": "Declined",
                        "resolution": "Declined",
                    },
                    {
                        "id": "61",
                        "name": "Start implementation",
                        "from": ["Awaiting implementation"],
                        "to": "Implementing",
                    },
                    {
                        "id": "71",
                        "name": "Complete",
                        "from": ["Implementing"],
                        "to": "Completed",
                        "resolution": "Done",
                        "screen": ["resolution"],
                    },
                    {
                        "id": "81",
                        "name": "Mark as failed",
                        "from": ["Implementing"],
                        "to": "Failed",
                        "resolution": "Done",
                        "screen": ["resolution"],
                    },
                    {
                        "id": "91",
                        "name": "Cancel",
                        "from": [
                            "Planning",
                            "Peer review",
                            "Awaiting CAB approval",
                            "Awaiting implementation",
                        ],
                        "to": "Canceled",
                        "resolution": "Won't Do",
                    },
                    {
                        "id": "101",
                        "name": "Back to planning",
                        "from": ["Peer review", "Awaiting CAB approval", "Awaiting implementation"],
                        "to": "Planning",
                    },
                    {
                        "id": "111",
                        "name": "Pre-approved standard change",
                        "from": ["Planning"],
                        "to": "Awaiting implementation",
                    },
                ],
            },
            {
                "name": SOFTWARE_WORKFLOW,
                "initial": "To Do",
                "transitions": [
                    {"id": "11", "name": "To Do", "from": "*", "to": "To Do"},
                    {"id": "21", "name": "In Progress", "from": "*", "to": "In Progress"},
                    {"id": "31", "name": "Done", "from": "*", "to": "Done", "resolution": "Done"},
                ],
            },
        ],
        "projects": [
            {
                "id": "10000",
                "key": "CHG",
                "name": "Change management",
                "type": "service_desk",
                "lead": "alex.morgan@example.com",
                "description": "IT service management project for change requests.",
                "issueTypes": [
                    {
                        "name": "Change",
                        "workflow": CHANGE_WORKFLOW,
                        "fields": [
                            "summary",
                            "description",
                            "priority",
                            "labels",
                            "assignee",
                            "reporter",
                            "duedate",
                            "customfield_10040",
                            "customfield_10041",
                            "customfield_10042",
                            "customfield_10043",
                            "customfield_10044",
                            "customfield_10045",
                            "customfield_10046",
                            "customfield_10047",
                            "customfield_10048",
                            "customfield_10049",
                            "customfield_10050",
                            "customfield_10051",
                            "customfield_10052",
                            "customfield_10053",
                            "customfield_10054",
                            "customfield_10055",
                            "customfield_10056",
                            "customfield_10057",
                            "customfield_10058",
                            "customfield_10059",
                            "customfield_10062",
                            "customfield_10063",
                            "customfield_10064",
                            "customfield_10065",
                            "customfield_10066",
                            "customfield_10067",
                            "customfield_10068",
                            "customfield_10069",
                            "customfield_10071",
                            "customfield_10072",
                            "customfield_10073",
                            "customfield_10074",
                            "customfield_10075",
                        ],
                        "required": ["summary", "customfield_10040"],
                    }
                ],
            },
            {
                "id": "10001",
                "key": "OPS",
                "name": "Operations",
                "type": "software",
                "lead": "alex.morgan@example.com",
                "description": "Operations team board.",
                "issueTypes": [
                    {
                        "name": "Task",
                        "workflow": SOFTWARE_WORKFLOW,
                        "fields": [
                            "summary",
                            "description",
                            "environment",
                            "priority",
                            "labels",
                            "assignee",
                            "reporter",
                            "duedate",
                            "customfield_10015",
                            "customfield_10016",
                            "customfield_10060",
                            "customfield_10061",
                            # the change fields, so a team can track changes as tasks
                            "customfield_10040",
                            "customfield_10045",
                            "customfield_10046",
                            "customfield_10047",
                            "customfield_10048",
                            "customfield_10053",
                            "customfield_10054",
                            "customfield_10055",
                            "customfield_10056",
                            "customfield_10062",
                        ],
                        "required": ["summary"],
                    }
                ],
            },
        ],
    }
