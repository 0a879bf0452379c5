"""CSV export of orders for spreadsheets, with cells that a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from gis_service.orders.invoices import invoice_text
from gis_service.orders.lifecycle import status_text
from gis_service.orders.models import Order
from gis_service.orders.products import format_money

COLUMNS = ["Bestellnummer", "Eingang (UTC)", "Status", "Produkt", "Flurstück", "Kennzeichen", "Gebühr", "Zahlart",
           "Zahlung", "Kassenzeichen", "Name", "E-Mail", "Bearbeitung", "Zuständig", "Abgeschlossen (UTC)",
           # what an invoice is written from, and where it stands
           "Firma/Organisation", "Straße", "PLZ", "Ort", "Land", "Rechnung", "Rechnungsnummer", "Rechnung verschickt am",
           "Rechnungsbetrag", "Bezahlt am", "Bezahlter Betrag", "Abgeschrieben am", "Grund der Abschreibung"]
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
    return "Rechnung" if method == "invoice" else "online"


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

    return excel_csv(COLUMNS, rows())
