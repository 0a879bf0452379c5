"""Staff queries: the queue's search and filters, and the audit entry that looking at an order leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gis_service.orders import lifecycle as lc
from gis_service.orders import staff_search
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import Order, OrderEvent


def needs_person():
    """The orders in the staff queue ("zu bearbeiten"): flagged for a look, or staff work that is due.

    An invoice order whose address is not confirmed yet is nobody's work (and no office mail's).
    """
    return and_(Order.awaiting_confirmation.is_(False), or_(
        Order.attention.is_(True),
        and_(Order.handling == "staff",
             or_(Order.status.in_((lc.PAID, lc.IN_PROGRESS)),
                 and_(Order.status == lc.SUBMITTED, Order.payment_method == "invoice")))))


@dataclass
class SearchFilters:
    status: str | None = None  # a status, "open" (needs staff) or None (all)
    product: str | None = None
    date_from: date | None = None  # calendar days on the clerk's clock (timezone below)
    date_to: date | None = None
    q: str | None = None
    page: int = 1
    page_size: int = 50
    timezone: str = "UTC"
    sort: str = staff_search.DEFAULT_SORT  # a key of staff_search.SORT_COLUMNS
    descending: bool = True
    assignee: str | None = None  # "mine", "none" or None (anyone)
    username: str | None = None  # whose "mine"

    def day_start_utc(self, day: date) -> datetime:
        """Midnight of `day` in the clerk's time zone, as the naive UTC the database stores."""
        local = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC).replace(tzinfo=None)


class StaffQueries:
    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory

    def search(self, filters: SearchFilters,
               parse_key: staff_search.KeyParser | None = None) -> tuple[list[Order], int]:
        """One page of orders; `parse_key` reads a parcel key in any written form (the citizen search's)."""
        query = select(Order)
        # Invoice orders whose address is not confirmed are nobody's work yet (orders/confirmation.py).
        conditions = [Order.awaiting_confirmation.is_(False)]
        if filters.status == "open":
            conditions.append(needs_person())
        elif filters.status:
            conditions.append(Order.status == filters.status)
        if filters.product:
            conditions.append(Order.product_id == filters.product)
        if filters.date_from:
            conditions.append(Order.created_at >= filters.day_start_utc(filters.date_from))
        if filters.date_to:
            conditions.append(Order.created_at < filters.day_start_utc(filters.date_to + timedelta(days=1)))
        if filters.q and (matching := staff_search.text_condition(filters.q, parse_key)) is not None:
            conditions.append(matching)
        if (assigned := staff_search.assignee_condition(filters.assignee, filters.username)) is not None:
            conditions.append(assigned)
        if conditions:
            query = query.where(and_(*conditions))
        with self.factory() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = max(1, filters.page)
            rows = session.scalars(query.options(selectinload(Order.payments))
                                   .order_by(*staff_search.ordering(filters.sort, filters.descending))
                                   .offset((page - 1) * filters.page_size).limit(filters.page_size)).all()
        return list(rows), total

    def log_view(self, order: Order, actor: str, action: str) -> None:
        """An audit entry that changes nothing: it does not bump the version clerks' forms carry."""
        with transaction(self.factory) as session:
            session.add(OrderEvent(order_id=order.id, at=utcnow(), actor=actor[:120], action=action))
