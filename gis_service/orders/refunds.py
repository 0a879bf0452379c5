"""Refunds: an order's payments marked for refund when it closes, and pending refunds sent to the provider."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.db import utcnow
from gis_service.orders.errors import PaymentError
from gis_service.orders.models import Order, Payment
from gis_service.orders.payments import PaymentProvider
from gis_service.orders.repository import OrderRepository, retry


def received_cents(payment: Payment) -> int:
    """What a payment brought in: the provider's figure where it reported one."""
    return payment.reported_amount_cents if payment.reported_amount_cents is not None else payment.amount_cents


def _refundable(payment: Payment) -> bool:
    return payment.status in (xbz.PAYED, "MISMATCH") and payment.refund_status is None


def refundable_cents(order: Order) -> int:
    """What the order's payments brought in and is not yet owed back or refunded."""
    return sum(received_cents(p) for p in order.payments if _refundable(p))


def mark_for_refund(order: Order, actor: str) -> bool:
    """Mark what the order's payments brought in as owed back; True if there was anything."""
    marked = False
    for payment in order.payments:
        if _refundable(payment):
            payment.refund_status = "pending"
            payment.updated_at = utcnow()
            marked = True
    if marked:
        lc.record(order, actor, "refund_requested")
    return marked


class Refunds:
    def __init__(self, *, factory: sessionmaker[Session], repository: OrderRepository, provider: PaymentProvider):
        self.factory = factory
        self.repository = repository
        self.provider = provider

    def process(self, number: str | None = None) -> int:
        """Send pending refunds to the provider; idempotent there by our refund id."""
        with self.factory() as session:
            query = select(Payment.id, Order.order_number).join(Order).where(Payment.refund_status == "pending")
            if number:
                query = query.where(Order.order_number == number)
            pending = session.execute(query.limit(100)).all()
        done = 0
        for payment_id, order_number in pending:
            with self.factory() as session:
                payment = session.get(Payment, payment_id)
                if payment is None or payment.refund_status != "pending":
                    continue
                if payment.refund_attempts and payment.updated_at > utcnow() - timedelta(
                        minutes=min(2 ** payment.refund_attempts, 240)) and number is None:
                    continue  # back off between attempts
                amount = received_cents(payment)
                transaction_id, refund_id = payment.transaction_id, f"{order_number}-R{payment.id}"
            try:
                result = self.provider.refund(transaction_id, refund_id, amount,
                                              texts.office_text(texts.REFUND_REASON, number=order_number))
                error = None
            except PaymentError as exc:
                result, error = None, str(exc)

            def record_result(session: Session, order: Order, payment_id=payment_id, result=result, error=error):
                payment = next(p for p in order.payments if p.id == payment_id)
                payment.updated_at = utcnow()
                order.updated_at = payment.updated_at
                if result is not None:
                    payment.refund_status = "done"
                    payment.refund_id = result.refund_id
                    payment.refunded_cents = result.amount_cents
                    lc.record(order, lc.SYSTEM, "refunded", details={"refund_id": result.refund_id,
                                                                      "amount_cents": result.amount_cents})
                else:
                    payment.refund_attempts += 1
                    if payment.refund_attempts == 1:
                        order.attention = True
                        lc.record(order, lc.SYSTEM, "refund_failed", reason=(error or "")[:500])
            retry(lambda number=order_number, change=record_result: self.repository.mutate(number, None, change))
            done += result is not None
        return done
