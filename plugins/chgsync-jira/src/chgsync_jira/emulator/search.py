"""JQL search as the two Cloud APIs answer it.

- Enhanced search (``/search/jql``): no ``total``, pages linked by an opaque ``nextPageToken`` that
  is only valid with the same JQL and fields, ``fields`` defaulting to ``id``, and a refusal of
  unbounded JQL (nothing but ``ORDER BY``).
- The older ``/search`` (deprecated, removed from Cloud in 2025): ``startAt``/``maxResults``/
  ``total``, ``fields`` defaulting to ``*navigable``. Served by default because clients configured
  for Data Center still call it; a seed can switch it to Cloud's current 410 answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import jql, render
from .errors import JiraError
from .fields import View
from .model import Issue
from .store import Site

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
BAD_TOKEN = "The provided next page token is invalid or expired."
MAX_ENHANCED = 5000
MAX_WITH_FIELDS = 100
MAX_LEGACY = 100
TOP_LEVEL_EXPANDS = frozenset({"names", "schema"})


@dataclass
class Searcher:
    site: Site
    view: View
    now: datetime
    account_id: str | None

    def matching(self, text: str, *, bounded: bool) -> list[Issue]:
        ctx = jql.Context(self.site, self.now, self.view.tz, self.account_id)
        compiled = jql.compile_text(text, ctx)
        if bounded and not compiled.bounded:
            raise JiraError(400, UNBOUNDED)
        return compiled.run(self.site.issues_in_order())

    def _issues(
        self, issues: Iterable[Issue], fields: list[str] | None, default: str, expand: set[str]
    ) -> list[dict[str, Any]]:
        field_ids, only_id = render.select_fields(self.site, fields, default)
        per_issue = expand - TOP_LEVEL_EXPANDS
        return [render.issue(self.site, i, self.view, field_ids, per_issue, only_id=only_id) for i in issues]

    def _top_level(
        self,
        data: dict[str, Any],
        issues: list[Issue],
        fields: list[str] | None,
        default: str,
        expand: set[str],
    ) -> None:
        if not expand & TOP_LEVEL_EXPANDS:
            return
        field_ids, _ = render.select_fields(self.site, fields, default)
        shown = {
            f.id: f
            for i in issues
            for f in self.site.fields_for(self.site.projects[i.project_id], i.issue_type_id)
            if field_ids is None or f.id in field_ids
        }
        shown.pop("issuekey", None)
        shown.pop("statusCategory", None)
        if "names" in expand:
            data["names"] = {fid: f.name for fid, f in shown.items()}
        if "schema" in expand:
            data["schema"] = {fid: dict(f.schema) for fid, f in shown.items() if f.schema}

    # -- enhanced ------------------------------------------------------------------------------------
    def enhanced(
        self,
        text: str,
        fields: list[str] | None,
        expand: set[str],
        max_results: int | None,
        token: str | None,
    ) -> dict[str, Any]:
        if max_results is not None and max_results < 1:
            raise JiraError(400, "The value of 'maxResults' must be 1 or more.")
        fingerprint = _fingerprint(text, fields)
        offset = _read_token(token, fingerprint) if token else 0
        found = self.matching(text, bounded=True)
        field_ids, only_id = render.select_fields(self.site, fields, "id")
        cap = (
            MAX_ENHANCED
            if only_id or (field_ids is not None and field_ids <= {"issuekey"})
            else MAX_WITH_FIELDS
        )
        size = min(max_results or 50, cap)
        page = found[offset : offset + size]
        data: dict[str, Any] = {"issues": self._issues(page, fields, "id", expand)}
        more = offset + size < len(found)
        if more:
            data["nextPageToken"] = _make_token(offset + size, fingerprint)
        data["isLast"] = not more
        self._top_level(data, page, fields, "id", expand)
        return data

    # -- legacy --------------------------------------------------------------------------------------
    def legacy(
        self, text: str, fields: list[str] | None, expand: set[str], start_at: int, max_results: int
    ) -> dict[str, Any]:
        if not self.site.settings.legacy_search:
            raise JiraError(410, REMOVED)
        found = self.matching(text, bounded=False)
        size = min(max_results, MAX_LEGACY)
        page = found[start_at : start_at + size]
        data: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": start_at,
            "maxResults": size,
            "total": len(found),
            "issues": self._issues(page, fields, "*navigable", expand),
        }
        self._top_level(data, page, fields, "*navigable", expand)
        return data

    def count(self, text: str) -> int:
        return len(self.matching(text, bounded=True))


def _fingerprint(text: str, fields: list[str] | None) -> str:
    return hashlib.sha1(f"{text}\x00{','.join(fields or [])}".encode()).hexdigest()[:16]


def _make_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, fingerprint: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, issued_for = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise JiraError(400, BAD_TOKEN) from None
    if issued_for != fingerprint or offset < 0:
        raise JiraError(400, BAD_TOKEN)
    return offset
