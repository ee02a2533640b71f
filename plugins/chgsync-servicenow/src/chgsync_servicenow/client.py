"""One small ServiceNow Table API client on ``requests``: the only code in this package that does HTTP.

Why not pysnow or pysnc (see the reference notes, section 14): pysnow turns every update into a GET
and a PUT, drops ServiceNow's error envelope and has no 429 handling; pysnc forces display values and
a retry policy of its own. What the adapter needs fits here:

- basic auth on one ``requests.Session``, ``verify`` (a bool or a CA bundle path) passed **per
  request** because ``REQUESTS_CA_BUNDLE`` in the environment overrides ``Session.verify``;
- a timeout on every request and the :class:`~chgsync.retry.CallCounter` hook on every response,
  so each adapter operation's API calls are counted, retries included;
- every call through :func:`~chgsync.retry.call_with_retry`: 429 waits for ``Retry-After``; 5xx,
  timeouts and connection errors back off exponentially with jitter; any other 4xx fails at once
  with ServiceNow's own ``error.message`` / ``error.detail``. Writes that are not idempotent (an
  insert, a journal append, a state move) are retried only when the instance certainly did not
  process them (429, or the connection never opened): a retried insert after a timeout is how
  integrations make duplicate changes;
- raw values (``sysparm_display_value=false``) with ``sysparm_exclude_reference_link=true``, so a
  reference is its bare sys_id and every value is a string;
- offset paging that follows ``Link: rel="next"`` (falling back to ``X-Total-Count``, then to a short
  page) for lists, and single pages for the adapter's keyset scans.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
import urllib3

from chgsync.errors import RemoteError
from chgsync.retry import Attempt, CallCounter, RetryPolicy, call_with_retry, parse_retry_after

#: ServiceNow's advice: pages of at most 1000 rows stay clear of transaction time quotas.
DEFAULT_PAGE_SIZE = 1000

_SYS_ID = re.compile(r"^[0-9a-f]{32}$")
_LINK = re.compile(r'(?:<(?P<bracketed>[^>]*)>|(?P<bare>https?://[^;\s]+))\s*;\s*rel="?(?P<rel>[A-Za-z]+)"?')


def is_sys_id(value: str) -> bool:
    """A ServiceNow sys_id: 32 lower-case hex characters. Anything else never goes into a URL path."""
    return bool(_SYS_ID.match(value))


def encode_query_value(value: str) -> str:
    """A literal for an encoded query: ``^`` is the term separator, written ``^^`` inside a value."""
    return value.replace("^", "^^")


def servicenow_message(response: requests.Response) -> str:
    """ServiceNow's own words for a failed request: ``error.message`` and ``error.detail`` when present.

    ``detail`` may be ``""`` or ``null``; a 5xx from a proxy or a hibernating instance may be HTML.
    """
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
        message = str(data["error"].get("message") or "").strip()
        detail = str(data["error"].get("detail") or "").strip()
        if message and detail:
            return f"{message}: {detail}"
        if message or detail:
            return message or detail
    text = re.sub(r"<[^>]+>", " ", response.text or "")
    text = " ".join(text.split())[:200]
    return text or f"{response.status_code} {response.reason or ''}".strip()


def next_offset_from_link(header: str | None) -> int | None:
    """The ``sysparm_offset`` of the ``rel="next"`` entry of a Table API ``Link`` header, if any.

    The product writes ``<url>;rel="next"`` entries joined by commas; some proxies drop the angle
    brackets. Only the offset is taken from the URL: credentials are never sent to a host the
    header names.
    """
    if not header:
        return None
    for m in _LINK.finditer(header):
        if m.group("rel").lower() != "next":
            continue
        url = m.group("bracketed") or m.group("bare") or ""
        values = parse_qs(urlsplit(url).query).get("sysparm_offset")
        if values and values[0].lstrip("-").isdigit():
            return int(values[0])
    return None


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows and where the next page starts (``None`` on the last)."""

    rows: list[dict[str, Any]]
    total: int | None
    next_offset: int | None


class _Failed(Exception):
    """A non-success HTTP answer, kept whole so the retry loop can classify it."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the instance (so a retry cannot duplicate it)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class TableClient:
    """Table API calls for one instance. ``counter`` attributes each response to the current operation."""

    def __init__(
        self,
        base_url: str,
        user: str | None,
        password: str | None,
        *,
        system: str = "servicenow",
        verify: bool | str = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        counter: CallCounter | None = None,
        user_agent: str = "chgsync-servicenow",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.verify = verify
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.counter = counter or CallCounter()
        self.session = requests.Session()
        if user or password:
            self.session.auth = (user or "", password or "")
        self.session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        self.session.hooks["response"].append(self.counter.hook)

    def close(self) -> None:
        self.session.close()

    # -- the one request path --------------------------------------------------------------------------
    def url(self, table: str, sys_id: str | None = None) -> str:
        path = f"{self.base_url}/api/now/table/{quote(table, safe='')}"
        if sys_id is not None:
            if not is_sys_id(sys_id):
                raise ValueError(f"'{sys_id}' is not a ServiceNow sys_id (32 lower-case hexadecimal characters).")
            path += f"/{sys_id}"
        return path

    def request(
        self,
        method: str,
        table: str,
        sys_id: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        operation: str,
        idempotent: bool = True,
    ) -> requests.Response:
        """One Table API call with retries; raises :class:`RemoteError` carrying ServiceNow's message."""
        url = self.url(table, sys_id)
        query = {"sysparm_display_value": "false", "sysparm_exclude_reference_link": "true", **(params or {})}

        def attempt() -> requests.Response:
            try:
                response = self.session.request(
                    method, url, params=query, json=body, timeout=self.timeout, verify=self.verify
                )
            except requests.exceptions.SSLError as exc:
                raise RemoteError(self.system, operation, None, _describe(exc)) from exc  # retrying cannot help
            except requests.RequestException as exc:
                if not idempotent and not _never_sent(exc):
                    raise RemoteError(self.system, operation, None, f"{_describe(exc)} (not retried: the "
                                      "instance may have processed the request)") from exc
                raise
            if response.status_code >= 400:
                if not idempotent and response.status_code >= 500:
                    raise RemoteError(self.system, operation, response.status_code,
                                      servicenow_message(response)) from None
                raise _Failed(response)
            return response

        def classify(exc: BaseException) -> Attempt | None:
            if isinstance(exc, _Failed):
                r = exc.response
                return Attempt(r.status_code, parse_retry_after(r.headers.get("Retry-After")), servicenow_message(r))
            if isinstance(exc, requests.RequestException):
                return Attempt(None, None, _describe(exc))
            return None

        return call_with_retry(attempt, classify, system=self.system, operation=operation, policy=self.retry,
                               sleep=self.sleep)

    def _json(self, response: requests.Response, operation: str) -> Any:
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            # A hibernating developer instance answers 200 with its wake-up page.
            raise RemoteError(self.system, operation, response.status_code,
                              f"ServiceNow answered with {content_type or 'no content type'}, not JSON "
                              f"({servicenow_message(response)[:80]!r}); a hibernating developer instance "
                              "answers like this")
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteError(self.system, operation, response.status_code,
                              f"ServiceNow answered with malformed JSON: {exc}") from None

    def _result(self, response: requests.Response, operation: str) -> Any:
        data = self._json(response, operation)
        if not isinstance(data, Mapping) or "result" not in data:
            raise RemoteError(self.system, operation, response.status_code,
                              "ServiceNow answered without a 'result' envelope")
        return data["result"]

    # -- records ---------------------------------------------------------------------------------------
    def get(self, table: str, sys_id: str, *, fields: Sequence[str] | None = None, operation: str) -> dict[str, Any]:
        params = {"sysparm_fields": ",".join(fields)} if fields else {}
        result = self._result(self.request("GET", table, sys_id, params=params, operation=operation), operation)
        return _record(result, self.system, operation)

    def post(self, table: str, body: Mapping[str, Any], *, fields: Sequence[str] | None = None,
             operation: str) -> dict[str, Any]:
        """Insert one record (201). Not retried on ambiguous failures: the caller looks before retrying."""
        params = {"sysparm_fields": ",".join(fields)} if fields else {}
        response = self.request("POST", table, params=params, body=body, operation=operation, idempotent=False)
        return _record(self._result(response, operation), self.system, operation)

    def patch(self, table: str, sys_id: str, body: Mapping[str, Any], *, fields: Sequence[str] | None = None,
              operation: str, idempotent: bool = True) -> dict[str, Any]:
        """A partial update; the answer is the record as stored, which callers compare with what they sent."""
        params = {"sysparm_fields": ",".join(fields)} if fields else {}
        response = self.request("PATCH", table, sys_id, params=params, body=body, operation=operation,
                                idempotent=idempotent)
        return _record(self._result(response, operation), self.system, operation)

    def delete(self, table: str, sys_id: str, *, operation: str) -> None:
        self.request("DELETE", table, sys_id, operation=operation)

    # -- lists -----------------------------------------------------------------------------------------
    def page(self, table: str, *, query: str = "", fields: Sequence[str] | None = None,
             limit: int = DEFAULT_PAGE_SIZE, offset: int = 0, count: bool = True, operation: str) -> Page:
        params = {"sysparm_query": query, "sysparm_limit": str(limit), "sysparm_offset": str(offset)}
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        if not count:
            params["sysparm_no_count"] = "true"
        response = self.request("GET", table, params=params, operation=operation)
        result = self._result(response, operation)
        if not isinstance(result, list):
            raise RemoteError(self.system, operation, response.status_code,
                              f"ServiceNow answered a list request with {type(result).__name__}, not a list")
        rows = [_record(r, self.system, operation) for r in result]
        total_header = response.headers.get("X-Total-Count", "")
        total = int(total_header) if total_header.isdigit() else None
        nxt: int | None
        if "Link" in response.headers:
            nxt = next_offset_from_link(response.headers["Link"])
        elif total is not None:
            nxt = offset + limit if rows and offset + limit < total else None
        else:
            nxt = offset + limit if len(rows) >= limit else None
        if nxt is not None and nxt <= offset:
            nxt = None  # a header pointing backwards would loop forever
        return Page(rows, total, nxt)

    def list(self, table: str, *, query: str = "", fields: Sequence[str] | None = None,
             page_size: int = DEFAULT_PAGE_SIZE, operation: str) -> Iterator[dict[str, Any]]:
        """Every matching row, page by page (offset paging; give ``query`` an ORDERBY for a stable order)."""
        offset = 0
        while True:
            page = self.page(table, query=query, fields=fields, limit=page_size, offset=offset, operation=operation)
            yield from page.rows
            if page.next_offset is None:
                return
            offset = page.next_offset


def _record(value: Any, system: str, operation: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise RemoteError(system, operation, 200, f"ServiceNow answered with {type(value).__name__}, not a record")
    return dict(value)


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timed out: {exc}"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failed (set 'verify' to the instance's CA bundle): {exc}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect: {exc}"
    return str(exc)
