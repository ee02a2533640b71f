"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``email``).

Registers the ``email`` notifier (``type: email`` under ``notifiers:`` in the daemon's configuration).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import chgsync
from chgsync.notify import NotifierType

from .notifier import EmailNotifier
from .settings import load_settings


def create(settings: Mapping[str, Any]) -> EmailNotifier:
    """The factory the daemon calls with the notifier's settings (``*_env`` keys already resolved)."""
    return EmailNotifier(load_settings(settings))


@chgsync.hookimpl
def register_notifiers(register: Callable[[NotifierType], None]) -> None:
    register(NotifierType(name="email", factory=create,
                          description="Email over SMTP (STARTTLS or TLS, optional login): plain text and HTML, "
                          "one thread per change."))
