"""A Jira Cloud emulator for tests and demos (see :class:`JiraEmulator`).

Modules, one concept each: :mod:`.app` (the emulator and HTTP glue), :mod:`.routing` (route table),
:mod:`.api` (handlers), :mod:`.store` and :mod:`.model` (site data), :mod:`.issues` (writes and
their events), :mod:`.fields` (field values), :mod:`.workflow`, :mod:`.jql`, :mod:`.search`,
:mod:`.adf` (rich text), :mod:`.render` (JSON shapes), :mod:`.webhooks`, :mod:`.timefmt`,
:mod:`.defaults` and :mod:`.seed` (initial data and its format).
"""

from .app import JiraEmulator
from .seed import SeedError

__all__ = ["JiraEmulator", "SeedError"]
