"""The order as the JSON API shows it to the form server and the citizen: state, fee and links, no contact data."""

from __future__ import annotations

from gis_service.orders import lifecycle as lc
from gis_service.orders import verification
from gis_service.orders.models import Document, Order
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.urls import Urls


class OrderViews:
    def __init__(self, tokens: OrderTokens, urls: Urls):
        self.tokens = tokens
        self.urls = urls

    def _verification(self, document: Document) -> dict:
        record = document.verification
        if record is None:
            return {}
        return {"verification_code": verification.formatted(record.code),
                "verification_url": verification.verify_url(self.urls.base, record.code)}

    def public_view(self, order: Order, lang: str = "de", include_token: bool = True) -> dict:
        token = self.tokens.for_order(order)
        last_payment = order.payments[-1] if order.payments else None
        return {
            "order_number": order.order_number,
            "status": order.status,
            "status_text": lc.status_text(order.status, lang),
            "product": order.product_id,
            "parcel": {"key": order.parcel_key, "label": order.parcel_label},
            "options": {"paper": order.paper, "orientation": order.orientation, "scale": order.scale,
                        "copies": order.copies, "delivery": order.delivery, "certified": order.certified},
            "payment_method": order.payment_method,
            "amount_cents": order.amount_cents,
            "currency": order.currency,
            "fee_breakdown": order.fee_breakdown,
            "handling": order.handling,
            "awaiting_confirmation": bool(order.awaiting_confirmation),
            "payment": ({"status": last_payment.status, "reference": last_payment.reference,
                         "refund_status": last_payment.refund_status} if last_payment else None),
            "payment_url": (self.urls.pay(order.order_number, token, order.lang)
                            if order.payment_method == "online" and order.status in (lc.SUBMITTED, lc.AWAITING_PAYMENT)
                            else None),
            "status_url": self.urls.status(order.order_number, token, order.lang) if include_token else None,
            "documents": [{"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
                           "url": self.urls.document(order.order_number, token, d.id, d.filename),
                           **self._verification(d)}
                          for d in order.current_documents] if include_token else [],
            "created_at": order.created_at.isoformat() + "Z",
            "updated_at": order.updated_at.isoformat() + "Z",
        }
