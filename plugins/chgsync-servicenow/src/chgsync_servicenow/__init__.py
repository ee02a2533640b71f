"""ServiceNow for chgsync.

- :class:`chgsync_servicenow.adapter.ServiceNowAdapter`: the adapter (change_request over the Table
  API), registered as ``servicenow`` for the daemon, ``chgsync mapping check`` and ``chgsync normalize``;
  its mapping is ``mappings/servicenow-change-request.yaml``.
- :class:`chgsync_servicenow.emulator.ServiceNowEmulator`: the emulator, registered as ``servicenow``
  for ``chgsync emulate`` and served to tests by the ``servicenow_emulator`` pytest fixture.
"""

from .emulator import ServiceNowEmulator

__all__ = ["ServiceNowEmulator"]
