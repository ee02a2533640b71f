"""The contract between the core and a ticketing tool.

An adapter turns remote records into canonical :class:`chgsync.model.Change` objects and back,
driven by a mapping file. It owns all I/O with its tool: retries, rate limits, paging, and counting
the API calls each operation costs (``calls``), so the daemon and benchmarks can report them.
``chgsync.testing.conformance`` holds the suite every adapter must pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .mapping import Mapping as MappingFile
from .model import Change
from .registry import Component


@dataclass(frozen=True)
class RemoteRef:
    """Where a change lives in one system: its stable id, its human key and a browser URL."""

    system: str
    id: str
    key: str
    url: str = ""


@dataclass(frozen=True)
class RemoteRecord:
    """A remote record read back as canonical data, with the version the remote gave it.

    ``version`` is the remote's own counter (Jira: the newest changelog id; ServiceNow:
    ``sys_mod_count``), which echo suppression compares against what chgsync wrote.
    """

    ref: RemoteRef
    version: str
    updated: datetime
    change: Change
    updated_by: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class RemoteEvent:
    """A webhook, parsed and verified: a hint that ``ref`` may have changed, not the truth."""

    system: str
    delivery_id: str
    kind: str
    ref: RemoteRef
    actor: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@runtime_checkable
class Adapter(Protocol):
    """What the sync engine needs from a ticketing tool. Errors are :class:`chgsync.errors.RemoteError`."""

    name: str
    mapping: MappingFile
    calls: Counter[str]

    def fetch_changed(self, since: datetime | None) -> Iterator[RemoteRecord]:
        """Every record updated at or after ``since`` (all when ``None``); overlap is the caller's job."""
        ...

    def get(self, ref: RemoteRef | str) -> RemoteRecord:
        """Read one record now, by ref or key."""
        ...

    def find(self, change_id: str) -> RemoteRecord | None:
        """The record carrying this canonical change ID, if any: lets a retried create find its first try."""
        ...

    def create(self, change: Change) -> RemoteRecord:
        """Create the record for ``change`` and return it as read back."""
        ...

    def update(self, ref: RemoteRef, change: Change, fields: Collection[str]) -> RemoteRecord:
        """Write the named canonical fields of ``change`` and return the record as read back."""
        ...

    def move(self, ref: RemoteRef, change: Change) -> RemoteRecord:
        """Bring the record to the remote status mapped to ``change.state``, in as many hops as needed.

        The whole change is given so that fields a transition needs (Jira's resolution, ServiceNow's
        close code and notes) are written from it. The record is read back: a remote that answered
        success but left the status unchanged is an error, not a success.
        """
        ...

    def check(self) -> list[str]:
        """Compare the mapping with the live instance; one sentence per mismatch, naming the mapping key."""
        ...

    def normalize(self, payload: Mapping[str, Any]) -> Change:
        """Turn a raw record or webhook body (as JSON) into the canonical change, without any I/O."""
        ...

    def comment(self, ref: RemoteRef, text: str) -> str:
        """Add a comment (or work note) and return its remote id."""
        ...

    def find_comment(self, ref: RemoteRef, text: str) -> str | None:
        """The id of a recent comment (or work note) this integration wrote with exactly ``text``, if any.

        A comment whose first attempt had an unknown outcome (the answer was lost, or the replica
        posting it died before recording it) looks here first, so that it is not posted twice.
        """
        ...

    def link(self, ref: RemoteRef, other: RemoteRef) -> None:
        """Record on ``ref`` that it is the same change as ``other``."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> RemoteEvent:
        """Verify and parse a webhook delivery; raise :class:`chgsync.errors.InputError` if unusable."""
        ...


AdapterFactory = Callable[[Mapping[str, Any]], Adapter]


class AdapterType(Component[AdapterFactory]):
    kind = "adapter"
