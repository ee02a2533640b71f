"""Jira's error envelope, raised from anywhere in a request and rendered once by the app.

Every Jira REST error has the same body, ``{"errorMessages": [...], "errors": {field: message}}``;
clients (the ``jira`` library included) read field errors from ``errors`` and everything else from
``errorMessages``, so keeping the two apart matters as much as the status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class JiraError(Exception):
    """An answer other than success, in Jira's words."""

    def __init__(
        self,
        status: int,
        messages: list[str] | str | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(messages, str):
            messages = [messages]
        self.status = status
        self.messages: list[str] = list(messages or [])
        self.errors: dict[str, str] = dict(errors or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__("; ".join(self.messages + [f"{k}: {v}" for k, v in self.errors.items()]))

    def body(self) -> dict[str, Any]:
        return envelope(self.messages, self.errors)


def envelope(messages: list[str] | None = None, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"errorMessages": list(messages or []), "errors": dict(errors or {})}


def bad_request(message: str) -> JiraError:
    return JiraError(400, message)


def field_errors(errors: Mapping[str, str]) -> JiraError:
    return JiraError(400, None, errors)


def not_found(message: str) -> JiraError:
    return JiraError(404, message)


ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def cannot_set(field_id: str) -> str:
    return f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
