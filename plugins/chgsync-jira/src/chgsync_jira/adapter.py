"""The Jira adapter: canonical changes as issues of one project and issue type, on Jira Cloud.

It speaks REST v2 through the ``jira`` library (plain-text rich fields, no ADF), under chgsync's own
retry policy, and counts every HTTP call per operation (see :mod:`.http`). A mapping file says which
fields hold what (:mod:`.wire` puts values in Jira's shapes) and how canonical states sit on the
workflow (:mod:`.workflow`).

Choices worth knowing:

- ``RemoteRecord.version`` is ``<newest changelog id>:<updated, epoch ms>``. Every field edit and
  transition adds a changelog entry; a comment changes only ``updated``; nothing else changes
  either, so the version is stable until someone writes. Both parts are needed: the changelog id
  alone misses comments, ``updated`` alone can repeat within a millisecond.
- ``RemoteRecord.updated_by`` is the author of the newest changelog entry or comment (e-mail when
  the profile shows it, else the display name), or the creator of an untouched issue.
- ``fetch_changed`` asks JQL for ``updated >= "<minute>"`` in the *searching user's* time zone
  (JQL has minute precision and reads dates in the profile's zone), paging with ``nextPageToken``
  in ``ORDER BY updated ASC``; records from before ``since`` within that minute are dropped here,
  and the daemon's overlap plus its de-duplication by ``(id, version)`` cover search lag.
- Creating and commenting are not idempotent in Jira: when a retry follows a failure that may have
  reached Jira, the adapter first looks for what the first try made.
- People (``remote_type: user``: implementer → assignee, requester → reporter) are e-mail addresses
  in chgsync and account ids in Jira: a write looks the address up (:mod:`.users`, cached). An
  address no Jira user has is not an error: the field is left as it is, the write goes ahead, and
  a comment on the issue (internal when the mapping keeps comments internal) plus a log warning say
  which person could not be set, so the rest of the change is never held back by one missing account.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jira import JIRA
from pydantic import ValidationError

from chgsync.adapter import AdapterType, RemoteEvent, RemoteRecord, RemoteRef
from chgsync.codecs import CodecError, translate
from chgsync.errors import InputError, MappingError, Problem, RemoteError
from chgsync.lifecycle import State
from chgsync.mapping import FieldMap, get_path
from chgsync.mapping import Mapping as MappingFile
from chgsync.model import Change
from chgsync.retry import CallCounter

from . import check as checking
from .config import JiraRecord, Settings, read_record
from .http import Http
from .users import Directory
from .webhook import COMMENT_EVENTS, actor_of, changed_paths, parse_delivery
from .wire import Wire, parse_datetime, plain_value, to_wire
from .workflow import NoRoute, StatusTable, plan_move, read_state, status_of

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Jira Cloud returns at most 100 issues a page when fields are requested
SYSTEM_FIELDS = ("summary", "status", "updated", "created", "creator", "reporter", "project", "issuetype",
                 "resolution", "comment")


class UnreadableRecord(RemoteError):
    """A record Jira returned but chgsync cannot read (a hand-edited composition, an unmapped status).

    A :class:`RemoteError` so the daemon retries it later instead of stopping: someone fixes the text.
    """

    def __init__(self, system: str, operation: str, message: str) -> None:
        super().__init__(system, operation, None, message)
        self.args = (f"{system} {operation}: {message}",)


def from_settings(settings: Mapping[str, Any]) -> JiraAdapter:
    """The adapter factory registered as ``jira`` (see :class:`.config.Settings` for the keys)."""
    return JiraAdapter(Settings.parse(settings))


class JiraAdapter:
    """See the module docstring. Construction does no I/O; the first operation connects."""

    def __init__(self, settings: Settings) -> None:
        mapping: MappingFile = settings.mapping
        if mapping.system != "jira":
            raise MappingError(mapping.source or None, Problem(
                "system", f"the mapping is for {mapping.system!r}, not for the Jira adapter ('jira')."))
        self.settings = settings
        self.name = settings.name
        self.mapping = mapping
        self.record_config: JiraRecord = read_record(mapping)
        try:
            self.wire = Wire.build(mapping)
        except ValueError as exc:
            raise MappingError(mapping.source or None, str(exc)) from None
        self._counter = CallCounter()
        self.calls: Counter[str] = self._counter.calls
        self._http = Http(settings, self._counter)
        self._lock = threading.RLock()
        self._table: StatusTable | None = None
        self._tz: tzinfo | None = None
        id_field = mapping.field("id")
        self._id_field = id_field.remote if id_field is not None else None
        self.users = Directory(self._http)
        self._hidden_warned: set[str] = set()

    # -- connection --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.settings.url

    def connect(self) -> StatusTable:
        """Read the server info and the project's statuses once; resolve the mapping's status names.

        Raises :class:`MappingError` with a sentence when the mapping names a status the project's
        workflow does not have, so a wrong mapping fails at start-up, not at the first move.
        """
        with self._lock:
            if self._table is None:
                with self._counter.operation("connect"):
                    info = self._http.call("connect", lambda c: c.server_info())
                    self._adopt_server_info(self._http.client, info)
                    project = quote(self.record_config.project, safe="")
                    statuses = self._http.call("connect", lambda c: self._http.get(c, f"project/{project}/statuses"))
                self._table = StatusTable.from_project_statuses(self.mapping, self.record_config, statuses)
            return self._table

    @staticmethod
    def _adopt_server_info(client: JIRA, info: Mapping[str, Any]) -> None:
        # What JIRA(get_server_info=True) would have set; deploymentType "Cloud" selects enhanced search.
        client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
        client.deploymentType = info.get("deploymentType")

    def _user_zone(self) -> tzinfo:
        """The integration user's profile zone: JQL reads date literals in it."""
        with self._lock:
            if self._tz is None:
                me = self._http.call("fetch_changed", lambda c: c.myself())
                name = str(me.get("timeZone") or "UTC")
                try:
                    self._tz = UTC if name in ("UTC", "Etc/UTC", "GMT") else ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    log.warning("Jira user time zone %r is unknown here; reading JQL dates as UTC", name)
                    self._tz = UTC
            return self._tz

    # -- reading -----------------------------------------------------------------------------------
    def get(self, ref: RemoteRef | str) -> RemoteRecord:
        with self._counter.operation("get"):
            self.connect()
            return self._read(ref, "get")

    def _read(self, ref: RemoteRef | str, operation: str) -> RemoteRecord:
        ident = ref.id if isinstance(ref, RemoteRef) else str(ref)
        raw = self._http.call(operation, lambda c: c.issue(ident, expand="changelog").raw)
        return self._record(raw, operation)

    def _record(self, raw: Mapping[str, Any], operation: str) -> RemoteRecord:
        try:
            change = self.normalize(raw)
        except InputError as exc:
            raise UnreadableRecord(self.name, operation, str(exc)) from None
        fields = raw["fields"]
        return RemoteRecord(ref=self._ref(raw), version=version_of(raw),
                            updated=parse_datetime(str(fields["updated"])), change=change,
                            updated_by=updated_by(raw), raw=raw)

    def _ref(self, raw: Mapping[str, Any]) -> RemoteRef:
        key = str(raw["key"])
        return RemoteRef(system=self.name, id=str(raw["id"]), key=key, url=f"{self.base_url}/browse/{key}")

    def find(self, change_id: str) -> RemoteRecord | None:
        with self._counter.operation("find"):
            self.connect()
            return self._find(change_id, "find")

    def _find(self, change_id: str, operation: str) -> RemoteRecord | None:
        if self._id_field is None:
            return None
        clause = _clause_name(self._id_field)
        shape = self.wire.shapes[self._id_field]
        if shape in ("option", "labels", "options"):
            condition = f"{clause} = {_jql_string(change_id)}"
        else:  # text fields only support ~ (contains); a quoted phrase, then an exact check here
            condition = f"{clause} ~ {_jql_string(_jql_string(change_id))}"
        jql = f"{self._scope()} AND {condition} ORDER BY created ASC"
        for raw in self._search(jql, operation):
            found = self.wire.from_remote({self._id_field: raw["fields"].get(self._id_field)})[0].get("id")
            if found == change_id:
                return self._record(raw, operation)
        return None

    def fetch_changed(self, since: datetime | None) -> Iterator[RemoteRecord]:
        """Every issue updated at or after ``since``; see the module docstring for the minute precision."""
        with self._counter.operation("fetch_changed"):
            self.connect()
            clause = ""
            if since is not None:
                if since.tzinfo is None:
                    since = since.replace(tzinfo=UTC)
                clause = f' AND updated >= "{jql_minute(since, self._user_zone())}"'
        jql = f"{self._scope()}{clause} ORDER BY updated ASC, key ASC"
        for raw in self._search(jql, "fetch_changed"):
            updated = parse_datetime(str(raw["fields"]["updated"]))
            if since is not None and updated < since:
                continue  # inside the floored minute, but before the cursor
            try:
                yield self._record(raw, "fetch_changed")
            except UnreadableRecord as exc:
                log.warning("skipping %s in the poll: %s", raw.get("key"), exc)

    def _scope(self) -> str:
        table = self.connect()
        return (f"project = {_jql_string(self.record_config.project)} AND "
                f"issuetype = {_jql_string(table.issue_type_id or self.record_config.issue_type)}")

    def _search_fields(self) -> list[str]:
        wanted = dict.fromkeys([*SYSTEM_FIELDS, *self.wire.shapes, *self.record_config.state_fields])
        return list(wanted)

    def _search(self, jql: str, operation: str) -> Iterator[dict[str, Any]]:
        """Pages of the enhanced search (``/search/jql``, ``nextPageToken``), each page retried on its own.

        The counting context covers each page's request only, never the caller's work between yields.
        """
        token: str | None = None
        fields = self._search_fields()
        while True:
            def one_page(client: JIRA, token: str | None = token) -> dict[str, Any]:
                page: dict[str, Any] = client.enhanced_search_issues(
                    jql, nextPageToken=token, maxResults=PAGE_SIZE, fields=list(fields), expand="changelog",
                    json_result=True)
                return page

            with self._counter.operation(operation):
                page = self._http.call(operation, one_page)
            yield from page.get("issues", [])
            token = page.get("nextPageToken")
            if not token:
                return

    # -- writing -----------------------------------------------------------------------------------
    def create(self, change: Change) -> RemoteRecord:
        with self._counter.operation("create"):
            table = self.connect()
            fields: dict[str, Any] = {
                "project": {"key": self.record_config.project},
                "issuetype": {"id": table.issue_type_id},
            }
            people = self._people("create")
            fields.update({k: v for k, v in self.encode_fields(change, None, people).items() if v not in (None, [])})
            draft = self.mapping.states[State.DRAFT]
            for fid, shape in self.record_config.state_fields.items():
                if draft.remote.get(fid):
                    fields[fid] = to_wire(shape, draft.remote[fid])
            attempts = 0

            def post(client: JIRA) -> dict[str, Any]:
                nonlocal attempts
                attempts += 1
                if attempts > 1:  # the first try may have landed before the failure: never create twice
                    earlier = self._find(change.id, "create")
                    if earlier is not None:
                        return {"id": earlier.ref.id, "key": earlier.ref.key}
                return dict(client.create_issue(fields=fields, prefetch=False).raw)

            created = self._http.call("create", post)
            ref = RemoteRef(system=self.name, id=str(created["id"]), key=str(created.get("key") or created["id"]))
            self._note_unset_people(ref, change, None, fields, "create")
            return self._read(ref.id, "create")

    def update(self, ref: RemoteRef, change: Change, fields: Collection[str]) -> RemoteRecord:
        with self._counter.operation("update"):
            self.connect()
            body = self.encode_fields(change, list(fields), self._people("update"))
            if body:
                self._http.call("update", lambda c: self._http.send(c, "PUT", f"issue/{ref.id}", {"fields": body}))
            self._note_unset_people(ref, change, list(fields), body, "update")
            return self._read(ref, "update")

    def encode_fields(self, change: Change, only: Collection[str] | None = None,
                      users: Callable[[str], str | None] | None = None) -> dict[str, Any]:
        """The ``fields`` JSON this adapter sends for ``change``: mapped fields (or those under the
        canonical paths ``only``) and derived values, in Jira's shapes. Pure: no I/O.

        People are written by account id, which ``users`` gives for an e-mail address (the adapter
        passes its cached user search); without it, or for an address it does not know, the user
        field is left out. A person set to no one is written as null (unassigned).
        """
        try:
            body = self.wire.to_remote(change, only, users)
        except CodecError as exc:
            raise InputError(None, f"{change.id} cannot be written to Jira: {exc}") from None
        for fid, derived in self.record_config.derived.items():
            if only is not None and not any(derived.with_ == p or derived.with_.startswith(p + ".") for p in only):
                continue
            value = get_path(change, derived.canonical)
            plain = value.value if hasattr(value, "value") else value
            if derived.values is not None and plain is not None:
                plain = translate(derived.values, plain)
            body[fid] = to_wire(derived.shape, plain)
        return body

    def _people(self, operation: str) -> Callable[[str], str | None]:
        """The account lookup writes use, counted under ``operation``."""
        return lambda email: self.users.account_for(email, operation)

    def _note_unset_people(self, ref: RemoteRef, change: Change, only: Collection[str] | None,
                           sent: Mapping[str, Any], operation: str) -> None:
        """Say on the issue (and in the log) which people could not be written, and why."""
        unset = [(f, str(get_path(change, f.canonical))) for f in self.wire.fields_for(only)
                 if self.wire.shapes[f.remote] == "user" and get_path(change, f.canonical) is not None
                 and f.remote not in sent]
        if not unset:
            return
        for f, email in unset:
            log.warning("%s %s: %s not set to %s (the change's %s): no Jira user with that e-mail address "
                        "could be found", self.name, ref.key, f.remote, email, f.canonical)
        text = unset_people_text(unset)
        internal = self.record_config.comments == "internal"

        def post(client: JIRA) -> None:
            if self._own_comment(client, ref, text) is None:
                client.add_comment(ref.id, text, is_internal=internal)

        self._http.call(operation, post)

    def move(self, ref: RemoteRef, change: Change) -> RemoteRecord:
        """Take the declared transitions to the status of ``change.state`` (one POST per hop), set the
        state fields, read back, and fail if the record does not read as the state asked for."""
        with self._counter.operation("move"):
            table = self.connect()
            wanted = list(self.record_config.state_fields)
            raw = self._http.call("move", lambda c: self._http.get(
                c, f"issue/{ref.id}", {"fields": ",".join(["status", *wanted])}))
            fields = raw.get("fields") or {}
            try:
                _, current = status_of(fields, table)
                plan = plan_move(self.mapping, self.record_config, current, fields, change)
            except (NoRoute, ValueError) as exc:
                raise RemoteError(self.name, "move", 409, f"{ref.key} cannot move to {change.state.value}: {exc}.") \
                    from None
            for hop, sent in zip(plan.hops, plan.hop_fields, strict=True):
                tid = hop.id or self._transition_id(ref, hop.name or "", table.id_of(hop.to))
                def transition(client: JIRA, tid: str = tid, sent: dict[str, Any] = sent) -> None:
                    client.transition_issue(ref.id, tid, fields=sent)

                self._http.call("move", transition)
            if plan.edits:
                edits = {fid: to_wire(self.record_config.state_fields[fid], value) for fid, value in plan.edits.items()}
                self._http.call("move", lambda c: self._http.send(c, "PUT", f"issue/{ref.id}", {"fields": edits}))
            record = self._read(ref, "move")
            if record.change.state != change.state:
                status = (record.raw.get("fields", {}).get("status") or {}).get("name")
                raise RemoteError(self.name, "move", None,
                                  f"{ref.key} answered success but reads back as {record.change.state.value} "
                                  f"(status {status!r}), not {change.state.value}.")
            return record

    def _transition_id(self, ref: RemoteRef, name: str, to_id: str | None) -> str:
        """A transition declared by name only: find its id among those available now (one GET)."""
        listed = self._http.call("move", lambda c: c.transitions(ref.id))
        for t in listed:
            if str(t.get("name", "")).casefold() == name.casefold() and (
                    to_id is None or str((t.get("to") or {}).get("id")) == to_id):
                return str(t["id"])
        raise RemoteError(self.name, "move", 409, f"{ref.key} has no transition named {name!r} available now.")

    def comment(self, ref: RemoteRef, text: str) -> str:
        with self._counter.operation("comment"):
            self.connect()
            internal = self.record_config.comments == "internal"
            attempts = 0

            def post(client: JIRA) -> str:
                nonlocal attempts
                attempts += 1
                if attempts > 1:  # a lost answer must not become a second, identical comment
                    found = self._own_comment(client, ref, text)
                    if found is not None:
                        return found
                return str(client.add_comment(ref.id, text, is_internal=internal).id)

            return self._http.call("comment", post)

    def find_comment(self, ref: RemoteRef, text: str) -> str | None:
        with self._counter.operation("find_comment"):
            self.connect()
            return self._http.call("find_comment", lambda client: self._own_comment(client, ref, text))

    def _own_comment(self, client: JIRA, ref: RemoteRef, text: str) -> str | None:
        """Among the 20 newest comments, one by this integration's user with exactly ``text``."""
        page = self._http.get(client, f"issue/{ref.id}/comment", {"orderBy": "-created", "maxResults": 20})
        me = self.settings.user.casefold()
        for c in (page or {}).get("comments", []):
            author = str((c.get("author") or {}).get("emailAddress", "")).casefold()
            if c.get("body") == text and (not author or author == me):
                return str(c["id"])
        return None

    def link(self, ref: RemoteRef, other: RemoteRef) -> None:
        """A remote link with a stable ``globalId``: linking again updates the link in place."""
        with self._counter.operation("link"):
            self.connect()
            body = {
                "globalId": f"chgsync:{other.system}:{other.id}",
                "application": {"type": "com.chgsync", "name": f"chgsync ({other.system})"},
                "relationship": "same change as",
                "object": {
                    "url": other.url or f"urn:chgsync:{other.system}:{other.key}",
                    "title": other.key,
                    "summary": f"The same change in {other.system}, kept in step by chgsync.",
                },
            }
            self._http.call("link", lambda c: self._http.send(c, "POST", f"issue/{ref.id}/remotelink", body))

    # -- offline -------------------------------------------------------------------------------------
    def normalize(self, payload: Mapping[str, Any]) -> Change:
        """The canonical change in an issue JSON (as ``GET /issue`` gives it) or a webhook body.

        An issue people created in Jira has no canonical ID yet: its key stands in (the daemon adopts
        it and assigns an ID) and a missing type reads as ``normal``.
        """
        issue = payload
        if "webhookEvent" in payload or ("issue" in payload and "fields" not in payload):
            event = payload.get("webhookEvent")
            if event in COMMENT_EVENTS:
                raise InputError(None, f"a {event} webhook carries only a few fields of the issue; read the "
                                       "issue itself (GET /rest/api/2/issue/KEY) to normalize it.")
            issue = payload.get("issue")  # type: ignore[assignment]
        if not isinstance(issue, Mapping) or not isinstance(issue.get("fields"), Mapping) or not issue.get("key"):
            raise InputError(None, "expected a Jira issue (an object with 'key' and 'fields') or a webhook body "
                                   "with one under 'issue'.")
        key = str(issue["key"])
        fields: Mapping[str, Any] = self._known_people(key, issue["fields"])
        data, problems = self.wire.from_remote(fields)
        if problems:
            raise InputError(None, [Problem("", f"{key}: {p}") for p in problems])
        try:
            _, status = status_of(fields, self._table)
            state = read_state(self.mapping, self.record_config, status, fields)
        except ValueError as exc:
            raise InputError(None, f"{key}: {exc}.") from None
        data["state"] = state.value
        if not data.get("id"):
            data["id"] = key
        data.setdefault("type", "normal")
        if not data.get("title") and isinstance(fields.get("summary"), str):
            data["title"] = fields["summary"]
        try:
            return Change.model_validate(data)
        except ValidationError as exc:
            problems_ = [Problem(".".join(str(p) for p in e["loc"]), f"{key}: {e['msg']}") for e in exc.errors()]
            raise InputError(None, problems_) from None

    def _known_people(self, key: str, fields: Mapping[str, Any]) -> Mapping[str, Any]:
        """The issue's fields with addresses a profile hides filled in from what this adapter knows (no I/O)."""
        out: dict[str, Any] | None = None
        for f in self.wire.user_fields():
            user = fields.get(f.remote)
            if not isinstance(user, Mapping):
                continue
            if user.get("emailAddress"):
                self.users.learn(user)
                continue
            account = str(user.get("accountId") or "")
            known = self.users.email_for(account) if account else None
            if known is None:
                if account not in self._hidden_warned:
                    self._hidden_warned.add(account)
                    log.warning("%s %s: %s is %s, whose e-mail address Jira does not show; the change's %s "
                                "reads as no one", self.name, key, f.remote, user.get("displayName") or account,
                                f.canonical)
                continue
            out = dict(fields) if out is None else out
            out[f.remote] = {**user, "emailAddress": known}
        return out if out is not None else fields

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> RemoteEvent:
        return parse_delivery(self.name, self.base_url, headers, body, self.settings.webhook_secret,
                              self.record_config.project)

    def changed(self, event: RemoteEvent) -> set[str] | None:
        """Canonical paths (and ``state``) a delivery's changelog names, by ``fieldId``; None if unknown.

        Lets a caller skip deliveries that touched only fields the mapping does not carry (rank,
        watchers...). A comment or a remote link changes nothing mapped: an empty set.
        """
        by_remote: dict[str, list[str]] = {}
        for f in self.mapping.fields:
            by_remote.setdefault(f.remote, []).append(f.canonical)
        state_keys = {"status", *self.record_config.state_fields}
        if event.kind in COMMENT_EVENTS or (event.raw.get("comment") and not event.raw.get("changelog")):
            return set()
        return changed_paths(by_remote, state_keys, event.raw)

    # -- check ---------------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Compare the mapping with the live site; one sentence per mismatch (see :mod:`.check`)."""
        with self._counter.operation("check"):
            info = self._http.call("check", lambda c: c.server_info())
            self._adopt_server_info(self._http.client, info)
            record = self.record_config
            key = quote(record.project, safe="")
            try:
                project = self._http.call("check", lambda c: self._http.get(c, f"project/{key}"))
            except RemoteError as exc:
                if exc.status == 404:
                    return [(f"record.project: there is no project {record.project!r} on this site "
                             f"({exc.remote_message}).")]
                raise
            statuses = self._http.call("check", lambda c: self._http.get(c, f"project/{key}/statuses"))
            problems: list[str] = []
            table = StatusTable.from_project_statuses(self.mapping, record, statuses, problems)
            if not table.issue_type_id:
                return problems
            site_fields = self._http.call("check", lambda c: self._http.get(c, "field"))
            screen = self._http.call("check", lambda c: self._http.get(
                c, f"issue/createmeta/{key}/issuetypes/{table.issue_type_id}", {"maxResults": 200}))
            workflows: dict[str, Any] | None = None
            workflow_error = ""
            try:
                workflows = self._http.call("check", lambda c: self._http.send(c, "POST", "workflows", {
                    "projectAndIssueTypes": [{"projectId": str(project["id"]), "issueTypeId": table.issue_type_id}]}))
            except RemoteError as exc:
                if exc.status not in (401, 403, 404):
                    raise
                workflow_error = f"HTTP {exc.status}: {exc.remote_message}"
            site = checking.Site(list(site_fields or []), list((screen or {}).get("fields", [])), workflows,
                                 workflow_error)
            return problems + checking.compare(self.mapping, record, table, site) + self._check_people()

    def _check_people(self) -> list[str]:
        """Writing people needs the user search: try it with the integration account's own address."""
        people = self.wire.user_fields()
        if not people or not self.settings.user:
            return []
        found = self._http.call("check", lambda c: self._http.get(
            c, "user/search", {"query": self.settings.user, "maxResults": 1}))
        if found:
            return []
        i = self.mapping.fields.index(people[0])
        return [f"fields[{i}] ({people[0].canonical} → {people[0].remote}): Jira's user search finds no one for "
                f"this account's own address ({self.settings.user}), so chgsync cannot look people up to write "
                "them; give the account the Browse users and groups global permission."]


# -- helpers ---------------------------------------------------------------------------------------------
def version_of(raw: Mapping[str, Any]) -> str:
    """``<newest changelog id>:<updated in epoch ms>`` (see the module docstring)."""
    histories = ((raw.get("changelog") or {}).get("histories")) or []
    newest = max((int(h["id"]) for h in histories if str(h.get("id", "")).isdigit()), default=0)
    updated = parse_datetime(str((raw.get("fields") or {}).get("updated")))
    return f"{newest}:{int(updated.timestamp() * 1000)}"


def updated_by(raw: Mapping[str, Any]) -> str:
    """Who wrote last: the newest changelog entry's or comment's author, else the creator."""
    fields = raw.get("fields") or {}
    candidates: list[tuple[datetime, str]] = []
    for h in ((raw.get("changelog") or {}).get("histories")) or []:
        if h.get("created"):
            candidates.append((parse_datetime(str(h["created"])), actor_of(h.get("author"))))
    for c in ((fields.get("comment") or {}).get("comments")) or []:
        if c.get("updated"):
            candidates.append((parse_datetime(str(c["updated"])), actor_of(c.get("updateAuthor") or c.get("author"))))
    if candidates:
        return max(candidates, key=lambda pair: pair[0])[1]
    return actor_of(fields.get("creator")) or actor_of(fields.get("reporter"))


def jql_minute(since: datetime, zone: tzinfo) -> str:
    """The latest JQL minute literal (in ``zone``) that is not after ``since``.

    JQL has no seconds and reads the literal in the searching user's zone. In the repeated hour
    after clocks go back, a literal names two instants; if Jira could read it as the later one, go
    back an hour so nothing between them is missed.
    """
    local = since.astimezone(zone).replace(second=0, microsecond=0)
    naive = local.replace(tzinfo=None)
    while True:
        readings = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
        if max(readings) <= since:
            return naive.strftime("%Y/%m/%d %H:%M")
        naive -= timedelta(hours=1)


_USER_LABELS = {"assignee": "Assignee", "reporter": "Reporter"}


def unset_people_text(unset: list[tuple[FieldMap, str]]) -> str:
    """The comment that says which people chgsync could not set on an issue."""
    lines = [f"- {_USER_LABELS.get(f.remote, f.remote)}: {email} (the change's {f.canonical})" for f, email in unset]
    return ("chgsync could not set these people, because no Jira user with the e-mail address could be found:\n"
            + "\n".join(lines) + "\nThe fields were left as they were; chgsync still holds these people. Give "
            "the person a Jira account (or the integration account the Browse users and groups permission) "
            "and set the field again.")


def _jql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clause_name(field_id: str) -> str:
    if field_id.startswith("customfield_") and field_id[len("customfield_"):].isdigit():
        return f"cf[{field_id[len('customfield_'):]}]"
    return field_id


ADAPTER_TYPE = AdapterType(
    name="jira",
    factory=from_settings,
    description="Jira Cloud (Service Management or Software) through the jira library, driven by a mapping file.",
)

__all__ = ["ADAPTER_TYPE", "JiraAdapter", "UnreadableRecord", "from_settings", "jql_minute", "plain_value",
           "updated_by", "version_of"]
