"""The verify function receivers import: authentic and fresh passes, anything else says why not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chgsync_webhook import SignatureError, signature, verify

SECRET = "a-shared-secret-of-some-length"
BODY = b'{"id":"k1","event":"rollback"}'
T = 1_795_000_000


def signed(body: bytes = BODY, stamp: int = T, secret: str = SECRET) -> dict[str, str]:
    return {"X-Chgsync-Timestamp": str(stamp), "X-Chgsync-Signature": signature(secret, stamp, body)}


def test_the_signature_is_an_hmac_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, T, BODY) == f"sha256={expected}"


def test_an_authentic_fresh_delivery_passes_with_any_header_case_and_clock_type() -> None:
    lower = {k.lower(): v for k, v in signed().items()}
    assert verify(SECRET, signed(), BODY, T + 10) == T
    assert verify(SECRET.encode(), lower, BODY, datetime.fromtimestamp(T - 10, UTC)) == T


@pytest.mark.parametrize(("headers", "body", "now", "says"), [
    (signed(), BODY + b" ", T, "does not match"),
    (signed(secret="another-secret-entirely"), BODY, T, "does not match"),
    (signed(), BODY, T + 301, "301 s old"),
    (signed(), BODY, T - 400, "400 s in the future"),
    ({"X-Chgsync-Timestamp": str(T)}, BODY, T, "X-Chgsync-Signature header is missing"),
    ({"X-Chgsync-Signature": signature(SECRET, T, BODY)}, BODY, T, "X-Chgsync-Timestamp header is missing"),
    (signed() | {"X-Chgsync-Timestamp": "17e8"}, BODY, T, "whole Unix seconds"),
    (signed() | {"X-Chgsync-Timestamp": str(T + 1)}, BODY, T, "does not match"),  # a refreshed replay
    (signed() | {"X-Chgsync-Signature": "sha256=ünïcode"}, BODY, T, "does not match"),
])
def test_what_is_refused_and_why(headers: dict[str, str], body: bytes, now: float, says: str) -> None:
    with pytest.raises(SignatureError, match=says):
        verify(SECRET, headers, body, now)


def test_the_tolerance_is_the_receivers_to_choose() -> None:
    verify(SECRET, signed(), BODY, T + 3000, tolerance=3600)
    with pytest.raises(SignatureError, match="beyond the 5 s allowed"):
        verify(SECRET, signed(), BODY, T + 6, tolerance=5)
