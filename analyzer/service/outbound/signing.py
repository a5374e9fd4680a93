"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes.

Headers of every webhook and CRM delivery::

    Content-Type: application/json
    Idempotency-Key: <delivery id>            the same on every retry of one delivery
    X-DarkFeedback-Event: alert.new | alert.escalated
    X-DarkFeedback-Delivery: <delivery id>
    X-DarkFeedback-Timestamp: <unix seconds of this attempt>
    X-DarkFeedback-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A receiver recomputes the HMAC with the subscription's secret over the timestamp, a dot and the
raw body, compares in constant time (:func:`verify`), refuses timestamps older than a few minutes
(replays) and de-duplicates on the idempotency key (a retry after a lost answer is the same key).
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "signature_headers", "verify"]

SIGNATURE_HEADER = "X-DarkFeedback-Signature"
TIMESTAMP_HEADER = "X-DarkFeedback-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def verify(secret: str, body: bytes, timestamp: str, signature: str, *, tolerance_s: int = 300,
           now: float | None = None) -> bool:
    """Whether ``signature`` is ours for ``body`` at ``timestamp``, and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")
