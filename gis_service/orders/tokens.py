"""The citizen's private order token: derived from the instance secret and the order, never stored."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gis_service.orders.models import Order


class OrderTokens:
    def __init__(self, secret: str):
        self._secret = secret.encode("utf-8")

    def for_order(self, order: Order) -> str:
        # Derived rather than stored, so the database alone gives no access to an order.
        digest = hmac.new(self._secret, f"order-token:{order.order_number}:{order.token_salt}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")[:32]

    def check(self, order: Order, token: str | None) -> bool:
        if not token or not isinstance(token, str) or len(token) > 64:
            return False
        # Byte-wise: compare_digest refuses str with non-ASCII characters (a TypeError, a 500, on a typed link).
        return hmac.compare_digest(self.for_order(order).encode("utf-8"), token.encode("utf-8", "surrogatepass"))
