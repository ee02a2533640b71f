"""The tables the emulator serves and their dictionary: field types, references, choices, defaults.

ServiceNow stores every value as a string and the Table API returns strings, so the dictionary only
needs to say how a value compares (integers numerically, dates as UTC instants), how it is rendered
(references, choice labels, journals) and whether a client may write it. Fields are kept in the
order the platform lists them closely enough for humans; clients must not rely on key order anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "string",  # free text, or a string choice when ``choices`` is set
    "integer",  # numeric comparisons and ordering; an integer choice when ``choices`` is set
    "boolean",  # "true" / "false"
    "glide_date_time",  # "yyyy-MM-dd HH:mm:ss", UTC
    "glide_date",  # "yyyy-MM-dd"
    "reference",  # a sys_id of ``reference`` (rendered as {link, value})
    "journal",  # write-only append log; reads back "" in value mode
    "journal_list",  # comments_and_work_notes: the combined journals, display only
    "glide_list",  # comma-joined sys_ids
    "guid",  # sys_id and GUID-typed pointers (element_id, document_id): plain strings
    "domain",  # sys_domain: a reference to sys_user_group with the value "global"
]

#: Fields the Table API never lets a client write (the platform maintains them).
SYSTEM_FIELDS = frozenset(
    {
        "sys_id",
        "sys_created_on",
        "sys_created_by",
        "sys_updated_on",
        "sys_updated_by",
        "sys_mod_count",
        "sys_class_name",
        "sys_domain",
        "sys_domain_path",
        "sys_tags",
    }
)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType = "string"
    label: str = ""
    reference: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    default: str = ""
    read_only: bool = False

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    fields: Mapping[str, Field]
    display_field: str = "sys_id"
    number_prefix: str = ""
    number_start: int = 1
    extends: str = ""

    def has(self, name: str) -> bool:
        return name in self.fields


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


# -- choice lists ---------------------------------------------------------------------------------------
CHANGE_STATES = {
    "-5": "New",
    "-4": "Assess",
    "-3": "Authorize",
    "-2": "Scheduled",
    "-1": "Implement",
    "0": "Review",
    "3": "Closed",
    "4": "Canceled",
}
CHANGE_TYPES = {"standard": "Standard", "normal": "Normal", "emergency": "Emergency"}
APPROVAL = {
    "not requested": "Not Yet Requested",
    "requested": "Requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
    "not_required": "No Longer Required",
    "duplicate": "Duplicate",
}
IMPACT = {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"}
PRIORITY = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
RISK = {"1": "Very High", "2": "High", "3": "Moderate", "4": "Low"}
SCOPE = {"1": "Massive", "2": "Large", "3": "Medium", "4": "Small", "5": "Very Small"}
CLOSE_CODES = {
    "successful": "Successful",
    "successful_issues": "Successful with issues",
    "unsuccessful": "Unsuccessful",
}
CATEGORIES = {
    c: c
    for c in (
        "Hardware",
        "Software",
        "Service",
        "System Software",
        "Applications Software",
        "Network",
        "Telecom",
        "Documentation",
        "Other",
    )
}
ESCALATION = {"0": "Normal", "1": "Moderate", "2": "High", "3": "Overdue"}
CONFLICT_STATUS = {c: c for c in ("Not Run", "No Conflict", "Conflict")}
UPON_APPROVAL = {"proceed": "Proceed to Next Task", "wait": "Wait for a User to Close this task"}
UPON_REJECT = {"cancel": "Cancel all future Tasks", "goto": "Go to a previous Task"}
PHASE = {
    "requested": "Requested",
    "approval": "Approval",
    "implementation": "Implementation",
    "complete": "Complete",
}
PHASE_STATE = {"open": "Open", "on_hold": "On hold", "complete": "Complete", "canceled": "Canceled"}
CHANGE_TASK_STATES = {
    "-5": "Pending",
    "1": "Open",
    "2": "Work in Progress",
    "3": "Closed Complete",
    "4": "Closed Incomplete",
    "7": "Closed Skipped",
}
CHANGE_TASK_TYPES = {
    "planning": "Planning",
    "implementation": "Implementation",
    "testing": "Testing",
    "review": "Review",
}
OPERATIONAL_STATUS = {
    "1": "Operational",
    "2": "Non-Operational",
    "3": "Repair in Progress",
    "4": "DR Standby",
    "5": "Ready",
    "6": "Retired",
}
INSTALL_STATUS = {
    "1": "Installed",
    "2": "On Order",
    "3": "In Maintenance",
    "4": "Pending Install",
    "5": "Pending Repair",
    "6": "In Stock",
    "7": "Retired",
    "100": "Absent",
}

# -- shared field groups --------------------------------------------------------------------------------
_SYS = (
    Field("sys_id", "guid", "Sys ID"),
    Field("sys_created_on", "glide_date_time", "Created"),
    Field("sys_created_by", "string", "Created by"),
    Field("sys_updated_on", "glide_date_time", "Updated"),
    Field("sys_updated_by", "string", "Updated by"),
    Field("sys_mod_count", "integer", "Updates", default="0"),
    Field("sys_tags", "string", "Tags"),
)
_SYS_CLASS = Field("sys_class_name", "string", "Class")
_DOMAIN = (
    Field("sys_domain", "domain", "Domain", reference="sys_user_group", default="global"),
    Field("sys_domain_path", "string", "Domain Path", default="/"),
)

_TASK = (
    Field("number", "string", "Number"),
    Field("task_effective_number", "string", "Effective number", read_only=True),
    Field("short_description", "string", "Short description"),
    Field("description", "string", "Description"),
    Field("state", "integer", "State"),
    Field("active", "boolean", "Active", default="true"),
    Field("approval", "string", "Approval", choices=APPROVAL, default="not requested"),
    Field("approval_set", "glide_date_time", "Approval set"),
    Field("approval_history", "journal", "Approval history", read_only=True),
    Field("assigned_to", "reference", "Assigned to", reference="sys_user"),
    Field("assignment_group", "reference", "Assignment group", reference="sys_user_group"),
    Field("additional_assignee_list", "glide_list", "Additional assignee list"),
    Field("watch_list", "glide_list", "Watch list"),
    Field("work_notes_list", "glide_list", "Work notes list"),
    Field("group_list", "glide_list", "Group list"),
    Field("cmdb_ci", "reference", "Configuration item", reference="cmdb_ci"),
    Field("business_service", "reference", "Service", reference="cmdb_ci"),
    Field("service_offering", "reference", "Service offering", reference="cmdb_ci"),
    Field("impact", "integer", "Impact", choices=IMPACT, default="3"),
    Field("urgency", "integer", "Urgency", choices=IMPACT, default="3"),
    Field("priority", "integer", "Priority", choices=PRIORITY, default="4"),
    Field("escalation", "integer", "Escalation", choices=ESCALATION, default="0"),
    Field("opened_at", "glide_date_time", "Opened"),
    Field("opened_by", "reference", "Opened by", reference="sys_user"),
    Field("closed_at", "glide_date_time", "Closed"),
    Field("closed_by", "reference", "Closed by", reference="sys_user"),
    Field("close_notes", "string", "Close notes"),
    Field("work_start", "glide_date_time", "Actual start"),
    Field("work_end", "glide_date_time", "Actual end"),
    Field("due_date", "glide_date_time", "Due date"),
    Field("expected_start", "glide_date_time", "Expected start"),
    Field("follow_up", "glide_date_time", "Follow up"),
    Field("activity_due", "glide_date_time", "Activity due"),
    Field("sla_due", "glide_date_time", "SLA due"),
    Field("business_duration", "string", "Business duration"),
    Field("calendar_duration", "string", "Duration"),
    Field("time_worked", "string", "Time worked"),
    Field("correlation_id", "string", "Correlation ID"),
    Field("correlation_display", "string", "Correlation display"),
    Field("parent", "reference", "Parent", reference="task"),
    Field("company", "reference", "Company", reference="core_company"),
    Field("location", "reference", "Location", reference="cmn_location"),
    Field("contact_type", "string", "Contact type"),
    Field("knowledge", "boolean", "Knowledge", default="false"),
    Field("made_sla", "boolean", "Made SLA", default="true"),
    Field("order", "integer", "Order"),
    Field("reassignment_count", "integer", "Reassignment count", default="0"),
    Field("upon_approval", "string", "Upon approval", choices=UPON_APPROVAL, default="proceed"),
    Field("upon_reject", "string", "Upon reject", choices=UPON_REJECT, default="cancel"),
    Field("user_input", "string", "User input"),
    Field("route_reason", "integer", "Route reason"),
    Field("universal_request", "reference", "Universal Request", reference="task"),
    Field("work_notes", "journal", "Work notes"),
    Field("comments", "journal", "Additional comments"),
    Field("comments_and_work_notes", "journal_list", "Comments and Work notes", read_only=True),
)

CHANGE_REQUEST = Table(
    name="change_request",
    label="Change Request",
    display_field="number",
    number_prefix="CHG",
    number_start=30001,
    extends="task",
    fields=_fields(
        *_TASK,
        Field("state", "integer", "State", choices=CHANGE_STATES, default="-5"),
        Field("type", "string", "Type", choices=CHANGE_TYPES, default="normal"),
        Field("chg_model", "reference", "Model", reference="chg_model"),
        Field("category", "string", "Category", choices=CATEGORIES, default="Other"),
        Field("risk", "integer", "Risk", choices=RISK, default="3"),
        Field("scope", "integer", "Scope", choices=SCOPE, default="3"),
        Field("justification", "string", "Justification"),
        Field("implementation_plan", "string", "Implementation plan"),
        Field("risk_impact_analysis", "string", "Risk and impact analysis"),
        Field("backout_plan", "string", "Backout plan"),
        Field("test_plan", "string", "Test plan"),
        Field("change_plan", "string", "Change plan"),
        Field("start_date", "glide_date_time", "Planned start date"),
        Field("end_date", "glide_date_time", "Planned end date"),
        Field("requested_by", "reference", "Requested by", reference="sys_user"),
        Field("requested_by_date", "glide_date_time", "Requested by date"),
        Field("close_code", "string", "Close code", choices=CLOSE_CODES),
        Field("on_hold", "boolean", "On hold", default="false"),
        Field("on_hold_reason", "string", "On hold reason"),
        Field("on_hold_task", "glide_list", "On hold task"),
        Field("cab_required", "boolean", "CAB required", default="false"),
        Field("cab_date", "glide_date", "CAB date"),
        Field("cab_date_time", "glide_date_time", "CAB date"),
        Field("cab_delegate", "reference", "CAB delegate", reference="sys_user"),
        Field("cab_recommendation", "string", "CAB recommendation"),
        Field("conflict_status", "string", "Conflict status", choices=CONFLICT_STATUS, default="Not Run"),
        Field("conflict_last_run", "glide_date_time", "Conflict last run"),
        Field("outside_maintenance_schedule", "boolean", "Outside maintenance schedule", default="false"),
        Field("phase", "string", "Phase", choices=PHASE, default="requested"),
        Field("phase_state", "string", "Phase state", choices=PHASE_STATE, default="open"),
        Field("production_system", "boolean", "Production system", default="false"),
        Field("unauthorized", "boolean", "Unauthorized", default="false"),
        Field("reason", "string", "Reason"),
        Field("review_comments", "string", "Review comments"),
        Field("review_date", "glide_date", "Review date"),
        Field("review_status", "integer", "Review status"),
        Field(
            "std_change_producer_version",
            "reference",
            "Standard change template version",
            reference="std_change_producer_version",
        ),
        # Not out of box: the one field a chgsync installation adds (an administrator creates it as a
        # String of 64), where the adapter keeps the canonical change ID. ``u_`` is the platform's prefix
        # for customer-defined columns; the adapter's ``mapping check`` reports it missing elsewhere.
        Field("u_chgsync_id", "string", "chgsync change ID"),
        _SYS_CLASS,
        *_DOMAIN,
        *_SYS,
    ),
)

CHANGE_TASK = Table(
    name="change_task",
    label="Change Task",
    display_field="number",
    number_prefix="CTASK",
    number_start=10001,
    extends="task",
    fields=_fields(
        *_TASK,
        Field("state", "integer", "State", choices=CHANGE_TASK_STATES, default="1"),
        Field("change_request", "reference", "Change request", reference="change_request"),
        Field("change_task_type", "string", "Type", choices=CHANGE_TASK_TYPES, default="planning"),
        Field("planned_start_date", "glide_date_time", "Planned start date"),
        Field("planned_end_date", "glide_date_time", "Planned end date"),
        Field("close_code", "string", "Close code"),
        Field("on_hold", "boolean", "On hold", default="false"),
        Field("on_hold_reason", "string", "On hold reason"),
        _SYS_CLASS,
        *_DOMAIN,
        *_SYS,
    ),
)

SYSAPPROVAL_APPROVER = Table(
    name="sysapproval_approver",
    label="Approval",
    display_field="sys_id",
    fields=_fields(
        Field("approver", "reference", "Approver", reference="sys_user"),
        Field("sysapproval", "reference", "Approval for", reference="task"),
        Field("document_id", "guid", "Approving"),
        Field("source_table", "string", "Source table"),
        Field("group", "reference", "Group", reference="sysapproval_group"),
        Field("state", "string", "State", choices=APPROVAL, default="requested"),
        Field("comments", "journal", "Comments"),
        Field("due_date", "glide_date_time", "Due date"),
        Field("expected_start", "glide_date_time", "Expected start"),
        Field("order", "integer", "Order", default="1"),
        Field("approval_column", "string", "Approval column", default="approval"),
        Field("approval_journal_column", "string", "Approval journal column", default="approval_history"),
        Field("approval_source", "string", "Approval source"),
        Field("wf_activity", "reference", "Workflow activity", reference="wf_activity"),
        *_DOMAIN,
        *_SYS,
    ),
)

SYS_JOURNAL_FIELD = Table(
    name="sys_journal_field",
    label="Journal Entry",
    display_field="sys_id",
    fields=_fields(
        Field("element", "string", "Element"),
        Field("element_id", "guid", "Element ID"),
        Field("name", "string", "Name"),
        Field("value", "string", "Value"),
        Field("sys_id", "guid", "Sys ID"),
        Field("sys_created_on", "glide_date_time", "Created"),
        Field("sys_created_by", "string", "Created by"),
        Field("sys_tags", "string", "Tags"),
    ),
)

CMDB_CI = Table(
    name="cmdb_ci",
    label="Configuration Item",
    display_field="name",
    fields=_fields(
        Field("name", "string", "Name"),
        Field("short_description", "string", "Description"),
        Field("category", "string", "Category"),
        Field("subcategory", "string", "Subcategory"),
        Field("environment", "string", "Environment"),
        Field("used_for", "string", "Used for", default="Production"),
        Field("operational_status", "integer", "Operational status", choices=OPERATIONAL_STATUS, default="1"),
        Field("install_status", "integer", "Status", choices=INSTALL_STATUS, default="1"),
        Field("support_group", "reference", "Support group", reference="sys_user_group"),
        Field("managed_by", "reference", "Managed by", reference="sys_user"),
        Field("owned_by", "reference", "Owned by", reference="sys_user"),
        Field("ip_address", "string", "IP Address"),
        Field("fqdn", "string", "Fully qualified domain name"),
        Field("company", "reference", "Company", reference="core_company"),
        _SYS_CLASS,
        *_DOMAIN,
        *_SYS,
    ),
)

SYS_USER_GROUP = Table(
    name="sys_user_group",
    label="Group",
    display_field="name",
    fields=_fields(
        Field("name", "string", "Name"),
        Field("description", "string", "Description"),
        Field("manager", "reference", "Manager", reference="sys_user"),
        Field("email", "string", "Group email"),
        Field("parent", "reference", "Parent", reference="sys_user_group"),
        Field("type", "glide_list", "Type"),
        Field("active", "boolean", "Active", default="true"),
        *_SYS,
    ),
)

SYS_USER = Table(
    name="sys_user",
    label="User",
    display_field="name",
    fields=_fields(
        Field("user_name", "string", "User ID"),
        Field("first_name", "string", "First name"),
        Field("last_name", "string", "Last name"),
        Field("name", "string", "Name"),
        Field("email", "string", "Email"),
        Field("title", "string", "Title"),
        Field("manager", "reference", "Manager", reference="sys_user"),
        Field("time_zone", "string", "Time zone"),
        Field("active", "boolean", "Active", default="true"),
        _SYS_CLASS,
        *_DOMAIN,
        *_SYS,
    ),
)

SYS_USER_GRMEMBER = Table(
    name="sys_user_grmember",
    label="Group Member",
    display_field="sys_id",
    fields=_fields(
        Field("group", "reference", "Group", reference="sys_user_group"),
        Field("user", "reference", "User", reference="sys_user"),
        *_SYS,
    ),
)

CHG_MODEL = Table(
    name="chg_model",
    label="Change Model",
    display_field="name",
    fields=_fields(
        Field("name", "string", "Name"),
        Field("description", "string", "Description"),
        Field("active", "boolean", "Active", default="true"),
        *_SYS,
    ),
)

# -- the dictionary, served read-only (generated from the tables above by :mod:`.dictionary`) ----------
SYS_DB_OBJECT = Table(
    name="sys_db_object",
    label="Table",
    display_field="label",
    fields=_fields(
        Field("name", "string", "Name"),
        Field("label", "string", "Label"),
        Field("super_class", "reference", "Extends table", reference="sys_db_object"),
        Field("is_extendable", "boolean", "Extensible", default="false"),
        *_SYS,
    ),
)

SYS_DICTIONARY = Table(
    name="sys_dictionary",
    label="Dictionary Entry",
    display_field="column_label",
    fields=_fields(
        Field("name", "string", "Table"),
        Field("element", "string", "Column name"),
        Field("column_label", "string", "Column label"),
        # references to sys_glide_object / sys_db_object on the platform, keyed by name: the raw value is
        # the type or table name, which is what the emulator stores (display values show the same name)
        Field("internal_type", "string", "Type"),
        Field("reference", "string", "Reference"),
        Field("choice", "integer", "Choice", default="0"),
        Field("default_value", "string", "Default value"),
        Field("mandatory", "boolean", "Mandatory", default="false"),
        Field("read_only", "boolean", "Read only", default="false"),
        Field("active", "boolean", "Active", default="true"),
        *_SYS,
    ),
)

SYS_CHOICE = Table(
    name="sys_choice",
    label="Choices",
    display_field="label",
    fields=_fields(
        Field("name", "string", "Table"),
        Field("element", "string", "Element"),
        Field("value", "string", "Value"),
        Field("label", "string", "Label"),
        Field("sequence", "integer", "Sequence"),
        Field("language", "string", "Language", default="en"),
        Field("inactive", "boolean", "Inactive", default="false"),
        Field("dependent_value", "string", "Dependent value"),
        *_SYS,
    ),
)

#: Tables describing the schema: generated at reset, refused on API writes (see :mod:`.dictionary`).
DICTIONARY_TABLES = ("sys_db_object", "sys_dictionary", "sys_choice")

#: Fields change_request and change_task inherit from ``task`` (the dictionary lists them under ``task``).
TASK_FIELD_NAMES = frozenset(f.name for f in (*_TASK, _SYS_CLASS, *_DOMAIN, *_SYS))

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CHANGE_REQUEST,
        CHANGE_TASK,
        SYSAPPROVAL_APPROVER,
        SYS_JOURNAL_FIELD,
        CMDB_CI,
        SYS_USER_GROUP,
        SYS_USER,
        SYS_USER_GRMEMBER,
        CHG_MODEL,
        SYS_DB_OBJECT,
        SYS_DICTIONARY,
        SYS_CHOICE,
    )
}

#: Tables a reference to the abstract ``task`` table may point into.
TASK_TABLES = ("change_request", "change_task")

#: The out-of-box change models' sys_ids, as integrators report them from real instances.
CHG_MODEL_IDS = {
    "normal": "007c4001c343101035ae3f52c1d3aeb2",
    "standard": "e55d0bfec343101035ae3f52c1d3ae49",
    "emergency": "62d10fa1c303101035ae3f52c1d3aec1",
}
