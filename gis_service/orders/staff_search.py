"""Staff search: the folded search text kept on each order, and how a typed query, sort and assignee filter match it."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from sqlalchemy import and_, event, or_, select
from sqlalchemy.sql.elements import ColumnElement

from cadastre.addresses import address_readings, parse_address
from cadastre.errors import CadastreError
from cadastre.kennzeichen import Flurstueckskennzeichen, fold
from gis_service.orders import verification
from gis_service.orders.models import ExtractVerification, Order

MAX_QUERY = 100
# The fields a clerk may search by; the migration backfills from the same list.
SEARCHED_FIELDS = ("order_number", "contact_name", "contact_organisation", "contact_email", "address_street",
                   "address_postcode", "address_city", "parcel_label", "parcel_key")
# Sortable queue columns by the name the URL carries.
SORT_COLUMNS = {
    "number": Order.order_number, "created": Order.created_at, "status": Order.status, "product": Order.product_name,
    "parcel": Order.parcel_label, "name": Order.contact_name, "amount": Order.amount_cents,
    "assignee": Order.assigned_to,
}
DEFAULT_SORT = "created"

KeyParser = Callable[[str], Flurstueckskennzeichen]


def order_search_text(order) -> str:
    """One folded text (lower case, umlauts as ae/oe/ue/ss) with the street also as "muehlenweg12a"."""
    parts = [fold(value) for name in SEARCHED_FIELDS if (value := getattr(order, name, None))]
    address = parse_address(order.address_street) if getattr(order, "address_street", None) else None
    if address is not None:
        # Spaces, hyphens and "Str." vanish in this form, so "Muehlenweg 12 a" and "Mühlenweg 12a" meet.
        parts.append(address.street + (address.number or ""))
    return " | ".join(parts)


def search_text_of_row(row) -> str:
    """The same text from a database row (a mapping of the searched fields), for the migration's backfill."""
    return order_search_text(SimpleNamespace(**{name: row[name] for name in SEARCHED_FIELDS}))


@event.listens_for(Order, "before_insert")
@event.listens_for(Order, "before_update")
def _keep_search_text(_mapper, _connection, order: Order) -> None:
    # Every write refreshes it, so an anonymised order can no longer be found by the name it had.
    text = order_search_text(order)
    if order.search_text != text:
        order.search_text = text


def _contains(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def key_pattern(kennzeichen: Flurstueckskennzeichen) -> str:
    """A LIKE pattern for the stored 20-character key: no Flur typed matches any Flur, no Nenner only none."""
    flur = "___" if kennzeichen.flur is None else f"{kennzeichen.flur:03d}"  # "_" is LIKE's one-character wildcard
    nenner = "\\_\\_\\_\\_" if kennzeichen.nenner is None else f"{kennzeichen.nenner:04d}"
    return f"{kennzeichen.land}{kennzeichen.gemarkung}{flur}{kennzeichen.zaehler:05d}{nenner}%"


def text_condition(query: str, parse_key: KeyParser | None = None) -> ColumnElement[bool] | None:
    """Orders whose folded text holds the query, whose address reads the same, or whose parcel the query names.

    Free words ("mueller lindenhagen") match in any order; a query that reads as a parcel key or as street and
    house number does not fall apart into words, since short numbers like "12" or "1" are found almost anywhere.
    """
    query = query.strip()[:MAX_QUERY]
    folded = " ".join(fold(query).split())
    if not folded:
        return None
    alternatives = [Order.search_text.like(_contains(folded), escape="\\")]
    addresses = [reading for reading in address_readings(query) if reading.number]
    for reading in addresses:
        alternatives.append(Order.search_text.like(_contains(reading.street + reading.number), escape="\\"))
    kennzeichen = None
    if parse_key is not None:
        try:
            kennzeichen = parse_key(query)
        except CadastreError:
            kennzeichen = None
        if kennzeichen is not None:
            alternatives.append(Order.parcel_key.like(key_pattern(kennzeichen), escape="\\"))
    code = verification.normalise(query)
    if code is not None:
        # A caller reads out the verification code of an extract they hold: the order it was issued for.
        alternatives.append(Order.id.in_(select(ExtractVerification.order_id).where(ExtractVerification.code == code)))
    words = folded.split()
    if len(words) > 1 and not addresses and kennzeichen is None and code is None:
        alternatives.append(and_(*(Order.search_text.like(_contains(word), escape="\\") for word in words)))
    return or_(*alternatives)


def assignee_condition(assignee: str | None, username: str | None) -> ColumnElement[bool] | None:
    """"mine": assigned to the clerk; "none": to nobody; anything else: anyone."""
    if assignee == "mine" and username:
        return Order.assigned_to == username
    if assignee == "none":
        return Order.assigned_to.is_(None)
    return None


def ordering(sort: str | None, descending: bool) -> list:
    column = SORT_COLUMNS.get(sort or "", SORT_COLUMNS[DEFAULT_SORT])
    if descending:
        return [column.desc().nulls_last(), Order.id.desc()]
    return [column.asc().nulls_last(), Order.id.asc()]
