"""CSV export of orders for spreadsheets, with cells that a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io

from gis_service.orders.lifecycle import status_text
from gis_service.orders.models import Order
from gis_service.orders.products import format_money

COLUMNS = ["Bestellnummer", "Eingang (UTC)", "Status", "Produkt", "Flurstück", "Kennzeichen", "Gebühr", "Zahlart",
           "Zahlung", "Kassenzeichen", "Name", "E-Mail", "Bearbeitung", "Zuständig", "Abgeschlossen (UTC)"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> str:
    """A text that Excel and LibreOffice show as text: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def orders_csv(orders: list[Order]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens UTF-8 with umlauts intact
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for order in orders:
        payment = order.payments[-1] if order.payments else None
        writer.writerow([safe_cell(v) for v in (
            order.order_number, order.created_at.strftime("%Y-%m-%d %H:%M"), status_text(order.status),
            order.product_name, order.parcel_label, order.parcel_key, format_money(order.amount_cents),
            "Rechnung" if order.payment_method == "invoice" else "online",
            payment.status if payment else "", payment.reference if payment else "",
            order.contact_name or "", order.contact_email or "",
            "automatisch" if order.handling == "automatic" else "Sachbearbeitung", order.assigned_to or "",
            order.closed_at.strftime("%Y-%m-%d %H:%M") if order.closed_at else "",
        )])
    return out.getvalue()
