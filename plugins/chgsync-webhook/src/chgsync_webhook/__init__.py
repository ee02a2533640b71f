"""Signed webhooks for chgsync.

Receivers import :func:`verify` to check a delivery::

    from chgsync_webhook import SignatureError, verify

    verify(secret, request.headers, request.get_data(), time.time())  # raises SignatureError
"""

from .notifier import WebhookError, WebhookNotifier
from .plugin import create
from .settings import WebhookSettings
from .signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, signature, verify

__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SignatureError", "WebhookError",
           "WebhookNotifier", "WebhookSettings", "create", "signature", "verify"]
