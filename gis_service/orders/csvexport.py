"""CSV export of orders for spreadsheets, with cells that a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from catalogues import N_, text
from gis_service.orders.invoices import invoice_text
from gis_service.orders.lifecycle import status_text
from gis_service.orders.models import Order
from gis_service.orders.products import format_money

# The headings are German: the export is read by the office's staff and treasury.
COLUMNS = [N_("csv_order_number"), N_("csv_received_utc"), N_("csv_status"), N_("csv_product"), N_("csv_parcel"),
           N_("csv_key"), N_("csv_fee"), N_("csv_payment_method"), N_("csv_payment"), N_("csv_cash_reference"),
           N_("csv_name"), N_("csv_email"), N_("csv_handling"), N_("csv_assignee"), N_("csv_closed_utc"),
           # what an invoice is written from, and where it stands
           N_("csv_organisation"), N_("csv_street"), N_("csv_postcode"), N_("csv_city"), N_("csv_country"),
           N_("csv_invoice"), N_("csv_invoice_number"), N_("csv_invoice_sent_on"), N_("csv_invoice_amount"),
           N_("csv_paid_on"), N_("csv_paid_amount"), N_("csv_written_off_on"), N_("csv_write_off_reason")]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> str:
    """A text that Excel and LibreOffice show as text: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def excel_csv(header: list[str], rows: Iterable[list[str]]) -> str:
    """UTF-8 with a byte-order mark, ';' between quoted cells, CRLF: what German Excel opens with a double click."""
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens UTF-8 with umlauts intact
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def payment_method_text(method: str) -> str:
    return text("csv_method_invoice", "de") if method == "invoice" else text("csv_method_online", "de")


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _invoice_cells(order: Order) -> list[object]:
    invoice = order.invoice
    if invoice is None:
        return [invoice_text(order), "", "", "", "", "", "", ""]
    return [invoice_text(order), invoice.invoice_number or "", _day(invoice.sent_on), format_money(invoice.amount_cents),
            _day(invoice.paid_on), format_money(invoice.paid_cents) if invoice.paid_cents is not None else "",
            _day(invoice.written_off_on), invoice.write_off_reason or ""]


def orders_csv(orders: list[Order]) -> str:
    def rows():
        for order in orders:
            payment = order.payments[-1] if order.payments else None
            yield [safe_cell(v) for v in (
                order.order_number, order.created_at.strftime("%Y-%m-%d %H:%M"), status_text(order.status),
                order.product_name, order.parcel_label, order.parcel_key, format_money(order.amount_cents),
                payment_method_text(order.payment_method),
                payment.status if payment else "", payment.reference if payment else "",
                order.contact_name or "", order.contact_email or "",
                "automatisch" if order.handling == "automatic" else "Sachbearbeitung", order.assigned_to or "",
                order.closed_at.strftime("%Y-%m-%d %H:%M") if order.closed_at else "",
                order.contact_organisation or "", order.address_street or "", order.address_postcode or "",
                order.address_city or "", order.address_country or "", *_invoice_cells(order),
            )]

    return excel_csv([text(c, "de") for c in COLUMNS], rows())
