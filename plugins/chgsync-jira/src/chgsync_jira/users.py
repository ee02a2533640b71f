"""People: chgsync names them by e-mail address, Jira Cloud by account id.

Writing a person takes a lookup, ``GET /user/search?query=<address>`` (Cloud's documented way to find
a user by address; the integration account needs the *Browse users and groups* global permission,
without which Jira answers an empty list). Reading takes the user object's ``emailAddress``, which a
person's profile may hide; someone this adapter looked up, or read once with the address shown, is
still recognised by account id, anyone else reads as no one (with a warning in the log).

What is found is remembered both ways for the adapter's life: account ids never change. An address
with no Jira user is remembered for :data:`MISS_TTL` seconds only, so a change naming someone without
a Jira account costs one search per write burst rather than one per write, and the person is found
soon after an administrator adds them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from jira import JIRA

from .http import Http

MISS_TTL = 300.0
SEARCH_PAGE = 20


class Directory:
    """E-mail address ↔ account id for one site, looked up through the adapter's counted HTTP calls."""

    def __init__(self, http: Http, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._by_email: dict[str, str] = {}
        self._by_account: dict[str, str] = {}
        self._missing: dict[str, float] = {}

    def account_for(self, email: str, operation: str) -> str | None:
        """The account id of the active user with this address, or None when the site has none."""
        key = email.strip().casefold()
        with self._lock:
            if key in self._by_email:
                return self._by_email[key]
            missed = self._missing.get(key)
            if missed is not None and self._clock() - missed < MISS_TTL:
                return None
        found = self._http.call(operation, lambda c: self._search(c, email.strip()))
        with self._lock:
            if found is None:
                self._missing[key] = self._clock()
                return None
            self._missing.pop(key, None)
            self._remember(email.strip(), found)
        return found

    def _search(self, client: JIRA, email: str) -> str | None:
        page = self._http.get(client, "user/search", {"query": email, "maxResults": SEARCH_PAGE})
        users = [u for u in page or [] if isinstance(u, Mapping) and u.get("accountId") and u.get("active", True)]
        wanted = email.casefold()
        exact = [u for u in users if str(u.get("emailAddress") or "").casefold() == wanted]
        if exact:
            return str(exact[0]["accountId"])
        # The query matches address prefixes too; with the address hidden, one match for a whole
        # address can only be its owner.
        if len(users) == 1 and not users[0].get("emailAddress"):
            return str(users[0]["accountId"])
        return None

    def email_for(self, account_id: str) -> str | None:
        """The address remembered for an account id (no I/O)."""
        with self._lock:
            return self._by_account.get(account_id)

    def learn(self, user: Any) -> None:
        """Remember what a user object read from Jira shows (account id and address, when both are there)."""
        if not isinstance(user, Mapping):
            return
        account, email = user.get("accountId"), user.get("emailAddress")
        if account and email:
            with self._lock:
                self._remember(str(email), str(account))

    def _remember(self, email: str, account: str) -> None:
        self._by_email[email.casefold()] = account
        self._by_account[account] = email
