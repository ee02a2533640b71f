"""The ServiceNow emulator, split by concept.

- :mod:`.app`: routing, request parameters, envelopes and headers (:class:`ServiceNowEmulator`)
- :mod:`.schema`: the served tables' dictionary; :mod:`.store`: the records
- :mod:`.query`: encoded queries; :mod:`.display`: value / display value rendering; :mod:`.times`: dates
- :mod:`.records`: write semantics and business rules; :mod:`.state_model`: change states and guards
- :mod:`.notifications`: the outbound "business rule" payload; :mod:`.defaults`, :mod:`.seed`: data
"""

from .app import ServiceNowEmulator
from .errors import ApiError, SeedError
from .notifications import SECRET_HEADER
from .state_model import TRANSITIONS, Settings

__all__ = ["SECRET_HEADER", "TRANSITIONS", "ApiError", "SeedError", "ServiceNowEmulator", "Settings"]
