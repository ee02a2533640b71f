"""chgsync's entry point into this package (entry-point group ``chgsync``, name ``webhook``).

Registers the ``webhook`` notifier (``type: webhook`` under ``notifiers:``) and the ``webhook``
emulator (``chgsync emulate webhook``): a receiver that checks signatures, for trying it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import chgsync
from chgsync.notify import NotifierType
from chgsync.testing.emulator import EmulatorType

from .notifier import WebhookNotifier
from .settings import load_settings


def create(settings: Mapping[str, Any]) -> WebhookNotifier:
    """The factory the daemon calls with the notifier's settings (``*_env`` keys already resolved)."""
    return WebhookNotifier(load_settings(settings))


@chgsync.hookimpl
def register_notifiers(register: Callable[[NotifierType], None]) -> None:
    register(NotifierType(name="webhook", factory=create,
                          description="Signed JSON POSTs (HMAC-SHA256 with a timestamp) to any HTTP receiver."))


@chgsync.hookimpl
def register_emulators(register: Callable[[EmulatorType], None]) -> None:
    from .standin import WebhookReceiver  # imported here so loading the plugin stays cheap for other commands

    register(EmulatorType(name="webhook", factory=WebhookReceiver,
                          description="A webhook receiver: checks chgsync's signature and timestamp, answers "
                          "duplicates once, keeps every delivery."))
