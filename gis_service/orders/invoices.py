"""Invoice orders to the end: "invoice sent", then "paid" or "written off", each with date and amount audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from catalogues import N_, text
from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders.db import utcnow
from gis_service.orders.errors import ActionError
from gis_service.orders.models import Invoice, Order
from gis_service.orders.repository import OrderRepository

SENT = "sent"
PAID = "paid"
WRITTEN_OFF = "written_off"

INVOICE_TEXT = {
    None: N_("invoice_state_none"),
    SENT: N_("invoice_state_sent"),
    PAID: N_("invoice_state_paid"),
    WRITTEN_OFF: N_("invoice_state_written_off"),
}
_AMOUNT = re.compile(r"^\s*(\d{1,7})(?:[,.](\d{1,2}))?\s*(?:€|EUR)?\s*$", re.IGNORECASE)


def invoice_status(order: Order) -> str | None:
    return order.invoice.status if order.invoice is not None else None


def invoice_text(order: Order, lang: str = "de") -> str:
    if order.payment_method != "invoice":
        return ""
    return text(INVOICE_TEXT[invoice_status(order)], lang)


def settled(order: Order) -> bool:
    """An invoice order is settled only once its invoice is paid or written off; an online order once it is paid."""
    if order.payment_method == "invoice":
        return invoice_status(order) in (PAID, WRITTEN_OFF)
    return any(p.status in ("PAYED", "MISMATCH") for p in order.payments)


def next_invoice_action(order: Order) -> str | None:
    """What the clerk can do next with the invoice: send it, book the payment (or write it off), or nothing."""
    if order.payment_method != "invoice" or (order.status in (lc.REJECTED, lc.CANCELLED) and order.invoice is None):
        return None
    status = invoice_status(order)
    if status is None:
        return SENT
    if status == SENT:
        return PAID
    return None


def parse_amount(text: str | None) -> int:
    """A euro amount as clerks type it ("80", "80,00", "80.5 €") in cents; ActionError otherwise."""
    match = _AMOUNT.match(text or "")
    if not match:
        raise ActionError(texts.INVOICE_AMOUNT_INVALID, status=422, code="amount-invalid")
    cents = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if cents <= 0:
        raise ActionError(texts.INVOICE_AMOUNT_INVALID, status=422, code="amount-invalid")
    return cents


def parse_day(text: str | None, order: Order, today: date) -> date:
    """A booking date (ISO, as the date field sends it; empty is today), not in the future nor before the order."""
    if not (text or "").strip():
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ActionError(texts.INVOICE_DATE_INVALID, status=422, code="date-invalid") from None
    # Not in the future (a booked day is done for the treasury) and not before the order existed.
    if day > today or day < order.created_at.date() - timedelta(days=1):
        raise ActionError(texts.INVOICE_DATE_INVALID, status=422, code="date-invalid")
    return day


def unsettled():
    """SQL condition (with Invoice outer-joined) for an invoice order not yet paid or written off.

    An order rejected or cancelled before any invoice went out owes nothing; one whose invoice was
    sent stays open until it is paid or written off, whatever became of the order.
    """
    return and_(Order.payment_method == "invoice",
                # spelled out for SQL's NULLs: the condition is true or false, never unknown, also without an invoice
                or_(and_(Invoice.id.is_not(None), Invoice.status == SENT),
                    and_(Invoice.id.is_(None), Order.status.not_in((lc.REJECTED, lc.CANCELLED)))))


def unsettled_invoices(factory: sessionmaker[Session], limit: int = 500) -> list[Order]:
    """Open invoices, oldest first: what the treasury and the clerks chase."""
    query = (select(Order).outerjoin(Invoice).options(selectinload(Order.payments)).where(unsettled())
             .order_by(Order.created_at, Order.id).limit(limit))
    with factory() as session:
        return list(session.scalars(query).all())


class InvoiceActions:
    def __init__(self, repository: OrderRepository, today: Callable[[], date]):
        self.repository = repository
        self.today = today

    def _invoice_order(self, order: Order) -> None:
        if order.payment_method != "invoice":
            raise ActionError(texts.NOT_AN_INVOICE_ORDER)

    def mark_sent(self, number: str, actor: str, expected_version: int, *, day: str | None, amount: str | None,
                  invoice_number: str | None) -> Order:
        invoice_number = (invoice_number or "").strip()[:60] or None

        def change(session: Session, order: Order):
            self._invoice_order(order)
            if order.invoice is not None:
                raise ActionError(texts.INVOICE_ALREADY_SENT)
            if order.status in (lc.REJECTED, lc.CANCELLED):
                raise ActionError(texts.INVOICE_ORDER_CLOSED)
            sent_on = parse_day(day, order, self.today())
            cents = parse_amount(amount) if (amount or "").strip() else order.amount_cents
            order.invoice = Invoice(status=SENT, invoice_number=invoice_number, sent_on=sent_on, amount_cents=cents,
                                    updated_at=utcnow(), updated_by=actor[:120])
            lc.record(order, actor, "invoice_sent", details={"date": sent_on.isoformat(), "amount_cents": cents,
                                                             "invoice_number": invoice_number})
            return order

        return self.repository.mutate(number, expected_version, change)

    def mark_paid(self, number: str, actor: str, expected_version: int, *, day: str | None,
                  amount: str | None) -> Order:
        def change(session: Session, order: Order):
            self._invoice_order(order)
            invoice = self._open_invoice(order)
            paid_on = parse_day(day, order, self.today())
            if paid_on < invoice.sent_on:
                raise ActionError(texts.INVOICE_PAID_BEFORE_SENT, status=422, code="date-invalid")
            cents = parse_amount(amount) if (amount or "").strip() else invoice.amount_cents
            invoice.status, invoice.paid_on, invoice.paid_cents = PAID, paid_on, cents
            invoice.updated_at, invoice.updated_by = utcnow(), actor[:120]
            lc.record(order, actor, "invoice_paid", details={"date": paid_on.isoformat(), "amount_cents": cents,
                                                             "invoice_number": invoice.invoice_number})
            return order

        return self.repository.mutate(number, expected_version, change)

    def write_off(self, number: str, actor: str, expected_version: int, *, day: str | None, reason: str | None) -> Order:
        reason = (reason or "").strip()[:2000]
        if len(reason) < 5:
            raise ActionError(texts.WRITE_OFF_REASON_MISSING, status=422, code="reason-missing")

        def change(session: Session, order: Order):
            self._invoice_order(order)
            invoice = self._open_invoice(order)
            written_off_on = parse_day(day, order, self.today())
            invoice.status, invoice.written_off_on, invoice.write_off_reason = WRITTEN_OFF, written_off_on, reason
            invoice.updated_at, invoice.updated_by = utcnow(), actor[:120]
            lc.record(order, actor, "invoice_written_off", reason=reason,
                      details={"date": written_off_on.isoformat(), "amount_cents": invoice.amount_cents,
                               "invoice_number": invoice.invoice_number})
            return order

        return self.repository.mutate(number, expected_version, change)

    @staticmethod
    def _open_invoice(order: Order) -> Invoice:
        if order.invoice is None:
            raise ActionError(texts.INVOICE_NOT_SENT)
        if order.invoice.status != SENT:
            raise ActionError(texts.INVOICE_SETTLED)
        return order.invoice
