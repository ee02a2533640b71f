"""What a registration hook hands to ``register``: a named factory with a description.

Each kind of component (adapter, emulator, notifier, marker sink) subclasses :class:`Component` so
that the facade in :mod:`chgsync.plugins` can validate names and report who registered what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

F = TypeVar("F")

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Component(Generic[F]):
    """A named factory. ``name`` is what configuration files and CLI options refer to."""

    kind: ClassVar[str] = "component"

    name: str
    factory: F
    description: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ValueError(
                f"{self.kind} name {self.name!r} must be lower-case letters, digits, '-' or '_', "
                "starting with a letter"
            )
