"""Field shapes on the wire: the JSON Jira's REST v2 takes and gives for each kind of field.

A mapping's codecs turn canonical values into plain values (text, lists, times); this module puts
those plain values into Jira's shape and takes them out again. The shape of a field comes from the
mapping's ``remote_type``, else from the live field schema (``GET /field``), else from what Jira's
system fields are known to be. Everything here is pure, so the round trip
canonical → the exact JSON the adapter sends → canonical can be property-tested without a server.

Jira facts this encodes:

- Select lists are written ``{"value": "Normal"}`` and read back as ``{"self", "value", "id"}``.
- Times are written and read as ``2026-12-08T03:00:00.000+0100``: milliseconds, an offset without a
  colon, in the reading user's zone when read. Jira keeps milliseconds, so finer parts are lost.
- Labels may not contain white space; chgsync escapes white space and ``%`` as ``%20``-style codes
  so any text survives. Jira drops duplicate labels.
- Text areas are plain strings (wiki markup) in v2; the adapter speaks v2 for that reason.
- Users are written ``{"accountId": "..."}`` (Cloud has no user names) and read back as user objects
  whose ``emailAddress`` may be hidden by the person's profile settings. chgsync holds people as
  e-mail addresses, so writing one takes a lookup: :meth:`Wire.to_remote` asks its ``users``
  argument for the account id and leaves the field out without one (see :mod:`.users`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from chgsync.codecs import CODECS, CodecError, translate
from chgsync.mapping import FieldMap, get_path
from chgsync.mapping import Mapping as MappingFile
from chgsync.model import Change

#: remote_type values the adapter understands, with the live schema type they correspond to.
SHAPES: dict[str, str] = {
    "string": "string",
    "text": "string",
    "textarea": "string",
    "url": "string",
    "option": "option",
    "options": "array",
    "labels": "array",
    "datetime": "datetime",
    "date": "date",
    "number": "number",
    "user": "user",
}

#: Shapes of the system fields a mapping may name without a remote_type.
SYSTEM_SHAPES: dict[str, str] = {
    "summary": "string",
    "description": "textarea",
    "environment": "textarea",
    "labels": "labels",
    "duedate": "date",
    "assignee": "user",
    "reporter": "user",
}

_LABEL_UNSAFE = re.compile(r"[%\s]")


def shape_from_schema(schema: Mapping[str, Any] | None) -> str | None:
    """The shape of a field from its ``/field`` schema, or None when the adapter has no shape for it."""
    if not schema:
        return None
    kind = schema.get("type")
    custom = str(schema.get("custom", ""))
    if kind == "string":
        return "textarea" if custom.endswith(":textarea") else "string"
    if kind == "option":
        return "option"
    if kind == "array":
        items = schema.get("items")
        if items == "option":
            return "options"
        if items == "string":
            return "labels"
        return None
    if kind in ("datetime", "date", "number", "user"):
        return str(kind)
    return None


def schema_matches(shape: str, schema: Mapping[str, Any]) -> bool:
    """Whether a live field with ``schema`` can hold values of ``shape``."""
    found = shape_from_schema(schema)
    if found is None:
        return False
    if shape in ("string", "text", "textarea", "url"):
        return found in ("string", "textarea")
    return found == shape


# -- one value ---------------------------------------------------------------------------------------
def format_datetime(value: datetime) -> str:
    """Jira's timestamp, in UTC: ``2026-12-08T02:00:00.000+0000``."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})$")


def parse_datetime(text: str) -> datetime:
    """Read Jira's timestamp (``...000+0100``), tolerating ISO 8601 forms (``Z``, ``+01:00``); UTC out."""
    m = _TS.match(text.strip())
    if not m:
        raise CodecError(f"{text!r} is not a Jira timestamp such as 2026-12-08T02:00:00.000+0000")
    offset = m.group(2)
    if offset == "Z":
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return datetime.fromisoformat(m.group(1) + offset).astimezone(UTC)


def escape_label(text: str) -> str:
    """A label Jira accepts (no white space) from any text; ``%`` is escaped too so decoding is exact.

    Each unsafe character becomes the ``%XX`` codes of its UTF-8 bytes, as in a URL.
    """
    return _LABEL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)


_LABEL_CODES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def unescape_label(text: str) -> str:
    """The text of a label written by :func:`escape_label`; a label people typed stays as it is."""

    def decode(m: re.Match[str]) -> str:
        try:
            return bytes.fromhex(m.group().replace("%", "")).decode()
        except UnicodeDecodeError:
            return m.group()

    return _LABEL_CODES.sub(decode, text)


def to_wire(shape: str, plain: Any) -> Any:
    """The JSON Jira takes for a plain value of ``shape`` (None clears the field)."""
    if plain is None:
        return [] if shape in ("options", "labels") else None
    if shape == "option":
        return {"value": str(plain)}
    if shape == "options":
        return [{"value": str(v)} for v in _as_list(plain)]
    if shape == "labels":
        return [escape_label(str(v)) for v in _as_list(plain)]
    if shape == "datetime":
        if not isinstance(plain, datetime):
            raise CodecError(f"expected a time for a datetime field, got {plain!r}")
        return format_datetime(plain)
    if shape == "date":
        if isinstance(plain, datetime):
            return plain.astimezone(UTC).date().isoformat()
        if isinstance(plain, date):
            return plain.isoformat()
        raise CodecError(f"expected a date for a date field, got {plain!r}")
    if shape == "number":
        return float(plain)
    if shape == "user":  # an account id, already looked up (see Wire.to_remote)
        return {"accountId": str(plain)}
    if isinstance(plain, list):
        return "\n".join(str(v) for v in plain)
    return str(plain) if not isinstance(plain, str) else plain


def from_wire(shape: str, raw: Any) -> Any:
    """The plain value in a field Jira gave (in the read shape) or took (in the write shape)."""
    if raw is None:
        return [] if shape in ("options", "labels") else None
    if shape == "option":
        return plain_value(raw)
    if shape == "options":
        return [plain_value(v) for v in _as_list(raw)]
    if shape == "labels":
        return [unescape_label(str(v)) for v in _as_list(raw)]
    if shape == "datetime":
        return parse_datetime(str(raw)) if raw != "" else None
    if shape == "date":
        if raw == "":
            return None
        try:
            return datetime.combine(date.fromisoformat(str(raw)), time(), tzinfo=UTC)
        except ValueError:
            raise CodecError(f"{raw!r} is not a date such as 2026-12-08") from None
    if shape == "number":
        return float(raw)
    if shape == "user":
        return user_email(raw)
    return plain_value(raw)


def user_email(raw: Any) -> str | None:
    """The e-mail address of a user object (None when the profile hides it); a bare string as is."""
    if isinstance(raw, Mapping):
        address = raw.get("emailAddress")
        return str(address) if address else None
    return str(raw) if raw not in (None, "") else None


def plain_value(raw: Any) -> Any:
    """The human value of an object Jira renders (option value, status/priority name, user e-mail)."""
    if isinstance(raw, Mapping):
        for key in ("value", "name", "emailAddress", "displayName", "key", "id"):
            if raw.get(key) is not None:
                return raw[key]
        return None
    return raw


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# -- a whole mapping ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wire:
    """The mapped fields of one mapping in Jira's shapes; ``shapes`` maps remote field id → shape."""

    mapping: MappingFile
    shapes: Mapping[str, str]

    @classmethod
    def build(cls, mapping: MappingFile, schemas: Mapping[str, Mapping[str, Any]] | None = None) -> Wire:
        """Shapes from the mapping's ``remote_type`` first, then the live schemas, then system knowledge."""
        shapes: dict[str, str] = {}
        for f in mapping.fields:
            shapes[f.remote] = shape_of(f, schemas)
        return cls(mapping, shapes)

    def fields_for(self, only: Collection[str] | None) -> list[FieldMap]:
        """The mapped fields to write for canonical paths ``only`` (a path also selects its sub-paths)."""
        if only is None:
            return list(self.mapping.fields)
        wanted = list(only)
        return [f for f in self.mapping.fields
                if any(f.canonical == p or f.canonical.startswith(p + ".") or p.startswith(f.canonical + ".")
                       for p in wanted)]

    def to_remote(self, change: Change, only: Collection[str] | None = None,
                  users: Callable[[str], str | None] | None = None) -> dict[str, Any]:
        """The ``fields`` object the adapter sends for ``change`` (or for the canonical paths ``only``).

        A person is written by account id: ``users`` maps an e-mail address to one (None when the
        site has no such user). A user field whose address cannot be turned into an account id, or
        any user field when ``users`` is None, is left out; no one (None) clears the field.
        """
        out: dict[str, Any] = {}
        for f in self.fields_for(only):
            value = get_path(change, f.canonical)
            try:
                plain = CODECS[f.codec].encode(value)
                if f.codec == "enum":
                    plain = translate(f.values, plain)
                if self.shapes[f.remote] == "user" and plain is not None:
                    plain = users(str(plain)) if users is not None else None
                    if plain is None:
                        continue
                out[f.remote] = to_wire(self.shapes[f.remote], plain)
            except CodecError as exc:
                raise CodecError(f"{f.canonical} → {f.remote}: {exc}") from None
        return out

    def user_fields(self) -> list[FieldMap]:
        """The mapped fields that hold a person."""
        return [f for f in self.mapping.fields if self.shapes[f.remote] == "user"]

    def plain_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Plain values of the mapped fields present in an issue's ``fields`` (for ``Mapping.decode``)."""
        out: dict[str, Any] = {}
        for f in self.mapping.fields:
            if f.remote in fields:
                out[f.remote] = from_wire(self.shapes[f.remote], fields[f.remote])
        return out

    def from_remote(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Canonical values (nested) from an issue's ``fields``, and the problems met on the way."""
        problems: list[str] = []
        plain: dict[str, Any] = {}
        for f in self.mapping.fields:
            if f.remote not in fields:
                continue
            try:
                plain[f.remote] = from_wire(self.shapes[f.remote], fields[f.remote])
            except CodecError as exc:
                problems.append(f"{f.remote} ({f.canonical}): {exc}")
        data, decode_problems = self.mapping.decode(plain)
        return data, problems + decode_problems


def shape_of(f: FieldMap, schemas: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The wire shape of one mapped field (see :class:`Wire`)."""
    if f.remote_type:
        if f.remote_type not in SHAPES:
            raise ValueError(f"remote_type {f.remote_type!r} of {f.remote} is not one the Jira adapter knows; "
                             f"known: {', '.join(SHAPES)}")
        return f.remote_type
    live = shape_from_schema((schemas or {}).get(f.remote))
    if live is not None:
        return live
    if f.remote in SYSTEM_SHAPES:
        return SYSTEM_SHAPES[f.remote]
    if f.codec == "enum":
        return "option"
    if f.codec == "datetime":
        return "datetime"
    if f.codec == "list":
        return "labels"
    return "string"
