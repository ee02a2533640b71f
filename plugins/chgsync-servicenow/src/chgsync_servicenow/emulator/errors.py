"""Errors the emulator answers with, carrying ServiceNow's own ``message``/``detail`` wording."""

from __future__ import annotations

from chgsync.errors import InputError


class ApiError(Exception):
    """A refusal that becomes ``{"error": {"message", "detail"}, "status": "failure"}``.

    ``detail`` may be ``None``: the product sends JSON ``null`` there for some errors (unknown table).
    """

    def __init__(self, status: int, message: str, detail: str | None = "") -> None:
        super().__init__(f"{status} {message}: {detail}")
        self.status = status
        self.message = message
        self.detail = detail


class SeedError(InputError):
    """Seed data the emulator cannot load; names the table, record and field at fault."""

    kind = "seed"


def not_found() -> ApiError:
    return ApiError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def invalid_table(table: str) -> ApiError:
    return ApiError(400, f"Invalid table {table}", None)


#: The business rule whose abort integrators see for a refused change_request transition. The sys_id
#: is the emulator's own (stable so tests can match it); real instances show theirs.
STATE_RULE = "Change Model: Check State Transition"
STATE_RULE_ID = "7e4e6c0f53a2101034d1ddeeff7b12c4"


def business_rule_abort(table: str, rule: str = STATE_RULE, rule_id: str = STATE_RULE_ID) -> ApiError:
    """The 403 a business rule's ``setAbortAction(true)`` produces through the Table API."""
    return ApiError(
        403,
        "Operation Failed",
        f"Operation against file '{table}' was aborted by Business Rule '{rule}^{rule_id}'. "
        f"Business Rule Stack:{rule}",
    )


def data_policy_exception(labels: list[str]) -> ApiError:
    """The 403 a data policy (mandatory fields) produces for a web-service write."""
    return ApiError(
        403,
        "Operation Failed",
        f"Data Policy Exception: The following fields are mandatory: {', '.join(labels)}",
    )
