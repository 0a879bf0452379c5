"""Finding orders (by number, idempotency key or the citizen's token) and changing them under optimistic locking."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from gis_service.orders.db import transaction
from gis_service.orders.errors import ConflictError, OrderNotFound
from gis_service.orders.models import Order
from gis_service.orders.tokens import OrderTokens

log = logging.getLogger(__name__)

ORDER_NUMBER = re.compile(r"^[A-Z]{1,4}-\d{4}-[0-9A-HJKMNP-TV-Z]{6}$")


def valid_order_number(text: str | None) -> bool:
    return bool(text) and len(text) <= 32 and bool(ORDER_NUMBER.match(text))


def _complete(query):
    # Pages and changes read these after the session has closed.
    return query.options(selectinload(Order.events), selectinload(Order.payments), selectinload(Order.documents))


def _by_number(number: str):
    return _complete(select(Order).where(Order.order_number == number))


def retry(attempt: Callable[[], object], tries: int = 5):
    """For system changes that must happen: run again on a concurrent change or a busy database."""
    for i in range(tries):
        try:
            return attempt()
        except (ConflictError, OperationalError) as exc:
            if i == tries - 1:
                raise
            log.info("retrying after %s", exc.__class__.__name__)
            time.sleep(0.05 * (i + 1))
    return None  # pragma: no cover


class OrderRepository:
    def __init__(self, factory: sessionmaker[Session], tokens: OrderTokens):
        self.factory = factory
        self.tokens = tokens

    # --- lookup -----------------------------------------------------------------------------------
    def load(self, session: Session, number: str) -> Order:
        if not valid_order_number(number):
            raise OrderNotFound()
        order = session.scalar(_by_number(number))
        if order is None:
            raise OrderNotFound()
        return order

    @staticmethod
    def load_by_key(session: Session, key: str) -> Order | None:
        return session.scalar(_complete(select(Order).where(Order.idempotency_key == key)))

    def find_by_idempotency_key(self, key: str) -> Order | None:
        with self.factory() as session:
            return self.load_by_key(session, key)

    def find(self, number: str) -> Order | None:
        if not valid_order_number(number):
            return None
        with self.factory() as session:
            return session.scalar(_by_number(number))

    def get(self, number: str) -> Order:
        order = self.find(number)
        if order is None:
            raise OrderNotFound()
        return order

    def for_citizen(self, number: str, token: str | None) -> Order:
        """The order if the token fits; otherwise the same 'not found' whether it exists or not."""
        order = self.find(number)
        if order is None or not self.tokens.check(order, token):
            raise OrderNotFound()
        return order

    # --- changes under optimistic locking ----------------------------------------------------------
    def mutate(self, number: str, expected_version: int | None, change: Callable[[Session, Order], object]):
        try:
            with transaction(self.factory) as session:
                order = self.load(session, number)
                if expected_version is not None and order.version != expected_version:
                    raise ConflictError()
                return change(session, order)
        except StaleDataError:
            raise ConflictError() from None
