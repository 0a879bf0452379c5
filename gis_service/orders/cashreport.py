"""The daily cash report for the treasury (Kasse): money in and out by day, product and payment method, as CSV."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_, msg, text
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.csvexport import excel_csv, payment_method_text, safe_cell
from gis_service.orders.errors import ActionError
from gis_service.orders.models import Invoice, Order, OrderEvent, Payment
from gis_service.orders.refunds import received_cents

MAX_DAYS = 366  # one report covers at most a year: the treasury closes by day, month or year
COLUMNS = [N_("cash_day"), N_("cash_product"), N_("cash_method"), N_("cash_received"), N_("cash_refunds"),
           N_("cash_total"), N_("cash_payments"), N_("cash_refund_count")]
RANGE_INVALID = msg("cash_range_invalid", days=MAX_DAYS)


@dataclass
class CashRow:
    day: date
    product: str
    method: str  # online | invoice
    received_cents: int = 0
    refunded_cents: int = 0  # negative: money that went back
    payments: int = 0
    refunds: int = 0

    @property
    def total_cents(self) -> int:
        return self.received_cents + self.refunded_cents


def parse_range(first: str | None, last: str | None) -> tuple[date, date]:
    """The report's days from the form's ISO dates; ActionError (422) for anything else."""
    try:
        start, end = date.fromisoformat((first or "").strip()), date.fromisoformat((last or "").strip())
    except ValueError:
        raise ActionError(RANGE_INVALID, status=422, code="range-invalid") from None
    if end < start or (end - start).days >= MAX_DAYS:
        raise ActionError(RANGE_INVALID, status=422, code="range-invalid")
    return start, end


def cash_report(factory: sessionmaker[Session], first: date, last: date, timezone: str) -> list[CashRow]:
    """Online payments on the day the provider confirmed them, refunds (negative) on the day they were made,
    invoice payments on the day the clerk booked as paid; days on the treasury's clock (`timezone`)."""
    zone = ZoneInfo(timezone)

    def utc(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    def local_day(moment: datetime) -> date:
        return moment.replace(tzinfo=UTC).astimezone(zone).date()

    start, end = utc(first), utc(last + timedelta(days=1))
    rows: dict[tuple[date, str, str], CashRow] = {}

    def row(day: date, product: str, method: str) -> CashRow:
        key = (day, product, method)
        if key not in rows:
            rows[key] = CashRow(day, product, method)
        return rows[key]

    with factory() as session:
        paid = session.execute(
            select(Payment, Order.product_name).join(Order)
            .where(Payment.paid_at >= start, Payment.paid_at < end, Payment.status.in_((xbz.PAYED, "MISMATCH")))).all()
        for payment, product in paid:
            entry = row(local_day(payment.paid_at), product, "online")
            entry.received_cents += received_cents(payment)
            entry.payments += 1
        # The audit event is the refund's booking: it carries the day and the amount the provider confirmed.
        refunded = session.execute(
            select(OrderEvent, Order.product_name, Order.payment_method).join(Order)
            .where(OrderEvent.action == "refunded", OrderEvent.at >= start, OrderEvent.at < end)).all()
        for event, product, method in refunded:
            entry = row(local_day(event.at), product, method)
            entry.refunded_cents -= int((event.details or {}).get("amount_cents") or 0)
            entry.refunds += 1
        invoices = session.execute(
            select(Invoice, Order.product_name).join(Order)
            .where(Invoice.paid_on >= first, Invoice.paid_on <= last, Invoice.paid_cents.is_not(None))).all()
        for invoice, product in invoices:
            entry = row(invoice.paid_on, product, "invoice")
            entry.received_cents += invoice.paid_cents or 0
            entry.payments += 1
    return sorted(rows.values(), key=lambda r: (r.day, r.product, r.method))


def euro(cents: int) -> str:
    """-3000 → "-30,00": a number German Excel sums (no currency sign, no grouping, comma decimals)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def cash_report_csv(rows: list[CashRow]) -> str:
    # Amounts are ours, not typed text, so they stay numbers; the product name goes through safe_cell.
    lines = [[r.day.strftime("%d.%m.%Y"), safe_cell(r.product), payment_method_text(r.method), euro(r.received_cents),
              euro(r.refunded_cents), euro(r.total_cents), str(r.payments), str(r.refunds)] for r in rows]
    lines.append(["Summe", "", "", euro(sum(r.received_cents for r in rows)), euro(sum(r.refunded_cents for r in rows)),
                  euro(sum(r.total_cents for r in rows)), str(sum(r.payments for r in rows)),
                  str(sum(r.refunds for r in rows))])
    return excel_csv([text(c, "de") for c in COLUMNS], lines)
