"""Signing a delivery and checking one: the half of the contract that receivers import.

The signature is ``sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>">`` keyed with the shared
secret. Signing the timestamp with the body means a captured delivery cannot be replayed later with
a fresh timestamp, and a receiver that refuses timestamps far from its own clock refuses old ones.
Receivers must check the bytes they received, before any JSON parsing re-orders or re-spaces them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

SIGNATURE_HEADER = "X-Chgsync-Signature"
TIMESTAMP_HEADER = "X-Chgsync-Timestamp"
DELIVERY_HEADER = "X-Chgsync-Delivery"

DEFAULT_TOLERANCE = 300.0


class SignatureError(ValueError):
    """A delivery that is not authentic or not fresh. The message is a sentence fit for a 401 body."""


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Chgsync-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, headers: Mapping[str, str], body: bytes, now: float | datetime,
           tolerance: float = DEFAULT_TOLERANCE) -> int:
    """Check that ``body`` came from chgsync and is fresh; return its timestamp, or raise SignatureError.

    ``headers`` may be any mapping (names are matched without regard to case; with werkzeug or
    Flask pass ``dict(request.headers)``); ``body`` the raw bytes received; ``now`` is the
    receiver's clock as Unix seconds or an aware datetime; ``tolerance`` is how many seconds the
    timestamp may differ from it either way (clocks drift, and deliveries queue).
    """
    sent = _header(headers, SIGNATURE_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    if sent is None or stamp is None:
        missing = SIGNATURE_HEADER if sent is None else TIMESTAMP_HEADER
        raise SignatureError(f"The {missing} header is missing: this delivery is not signed by chgsync.")
    stamp = stamp.strip()
    if not (stamp.isascii() and stamp.isdigit()):
        raise SignatureError(f"The {TIMESTAMP_HEADER} header must be whole Unix seconds, got {stamp[:40]!r}.")
    expected = signature(secret, int(stamp), body)
    if not hmac.compare_digest(expected.encode(), sent.strip().encode("utf-8", "replace")):
        raise SignatureError("The signature does not match the body: the shared secret differs, or the body "
                             "was changed on the way.")
    clock = now.timestamp() if isinstance(now, datetime) else float(now)
    skew = clock - int(stamp)
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "in the future"
        raise SignatureError(f"The timestamp is {abs(skew):.0f} s {when}, beyond the {tolerance:g} s allowed: "
                             "a replayed delivery, or a clock out of sync.")
    return int(stamp)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
