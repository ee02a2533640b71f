"""chgsync: ITIL change control, enforced across ticketing tools and monitoring.

Plugins import :data:`hookimpl` from here; everything else lives in the modules named for it.
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

try:
    __version__ = version("chgsync")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"

PROJECT = "chgsync"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "__version__", "hookimpl"]
