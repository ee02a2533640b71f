"""The ServiceNow adapter: canonical changes ↔ ``change_request`` records over the Table API.

Everything product-specific the sync engine must not care about lives here, driven by the mapping
file (``mappings/servicenow-change-request.yaml`` by default):

- **Silent drops.** ServiceNow ignores unknown, read-only and template-locked fields on write, and a
  business rule may answer 200 having reverted a value. Every write therefore compares what was sent
  with the record the instance answers (the PATCH/POST response body: no extra read) and raises
  :class:`~chgsync.errors.RemoteError` naming each field that did not stick.
- **States.** A record is created in New whatever state is posted; a move is one state per write,
  along the type's state model; writing the current state again is refused (403). :meth:`move`
  reads the state, plans the hops (:mod:`.routing`), writes only what differs, and checks the state
  the last answer reports. A multi-hop move is one operation: ``calls["move"]`` counts all of it.
- **Times.** Raw date/times are zone-less UTC ``YYYY-MM-DD HH:MM:SS`` (:mod:`.wire`).
- **Duplicates.** An insert or a journal append that fails ambiguously (timeout, 5xx) is not blindly
  retried; :meth:`create` looks the change up by its canonical ID before posting again.
- **Polling.** :meth:`fetch_changed` scans ``sys_updated_on`` with keyset paging (updated-on, then
  sys_id), so records updated during the scan are neither skipped nor stall it.
- **People.** ``remote_type: user`` fields (requester → requested_by, implementer → assigned_to) are
  sys_user references: reads ask for the dot-walked ``<field>.email`` alongside, writes look the
  address up (:mod:`.users`, cached). An address no single active user has is not an error: the
  field is left as it is, the rest is written, and a work note in the same write (plus a log
  warning) says who could not be set.

Settings (a plain mapping, from the daemon's configuration or the CLI; see :func:`from_settings`):
``name``, ``url``, ``user``, ``password`` (or ``token``), ``mapping``, ``webhook_secret``, ``verify``,
``timeout``, ``retry``, ``sleep``, ``page_size``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chgsync.adapter import AdapterType, RemoteEvent, RemoteRecord, RemoteRef
from chgsync.errors import ConfigError, InputError, MappingError, Problem, RemoteError, WebhookRejected
from chgsync.lifecycle import ChangeType, State
from chgsync.mapping import FieldMap, get_path, load_mapping, shipped_mapping
from chgsync.mapping import Mapping as MappingFile
from chgsync.model import Change
from chgsync.retry import CallCounter, RetryPolicy

from . import routing
from .check import Schema, compare
from .client import DEFAULT_PAGE_SIZE, TableClient, encode_query_value, is_sys_id
from .config import RecordSettings, record_settings, unknown_settings
from .users import Directory
from .wire import WireError, from_glide, plain, to_glide, to_wire

log = logging.getLogger(__name__)

DEFAULT_MAPPING = "servicenow-change-request"
SECRET_HEADER = "X-SN-Webhook-Secret"

#: Fields every read asks for besides the mapped ones: identity, version, and what moves look at.
SYSTEM_FIELDS = ("sys_id", "number", "sys_mod_count", "sys_created_on", "sys_updated_on", "sys_updated_by", "type")


class RecordError(InputError):
    """A ServiceNow record (or payload) that cannot be read as a canonical change; names each field."""

    kind = "ServiceNow record"


class UnreadableRecord(RemoteError):
    """A record the instance returned that does not decode; retried later (a person may fix the text)."""

    def __init__(self, system: str, operation: str, problem: RecordError) -> None:
        super().__init__(system, operation, None, str(problem))
        self.problem = problem
        self.args = (f"{system} {operation}: {problem}",)


class ServiceNowAdapter:
    """:class:`chgsync.adapter.Adapter` for ServiceNow change_request records (see the module docstring)."""

    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        *,
        name: str = "servicenow",
        mapping: MappingFile | None = None,
        webhook_secret: str | None = None,
        verify: bool | str = True,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.name = name
        self.mapping = mapping if mapping is not None else load_mapping(shipped_mapping(DEFAULT_MAPPING))
        if self.mapping.system != "servicenow":
            raise MappingError(self.mapping.source or self.mapping.name,
                               f"this is a mapping for '{self.mapping.system}', not for 'servicenow'.")
        self.record_settings: RecordSettings = record_settings(self.mapping)
        self.table = self.record_settings.table
        self.url = url.rstrip("/")
        self.webhook_secret = webhook_secret or None
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.page_size = page_size
        self._counter = CallCounter()
        self.calls: Counter[str] = self._counter.calls
        self.client = TableClient(self.url, user, password, system=name, verify=verify,
                                  timeout=timeout if timeout is not None else self.retry.timeout,
                                  retry=self.retry, sleep=sleep, counter=self._counter)
        self._by_remote: dict[str, FieldMap] = {f.remote: f for f in self.mapping.fields}
        self.users = Directory(self.client)
        self._unknown_warned: set[str] = set()
        self._read_fields = self._fields_to_read()
        self._by_status: dict[str, list[State]] = {}
        for state, sm in self.mapping.states.items():
            self._by_status.setdefault(sm.remote[self.mapping.status_field], []).append(state)

    def _fields_to_read(self) -> list[str]:
        derived = self.record_settings.overall_risk
        names = [*SYSTEM_FIELDS, *(f.remote for f in self.mapping.fields), *self.mapping.remote_fields,
                 *(f"{f.remote}.email" for f in self.mapping.fields if f.is_user),
                 self.record_settings.link.key, self.record_settings.link.system,
                 *([derived.field] if derived is not None else [])]
        return list(dict.fromkeys(names))

    def _op(self, name: str) -> AbstractContextManager[None]:
        return self._counter.operation(name)

    def close(self) -> None:
        self.client.close()

    # -- encoding --------------------------------------------------------------------------------------
    def payload(self, change: Change, only: Collection[str] | None = None, *, clear: bool = False,
                users: Callable[[str], str | None] | None = None) -> dict[str, str]:
        """The exact JSON body that writes ``change``'s mapped fields (or the ``only`` canonical paths).

        Empty values are left out (``clear=False``, for inserts) or sent as ``""``, which clears the
        field (``clear=True``, for updates). With the risks, the derived overall risk is written too.
        A person is written as the sys_id ``users`` gives for the address; without ``users``, or for an
        address it does not know, the field is left out. Pure: no I/O.
        """
        encoded = self.mapping.encode(change, only)
        body: dict[str, str] = {}
        for remote, value in encoded.items():
            if self._by_remote[remote].is_user and value is not None:
                sys_id = users(str(value)) if users is not None else None
                if sys_id:
                    body[remote] = sys_id
                continue
            text = to_wire(value)
            if text == "" and not clear:
                continue
            body[remote] = text
        derived = self.record_settings.overall_risk
        with_risks = self.mapping.field("risks") is not None and (only is None or "risks" in only)
        if derived is not None and with_risks and change.overall_risk is not None:
            body[derived.field] = derived.values[change.overall_risk]
        return body

    def _wire_to_plain(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, raw in record.items():
            text = plain(raw)
            f = self._by_remote.get(key)
            if f is not None and f.is_user:
                values[key] = self._person(record, f)
                continue
            if f is not None and (f.codec == "datetime" or f.remote_type == "glide_date_time"):
                try:
                    values[key] = from_glide(text)
                except WireError as exc:
                    problems.append(Problem(f"{key} ({f.canonical})", f"{exc}."))
                continue
            values[key] = text
        return values, problems

    def _person(self, record: Mapping[str, Any], f: FieldMap) -> str:
        """The address of the user a reference names: the dot-walked email read with it, else one remembered."""
        sys_id = plain(record.get(f.remote))
        if not sys_id:
            return ""
        dotted = f"{f.remote}.email"
        if dotted in record:
            email = plain(record[dotted])
            self.users.learn(sys_id, email)
            return email
        known = self.users.email_for(sys_id)
        if known is None and sys_id not in self._unknown_warned:
            self._unknown_warned.add(sys_id)
            log.warning("%s: %s names sys_user %s, but the record carries no %s and the adapter has not seen "
                        "that user; the change's %s reads as no one", self.name, f.remote, sys_id, dotted, f.canonical)
        return known or ""

    def _people(self, operation: str, unset: dict[str, str]) -> Callable[[str], str | None]:
        """The sys_user lookup writes use, counted under ``operation``; misses go to ``unset`` with why."""
        def lookup(email: str) -> str | None:
            found = self.users.sys_id_for(email, operation)
            if found.sys_id is None:
                unset[email] = found.reason
            return found.sys_id
        return lookup

    def _unset_note(self, change: Change, only: Collection[str] | None, sent: Mapping[str, str],
                    unset: Mapping[str, str], number: str) -> str | None:
        """The work note saying which people could not be written (None when all were), and a log line each."""
        lines = []
        for f in self.mapping.fields:
            email = get_path(change, f.canonical) if f.is_user else None
            if email is None or f.remote in sent or (only is not None and f.canonical not in only):
                continue
            reason = unset.get(str(email), "no active ServiceNow user has that e-mail address")
            log.warning("%s %s: %s not set to %s (the change's %s): %s", self.name, number, f.remote, email,
                        f.canonical, reason)
            lines.append(f"- {f.remote}: {email} (the change's {f.canonical}): {reason}")
        if not lines:
            return None
        return ("chgsync could not set these people:\n" + "\n".join(lines) + "\nThe fields were left as they "
                "were; chgsync still holds these people. Give the person a ServiceNow user with that e-mail "
                "address (one, active) and set the field again.")

    def state_of(self, values: Mapping[str, Any]) -> State | None:
        """The canonical state of a record's raw values.

        The most specific state whose values all match wins; failing that, the states sharing the
        status value (an Authorize change whose approval is not requested reads as CAB review); failing
        that, the state whose ``via`` stops at the status (Assess reads as CAB review).
        """
        exact = self.mapping.state_for(values)
        if exact is not None:
            return exact
        status = plain(values.get(self.mapping.status_field))
        candidates = self._by_status.get(status, [])
        if candidates:
            order = list(State)
            return min(candidates, key=lambda s: (len(self.mapping.states[s].remote), order.index(s)))
        for state, sm in self.mapping.states.items():
            if status in sm.via:
                return state
        return None

    def decode(self, record: Mapping[str, Any], *, strict: bool = True) -> Change:
        """A raw record (Table API, raw values) as the canonical change; problems raise :class:`RecordError`.

        With ``strict=False`` (polling) unreadable fields are left out and logged instead, so one
        hand-edited record cannot stall a scan; :meth:`get` re-reads it strictly before it is used.
        """
        values, problems = self._wire_to_plain(record)
        data, decode_problems = self.mapping.decode(values)
        problems += [Problem(p.split(":", 1)[0], p.split(":", 1)[1].strip() + ".") for p in decode_problems]
        number = plain(record.get("number")) or plain(record.get("sys_id"))
        state = self.state_of(values)
        if state is None:
            status = self.mapping.status_field
            problems.append(Problem(status, f"'{values.get(status, '')}' (with {self._state_context(values)}) is "
                                    "not a state the mapping knows."))
            state = State.DRAFT
        data["state"] = state.value
        if not data.get("id"):
            data["id"] = number  # a change made in ServiceNow: the engine adopts it under a new ID
        if not data.get("title"):
            title = self._remote_of("title")
            problems.append(Problem(f"{title} (title)", "is empty; a change needs a title."))
            data["title"] = number or "(untitled)"
        if "type" not in data:
            problems.append(Problem(f"{self._remote_of('type')} (type)", "is missing; a change needs a type."))
            data["type"] = ChangeType.NORMAL.value
        try:
            change = Change.model_validate(data)
        except ValidationError as exc:
            problems += _validation_problems(exc, self.mapping)
            if strict:
                raise RecordError(None, _numbered(problems, number)) from None
            change = _lenient(data, exc, number)
        if problems and strict:
            raise RecordError(None, _numbered(problems, number))
        for p in problems:
            log.warning("%s %s: %s: %s", self.name, number, p.field, p.message)
        return change

    def _state_context(self, values: Mapping[str, Any]) -> str:
        keys = sorted({k for sm in self.mapping.states.values() for k in sm.remote} - {self.mapping.status_field})
        return ", ".join(f"{k}={plain(values.get(k))!r}" for k in keys) or "no other values"

    def _remote_of(self, canonical: str) -> str:
        f = self.mapping.field(canonical)
        return f.remote if f is not None else canonical

    def ref_for(self, record: Mapping[str, Any]) -> RemoteRef:
        sys_id = plain(record.get("sys_id"))
        return RemoteRef(self.name, sys_id, plain(record.get("number")) or sys_id,
                         f"{self.url}/{self.table}.do?sys_id={sys_id}")

    def _remote_record(self, record: Mapping[str, Any], operation: str, *, strict: bool = True) -> RemoteRecord:
        try:
            change = self.decode(record, strict=strict)
        except RecordError as exc:
            raise UnreadableRecord(self.name, operation, exc) from None
        try:
            updated = from_glide(plain(record.get("sys_updated_on")))
        except WireError:
            updated = None
        if updated is None:
            raise UnreadableRecord(self.name, operation, RecordError(None, Problem(
                "sys_updated_on", f"{record.get('sys_updated_on')!r} is not a ServiceNow date/time.")))
        return RemoteRecord(ref=self.ref_for(record), version=plain(record.get("sys_mod_count")), updated=updated,
                            change=change, updated_by=plain(record.get("sys_updated_by")), raw=dict(record))

    # -- the write check -------------------------------------------------------------------------------
    def _verify(self, sent: Mapping[str, str], record: Mapping[str, Any], operation: str, number: str) -> None:
        """Raise naming every field whose value ServiceNow did not keep (ignored, read-only, reverted)."""
        lost: list[str] = []
        for name, wrote in sent.items():
            if name not in record:
                lost.append(f"'{name}' is not in the answer (no such field on {self.table}, or the "
                            "integration user may not read it)")
                continue
            got = plain(record[name])
            if not _same_value(wrote, got):
                lost.append(f"{name}: wrote {wrote!r}, reads {got!r}")
        if lost:
            raise RemoteError(self.name, operation, 200,
                              f"ServiceNow answered 200 but did not keep what chgsync wrote to {number}: "
                              + "; ".join(lost) + " (the field is unknown or read-only, or a business rule "
                              "reverted it)")

    # -- reads -----------------------------------------------------------------------------------------
    def _read(self, sys_id: str, operation: str) -> dict[str, Any]:
        if not is_sys_id(sys_id):
            raise RemoteError(self.name, operation, 404, f"'{sys_id}' is not a ServiceNow sys_id")
        return self.client.get(self.table, sys_id, fields=self._read_fields, operation=operation)

    def get(self, ref: RemoteRef | str) -> RemoteRecord:
        """Read one record now, by ref, sys_id or number (``CHG0030001``)."""
        with self._op("get"):
            key = ref.id if isinstance(ref, RemoteRef) else str(ref)
            if is_sys_id(key):
                return self._remote_record(self._read(key, "get"), "get")
            page = self.client.page(self.table, query=f"number={encode_query_value(key)}", fields=self._read_fields,
                                    limit=2, operation="get")
            rows = [r for r in page.rows if plain(r.get("number")) == key]
            if not rows:
                raise RemoteError(self.name, "get", 404, f"No Record found: no {self.table} is numbered '{key}'")
            return self._remote_record(rows[0], "get")

    def find(self, change_id: str) -> RemoteRecord | None:
        """The record whose ID field holds ``change_id`` (the oldest, if several), or None.

        The answer is filtered again here: ServiceNow drops a query term on an unknown field and would
        otherwise hand back an arbitrary record.
        """
        with self._op("find"):
            return self._find(change_id)

    def _find(self, change_id: str) -> RemoteRecord | None:
        f = self.mapping.field("id")
        if f is None:
            return None
        page = self.client.page(self.table, query=f"{f.remote}={encode_query_value(change_id)}^ORDERBYsys_created_on",
                                fields=self._read_fields, limit=10, operation="find")
        if page.rows and f.remote not in page.rows[0]:
            raise RemoteError(self.name, "find", 200, f"{self.table} has no field '{f.remote}' (or the integration "
                              "user may not read it), which the mapping names for the change ID; run `chgsync "
                              "mapping check`")
        for row in page.rows:
            if plain(row.get(f.remote)) == change_id:
                return self._remote_record(row, "find")
        return None

    def fetch_changed(self, since: datetime | None) -> Iterator[RemoteRecord]:
        """Every record updated at or after ``since`` (to the second), oldest first, in keyset pages."""
        order = "ORDERBYsys_updated_on^ORDERBYsys_id"
        query = (f"sys_updated_on>={to_glide(since)}^" if since is not None else "") + order
        while True:
            with self._op("fetch_changed"):
                page = self.client.page(self.table, query=query, fields=self._read_fields, limit=self.page_size,
                                        count=False, operation="fetch_changed")
            for row in page.rows:
                yield self._remote_record(row, "fetch_changed", strict=False)
            if len(page.rows) < self.page_size:
                return
            last = page.rows[-1]
            at, after = plain(last.get("sys_updated_on")), plain(last.get("sys_id"))
            query = f"sys_updated_on>{at}^NQsys_updated_on={at}^sys_id>{after}^{order}"

    # -- writes ----------------------------------------------------------------------------------------
    def create(self, change: Change) -> RemoteRecord:
        """Insert the change (it starts in New whatever its state) and return it as ServiceNow stored it.

        A POST that fails without a clear answer may have landed; before posting again the change is
        looked up by its ID, so a retry does not make a second record.
        """
        with self._op("create"):
            unset: dict[str, str] = {}
            body = self.payload(change, users=self._people("create", unset))
            note = self._unset_note(change, None, body, unset, change.id)
            sent = {**body, self.record_settings.comment_field: note} if note else body
            record: dict[str, Any] | None = None
            for attempt in range(self.retry.attempts):
                try:
                    record = self.client.post(self.table, sent, fields=self._read_fields, operation="create")
                    break
                except RemoteError as exc:
                    if not exc.retryable or exc.status == 429 or attempt + 1 >= self.retry.attempts:
                        raise
                    self.sleep(self.retry.delay(attempt, None))
                    found = self._find(change.id)
                    if found is not None:
                        return found
            assert record is not None
            self._verify(body, record, "create", plain(record.get("number")))
            return self._remote_record(record, "create")

    def update(self, ref: RemoteRef, change: Change, fields: Collection[str]) -> RemoteRecord:
        """Write the named canonical fields (empty ones are cleared) and check ServiceNow kept them."""
        with self._op("update"):
            paths = [p for p in fields if self.mapping.field(p) is not None]
            unset: dict[str, str] = {}
            body = self.payload(change, paths, clear=True, users=self._people("update", unset))
            note = self._unset_note(change, paths, body, unset, ref.key)
            if note is not None and is_sys_id(ref.id) and self._journal_entry(ref, note, "update") is not None:
                note = None  # said already (an earlier write, or a retry of this one): once is enough
            if not body and not note:
                return self._remote_record(self._read(ref.id, "update"), "update")
            sent = {**body, self.record_settings.comment_field: note} if note else body
            # a journal append is not idempotent: such a write is not re-sent after an ambiguous failure
            record = self.client.patch(self.table, ref.id, sent, fields=self._read_fields, operation="update",
                                       idempotent=note is None)
            self._verify(body, record, "update", plain(record.get("number")) or ref.key)
            return self._remote_record(record, "update")

    def move(self, ref: RemoteRef, change: Change) -> RemoteRecord:
        """Bring the record to the state mapped to ``change.state``, hop by hop, and check it got there.

        A hop that fails without a clear answer is not repeated blindly (writing the state it may
        already be in is refused): the move starts over from reading the state.
        """
        with self._op("move"):
            for attempt in range(self.retry.attempts):
                try:
                    return self._move_once(ref, change)
                except RemoteError as exc:
                    if not exc.retryable or exc.status == 429 or attempt + 1 >= self.retry.attempts:
                        raise
                    self.sleep(self.retry.delay(attempt, None))
            raise AssertionError("unreachable")  # pragma: no cover

    def _move_once(self, ref: RemoteRef, change: Change) -> RemoteRecord:
        status_field = self.mapping.status_field
        target = self.mapping.states[change.state]
        record = self._read(ref.id, "move")
        number = plain(record.get("number")) or ref.key
        current = plain(record.get(status_field))
        graph = self.record_settings.state_model.get(_change_type(plain(record.get("type"))))  # type: ignore[arg-type]
        route = routing.plan(current, target.remote[status_field], target.via, graph)
        for i, hop in enumerate(route):
            last = i == len(route) - 1
            extras = self._extras(change.state) if last else self._hop_extras(hop)
            body = {status_field: hop}
            body.update({k: v for k, v in extras.items() if not _same_value(v, plain(record.get(k)))})
            written = self._on_enter(hop, change, record)
            body.update(written)
            try:
                record = self.client.patch(self.table, ref.id, body, fields=self._read_fields, operation="move",
                                           idempotent=False)
            except RemoteError as exc:
                if type(exc) is not RemoteError:
                    raise
                hint = ""
                if graph is not None and routing.shortest(graph, current, hop) is None:
                    hint = (f" (the mapping's record.state_model has no way from {current} to {hop} for "
                            f"{plain(record.get('type'))} changes either)")
                raise RemoteError(self.name, "move", exc.status, f"moving {number} from {self._label(current)} to "
                                  f"{self._label(hop)}: {exc.remote_message}{hint}", attempts=exc.attempts) from exc
            now = plain(record.get(status_field))
            if now != hop:
                raise RemoteError(self.name, "move", 200, f"ServiceNow answered 200 but {number} is in "
                                  f"{self._label(now)}, not {self._label(hop)} (a business rule or workflow "
                                  "reverted the state)")
            self._verify(written, record, "move", number)
            current = hop
        missing = {k: v for k, v in self._extras(change.state).items() if not _same_value(v, plain(record.get(k)))}
        if missing:  # entering a state can reset them (Authorize requests approval): write them after
            record = self.client.patch(self.table, ref.id, missing, fields=self._read_fields, operation="move")
            self._verify(missing, record, "move", number)
        result = self._remote_record(record, "move")
        if result.change.state != change.state:
            raise RemoteError(self.name, "move", 200, f"{number} reads back as {result.change.state.value}, not "
                              f"{change.state.value} ({self._state_context(record)})")
        return result

    def _extras(self, state: State) -> dict[str, str]:
        return {k: v for k, v in self.mapping.states[state].remote.items() if k != self.mapping.status_field}

    def _hop_extras(self, status: str) -> dict[str, str]:
        """Values a stop on the way needs: those of the one canonical state it identifies, if only one."""
        states = self._by_status.get(status, [])
        return self._extras(states[0]) if len(states) == 1 else {}

    def _on_enter(self, status: str, change: Change, record: Mapping[str, Any]) -> dict[str, str]:
        paths = self.record_settings.on_enter.get(status, [])
        if not paths:
            return {}
        body = self.payload(change, paths)
        return {k: v for k, v in body.items() if not _same_value(v, plain(record.get(k)))}

    def _label(self, status: str) -> str:
        states = self._by_status.get(status)
        names = "/".join(s.label for s in states) if states else "?"
        return f"{self.mapping.status_field} {status} ({names})"

    def comment(self, ref: RemoteRef, text: str) -> str:
        """Append a work note; returns its ``sys_journal_field`` sys_id.

        Not retried on an ambiguous failure: the platform appends identical text again.
        """
        field = self.record_settings.comment_field
        with self._op("comment"):
            if not is_sys_id(ref.id):
                raise RemoteError(self.name, "comment", 404, f"'{ref.id}' is not a ServiceNow sys_id")
            self.client.patch(self.table, ref.id, {field: text}, fields=["sys_id", "sys_mod_count"],
                              operation="comment", idempotent=False)
            found = self._journal_entry(ref, text, "comment")
            if found is not None:
                return found
            raise RemoteError(self.name, "comment", 200, f"ServiceNow answered 200 but no {field} entry with the "
                              f"text appears on {ref.key} ({field} may not be a journal field)")

    def find_comment(self, ref: RemoteRef, text: str) -> str | None:
        with self._op("find_comment"):
            if not is_sys_id(ref.id):
                raise RemoteError(self.name, "find_comment", 404, f"'{ref.id}' is not a ServiceNow sys_id")
            return self._journal_entry(ref, text, "find_comment")

    def _journal_entry(self, ref: RemoteRef, text: str, operation: str) -> str | None:
        """Among the record's 20 newest journal entries in the comment field, one with exactly ``text``."""
        field = self.record_settings.comment_field
        page = self.client.page("sys_journal_field",
                                query=f"element_id={ref.id}^element={field}^ORDERBYDESCsys_created_on",
                                fields=["sys_id", "value"], limit=20, operation=operation)
        for row in page.rows:
            if plain(row.get("value")) == text:
                return plain(row.get("sys_id"))
        return None

    def link(self, ref: RemoteRef, other: RemoteRef) -> None:
        """Record the other system's key and name in the correlation fields; writes only what differs."""
        keys = self.record_settings.link
        with self._op("link"):
            record = self._read(ref.id, "link")
            want = {keys.key: other.key, keys.system: other.system}
            diff = {k: v for k, v in want.items() if plain(record.get(k)) != v}
            if diff:
                record = self.client.patch(self.table, ref.id, diff, fields=self._read_fields, operation="link")
                self._verify(diff, record, "link", plain(record.get("number")) or ref.key)

    # -- offline ---------------------------------------------------------------------------------------
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> RemoteEvent:
        """Verify the shared secret (when configured) and read the notification's record identity."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if self.webhook_secret is not None:
            given = lowered.get(SECRET_HEADER.lower())
            if given is None:
                raise WebhookRejected(f"The delivery has no {SECRET_HEADER} header; the business rule's REST "
                                      "message must send the shared secret.", 401)
            if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
                raise WebhookRejected(f"The delivery's {SECRET_HEADER} does not match the configured secret.", 401)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected(f"The body is not JSON: {exc}.", 400) from None
        if not isinstance(data, dict):
            raise WebhookRejected(f"The body must be a JSON object (a change notification), not "
                                  f"{type(data).__name__}.", 400)
        inner = data.get("record")
        record: dict[str, Any] = inner if isinstance(inner, dict) else {}
        table = data.get("table")
        if table not in (None, "", self.table):
            raise WebhookRejected(f"The notification is about table '{table}', not {self.table}.", 400)
        sys_id = plain(data.get("sys_id") or record.get("sys_id"))
        if not sys_id:
            raise WebhookRejected("The notification has no sys_id: it cannot say which record changed.", 400)
        if not is_sys_id(sys_id):
            raise WebhookRejected(f"The notification's sys_id '{sys_id[:64]}' is not a ServiceNow sys_id "
                                  "(32 lower-case hexadecimal characters).", 400)
        version = plain(data.get("sys_mod_count") or record.get("sys_mod_count"))
        delivery = f"{sys_id}:{version}" if version else f"{sys_id}:sha256:{hashlib.sha256(body).hexdigest()[:16]}"
        number = plain(data.get("number") or record.get("number"))
        ref = RemoteRef(self.name, sys_id, number or sys_id, f"{self.url}/{self.table}.do?sys_id={sys_id}")
        operation = str(data.get("operation") or "update")
        actor = plain(data.get("sys_updated_by") or record.get("sys_updated_by"))
        return RemoteEvent(self.name, delivery, f"{self.table}.{operation}", ref, actor, data)

    def normalize(self, payload: Mapping[str, Any]) -> Change:
        """A Table API record (raw values, or ``display_value=all`` pairs), a ``{"result": {...}}``
        answer, or a change notification's body, as the canonical change. No I/O."""
        record: Any = payload
        if isinstance(payload.get("record"), Mapping):
            table = payload.get("table")
            if table not in (None, "", self.table):
                raise RecordError(None, Problem("table", f"the notification is about '{table}', not {self.table}."))
            record = payload["record"]
        elif isinstance(payload.get("result"), Mapping):
            record = payload["result"]
        elif isinstance(payload.get("result"), list):
            raise RecordError(None, Problem("result", "is a list of records; give one record."))
        known = {self.mapping.status_field, *self._by_remote}
        if not isinstance(record, Mapping) or not known & set(record):
            raise RecordError(None, Problem("", f"this is not a {self.table} record nor a change notification: "
                                            f"it has none of the mapped fields ({', '.join(sorted(known))})."))
        return self.decode(record, strict=True)

    # -- the instance's dictionary ---------------------------------------------------------------------
    def check(self) -> list[str]:
        """Compare the mapping with the instance's dictionary (sys_db_object, sys_dictionary, sys_choice).

        On an instance, the integration user needs read access to those three tables (admin, or a
        role granted read on them).
        """
        with self._op("check"):
            tables = self._hierarchy()
            if not tables:
                return [f"record.table ({self.table}): the instance has no table '{self.table}'."]
            names = ",".join(tables)
            dictionary = self.client.list("sys_dictionary", query=f"nameIN{names}^elementISNOTEMPTY^ORDERBYname",
                                          fields=["name", "element", "internal_type", "reference", "read_only",
                                                  "active"], page_size=self.page_size, operation="check")
            choices = self.client.list("sys_choice", query=f"nameIN{names}^ORDERBYname^ORDERBYsequence",
                                       fields=["name", "element", "value", "inactive"], page_size=self.page_size,
                                       operation="check")
            schema = Schema.from_rows(self.table, tables, list(dictionary), list(choices))
        return compare(self.mapping, self.record_settings, schema)

    def _hierarchy(self) -> list[str]:
        """The table and every table it extends, most specific first (sys_db_object.super_class)."""
        chain: list[str] = []
        page = self.client.page("sys_db_object", query=f"name={encode_query_value(self.table)}",
                                fields=["sys_id", "name", "super_class"], limit=1, operation="check")
        rows = [r for r in page.rows if plain(r.get("name")) == self.table]
        while rows and len(chain) < 10:
            row = rows[0]
            chain.append(plain(row.get("name")))
            parent = plain(row.get("super_class"))
            if not parent or not is_sys_id(parent):
                break
            rows = [self.client.get("sys_db_object", parent, fields=["sys_id", "name", "super_class"],
                                    operation="check")]
        return chain


# -- helpers -------------------------------------------------------------------------------------------
def _change_type(value: str) -> ChangeType | None:
    try:
        return ChangeType(value)
    except ValueError:
        return None


def _same_value(wrote: str, got: str) -> bool:
    """Equal as ServiceNow stores them: exactly, or as the same instant for date/times."""
    if wrote == got:
        return True
    try:
        a, b = from_glide(wrote), from_glide(got)
    except WireError:
        return False
    return a is not None and a == b


def _numbered(problems: list[Problem], number: str) -> list[Problem]:
    return [Problem(f"{number}: {p.field}" if number else p.field, p.message) for p in problems]


def _lenient(data: dict[str, Any], exc: ValidationError, number: str) -> Change:
    """Polling's fallback: leave out the parts that do not validate (an ID typed by hand: the number)."""
    for err in exc.errors():
        top = err["loc"][0] if err["loc"] else None
        if top == "id":
            data["id"] = number
        elif top not in (None, "title", "type", "state"):
            data.pop(str(top), None)
    try:
        return Change.model_validate(data)
    except ValidationError as again:
        raise RecordError(None, [Problem(number, f"cannot be read even leaving out unusable fields: {again}")]) \
            from None


def _validation_problems(exc: ValidationError, mapping: MappingFile) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        remote = next((f.remote for f in mapping.fields if path == f.canonical or path.startswith(f.canonical + ".")
                       or f.canonical.startswith(path + ".")), None)
        where = f"{remote} ({path})" if remote else path
        out.append(Problem(where, f"{err['msg']}."))
    return out


# -- the factory ---------------------------------------------------------------------------------------
def from_settings(settings: Mapping[str, Any]) -> ServiceNowAdapter:
    """Build the adapter from plain settings (daemon configuration, CLI); problems raise ConfigError."""
    unknown = unknown_settings(settings)
    if unknown:
        raise ConfigError(None, [Problem(k, "is not a ServiceNow adapter setting; known: name, url, user, password "
                                 "(or token), mapping, webhook_secret, verify, timeout, retry, sleep, page_size.")
                                 for k in unknown])
    url = settings.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(None, Problem("url", f"expected the instance's base URL such as "
                                        f"https://example.service-now.com, got {url!r}."))
    mapping = settings.get("mapping")
    if mapping is None:
        mapping = load_mapping(shipped_mapping(DEFAULT_MAPPING))
    elif isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    elif not isinstance(mapping, MappingFile):
        raise ConfigError(None, Problem("mapping", f"expected a mapping file path, got {type(mapping).__name__}."))
    retry = settings.get("retry")
    if isinstance(retry, Mapping):
        try:
            retry = RetryPolicy(**retry)
        except TypeError as exc:
            raise ConfigError(None, Problem("retry", f"{exc}; known: attempts, base, cap, max_retry_after, "
                                            "timeout.")) from None
    elif retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigError(None, Problem("retry", f"expected a RetryPolicy or a mapping, got {type(retry).__name__}."))
    verify = settings.get("verify", True)
    if isinstance(verify, str) and verify.lower() in ("true", "false"):
        verify = verify.lower() == "true"
    if not isinstance(verify, (bool, str)):
        raise ConfigError(None, Problem("verify", "expected true, false or the path of a CA bundle."))
    timeout = settings.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError(None, Problem("timeout", f"expected a positive number of seconds, got {timeout!r}."))
    page_size = settings.get("page_size", DEFAULT_PAGE_SIZE)
    if not isinstance(page_size, int) or not 1 <= page_size <= 10000:
        raise ConfigError(None, Problem("page_size", f"expected a whole number from 1 to 10000, got {page_size!r}."))
    sleep = settings.get("sleep")
    if sleep is None:
        sleep = time.sleep
    if not callable(sleep):
        raise ConfigError(None, Problem("sleep", "expected a callable taking seconds."))
    return ServiceNowAdapter(
        url,
        settings.get("user"),
        settings.get("password") or settings.get("token"),
        name=str(settings.get("name") or "servicenow"),
        mapping=mapping,
        webhook_secret=settings.get("webhook_secret"),
        verify=verify,
        timeout=float(timeout) if timeout is not None else None,
        retry=retry,
        sleep=sleep,
        page_size=page_size,
    )


ADAPTER_TYPE = AdapterType(
    name="servicenow",
    factory=from_settings,
    description="ServiceNow change_request over the Table API: mapped fields, state moves along the change "
    "model, work notes, correlation links, webhook notifications (X-SN-Webhook-Secret).",
)

__all__ = ["ADAPTER_TYPE", "RecordError", "ServiceNowAdapter", "UnreadableRecord", "from_settings"]
