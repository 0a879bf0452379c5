"""The citizen's private order token: derived from the instance secret and the order, never stored."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gis_service.orders.models import Order


class OrderTokens:
    def __init__(self, secret: str):
        self._secret = secret.encode("utf-8")

    def _derive(self, purpose: str, order: Order) -> str:
        # Derived rather than stored, so the database alone gives no access to an order.
        digest = hmac.new(self._secret, f"{purpose}:{order.order_number}:{order.token_salt}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")[:32]

    def for_order(self, order: Order) -> str:
        return self._derive("order-token", order)

    def for_confirmation(self, order: Order) -> str:
        """Only in the confirmation mail: whoever placed the order sees the status token, not this one."""
        return self._derive("confirm-address", order)

    def check(self, order: Order, token: str | None) -> bool:
        return _same(self.for_order(order), token)

    def check_confirmation(self, order: Order, token: str | None) -> bool:
        return _same(self.for_confirmation(order), token)


def _same(expected: str, token: str | None) -> bool:
    if not token or not isinstance(token, str) or len(token) > 64:
        return False
    # Byte-wise: compare_digest refuses str with non-ASCII characters (a TypeError, a 500, on a typed link).
    return hmac.compare_digest(expected.encode("utf-8"), token.encode("utf-8", "surrogatepass"))
