"""People: chgsync names them by e-mail address, ServiceNow by the sys_id of a ``sys_user`` record.

Reading needs no lookup: the adapter asks for the referenced user's address in the same request
(``sysparm_fields=assigned_to,assigned_to.email``, a dot-walk the Table API answers under that literal
key). Writing looks the address up, ``GET /api/now/table/sys_user?sysparm_query=email=<address>^active=true``,
and sends the sys_id. ``email`` is not unique on an instance: when several active users share an
address, none is chosen (the adapter says so on the record rather than guess).

What is found, and every pair a read shows, is remembered for the adapter's life; an address with no
(single) user is remembered for :data:`MISS_TTL` seconds, so a change naming someone without an
account costs one query per write burst, and the person is found soon after they are added.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .client import TableClient, encode_query_value
from .wire import plain

MISS_TTL = 300.0


@dataclass(frozen=True)
class Found:
    """A lookup's answer: the sys_id, or None with the reason (no user, or several)."""

    sys_id: str | None
    reason: str = ""


class Directory:
    """E-mail address ↔ sys_user sys_id for one instance, through the adapter's counted client."""

    def __init__(self, client: TableClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._by_email: dict[str, str] = {}
        self._by_id: dict[str, str] = {}
        self._missing: dict[str, tuple[float, str]] = {}

    def sys_id_for(self, email: str, operation: str) -> Found:
        """The one active user with this address (compared without regard to case)."""
        address = email.strip()
        key = address.casefold()
        with self._lock:
            if key in self._by_email:
                return Found(self._by_email[key])
            missed = self._missing.get(key)
            if missed is not None and self._clock() - missed[0] < MISS_TTL:
                return Found(None, missed[1])
        page = self._client.page("sys_user", query=f"email={encode_query_value(address)}^active=true",
                                 fields=["sys_id", "email"], limit=10, count=False, operation=operation)
        matches = [r for r in page.rows if plain(r.get("email")).casefold() == key and plain(r.get("sys_id"))]
        with self._lock:
            if len(matches) == 1:
                sys_id = plain(matches[0]["sys_id"])
                self._missing.pop(key, None)
                self._remember(address, sys_id)
                return Found(sys_id)
            reason = ("no active ServiceNow user has that e-mail address" if not matches else
                      f"{len(matches)} active ServiceNow users share that e-mail address")
            self._missing[key] = (self._clock(), reason)
            return Found(None, reason)

    def email_for(self, sys_id: str) -> str | None:
        """The address remembered for a sys_id (no I/O)."""
        with self._lock:
            return self._by_id.get(sys_id)

    def learn(self, sys_id: str, email: str) -> None:
        """Remember a pair a read showed (a reference and its dot-walked address)."""
        if sys_id and email:
            with self._lock:
                self._remember(email, sys_id)

    def _remember(self, email: str, sys_id: str) -> None:
        self._by_email.setdefault(email.casefold(), sys_id)
        self._by_id[sys_id] = email
