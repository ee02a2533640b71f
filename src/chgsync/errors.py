"""The exception tree.

::

    ChgsyncError
    ├── InputError            unusable input: a file, a field, what was expected
    │   ├── ChangeFileError   a change file
    │   ├── PolicyError       a policy file
    │   ├── MappingError      a mapping file
    │   ├── ConfigError       the daemon's configuration
    │   └── WebhookRejected   a webhook delivery that is malformed (400) or not authentic (401)
    ├── PluginError           a plugin failed to load or registered something unusable
    └── RemoteError           a remote system answered with an error (carries its own message)
        └── RateLimited       HTTP 429 after retries were exhausted

Every message is a sentence a person can act on; the offending input is named in it and kept as
attributes so callers (the CLI's ``--json``, the daemon's audit trail) need not parse text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ChgsyncError(Exception):
    """Base class of every error chgsync raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (field path, line) and what was expected."""

    field: str
    message: str
    line: int | None = None

    def render(self, source: str | None = None) -> str:
        where = source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        loc = f"{where}: " if where else ""
        field = f"field '{self.field}': " if self.field else ""
        return f"{loc}{field}{self.message}"


class InputError(ChgsyncError):
    """Input that cannot be used at all. Names the source, each field at fault and what was expected."""

    kind = "input"

    def __init__(self, source: str | Path | None, problems: list[Problem] | Problem | str) -> None:
        self.source = str(source) if source is not None else None
        if isinstance(problems, str):
            problems = [Problem(field="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.source} is not a usable {self.kind} file" if self.source else f"Unusable {self.kind}"
        if len(self.problems) == 1:
            return f"{head}: {self.problems[0].render(self.source)}"
        lines = "\n".join(f"  - {p.render(self.source)}" for p in self.problems)
        return f"{head} ({len(self.problems)} problems):\n{lines}"


class ChangeFileError(InputError):
    kind = "change"


class PolicyError(InputError):
    kind = "policy"


class MappingError(InputError):
    kind = "mapping"


class ConfigError(InputError):
    kind = "config"


class WebhookRejected(InputError):
    """A webhook delivery chgsync will not store. ``status`` is the HTTP answer: 400, 401 or 413."""

    kind = "webhook"

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(None, message)

    def _render(self) -> str:
        return self.problems[0].message


class PluginError(ChgsyncError):
    """A plugin could not be loaded or registered something chgsync cannot use."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"Plugin '{plugin}': {message}")


class RemoteError(ChgsyncError):
    """A remote system refused or failed a request; ``remote_message`` is its own words."""

    def __init__(
        self,
        system: str,
        operation: str,
        status: int | None,
        remote_message: str,
        *,
        attempts: int = 1,
    ) -> None:
        self.system = system
        self.operation = operation
        self.status = status
        self.remote_message = remote_message
        self.attempts = attempts
        code = f"HTTP {status}" if status is not None else "no response"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{system} {operation} failed{tries} ({code}): {remote_message}")

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class RateLimited(RemoteError):
    """The remote kept answering 429; ``retry_after`` is its last advice in seconds."""

    def __init__(self, system: str, operation: str, remote_message: str, *, retry_after: float | None,
                 attempts: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(system, operation, 429, remote_message, attempts=attempts)
