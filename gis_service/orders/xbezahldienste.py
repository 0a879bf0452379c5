"""The XBezahldienste-style exchange both sides speak: messages, states, amounts and HMAC signatures."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from decimal import Decimal, InvalidOperation

INITIAL, PAYED, FAILED, CANCELED = "INITIAL", "PAYED", "FAILED", "CANCELED"
STATES = (INITIAL, PAYED, FAILED, CANCELED)

HEADER_ORIGINATOR = "X-XBZ-Originator"
HEADER_TIMESTAMP = "X-XBZ-Timestamp"
HEADER_SIGNATURE = "X-XBZ-Signature"

_AMOUNT = re.compile(r"^\d{1,9}\.\d{2}$")


def cents_to_amount(cents: int) -> str:
    """1500 → "15.00": amounts travel as decimal strings, never as floats."""
    if cents < 0:
        raise ValueError("negative amount")
    return f"{cents // 100}.{cents % 100:02d}"


def amount_to_cents(amount: object) -> int:
    """"15.00" → 1500; anything that is not exactly two decimals is refused."""
    if not isinstance(amount, str) or not _AMOUNT.match(amount):
        raise ValueError(f"not an amount with two decimals: {str(amount)[:40]!r}")
    try:
        return int(Decimal(amount) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes it
        raise ValueError(str(exc)) from None


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(originator: str, timestamp: str, method: str, path: str, body: bytes) -> bytes:
    """What a request to the payment service signs: who, when, which method and path, and the body."""
    return "\n".join((originator, timestamp, method.upper(), path, body_digest(body))).encode("utf-8")


def notification_message(originator: str, timestamp: str, body: bytes) -> bytes:
    # The notification signs no path: a proxy in front of the receiver may rewrite it.
    return "\n".join((originator, timestamp, "NOTIFY", body_digest(body))).encode("utf-8")


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, originator: str, message_for) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {HEADER_ORIGINATOR: originator, HEADER_TIMESTAMP: timestamp,
            HEADER_SIGNATURE: sign(secret, message_for(timestamp))}


def verify(secret: str, message: bytes, signature: str | None) -> bool:
    if not signature or not isinstance(signature, str) or len(signature) > 128:
        return False
    # Byte-wise: compare_digest refuses str with non-ASCII characters (a TypeError, a 500, on a forged header).
    return hmac.compare_digest(sign(secret, message).encode("utf-8"), signature.strip().lower().encode("utf-8", "surrogatepass"))


def fresh(timestamp: str | None, max_age_seconds: int, now: float | None = None) -> bool:
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    # A little allowance for clocks running ahead on the other side.
    return -300 <= now - int(timestamp) <= max_age_seconds
