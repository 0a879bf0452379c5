"""Invoice orders wait for their e-mail address to be confirmed: the link confirms them, the tasks close those left unconfirmed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders.actions import OrderActions
from gis_service.orders.db import utcnow
from gis_service.orders.errors import ActionError, ConflictError, InvalidTransition
from gis_service.orders.models import Order
from gis_service.orders.repository import OrderRepository
from gis_service.orders.tokens import OrderTokens


class AddressConfirmation:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, repository: OrderRepository,
                 tokens: OrderTokens, actions: OrderActions):
        self.factory = factory
        self.hours = settings.confirmation.expire_hours
        self.repository = repository
        self.tokens = tokens
        self.actions = actions

    def order_for(self, number: str, confirmation_token: str | None) -> Order:
        """The order the confirmation link names; the same 404 whether the number or the token is wrong."""
        order = self.repository.find(number)
        if order is None or not self.tokens.check_confirmation(order, confirmation_token):
            raise ActionError(texts.CONFIRMATION_INVALID, status=404, code="confirmation-invalid")
        return order

    def confirm(self, number: str, confirmation_token: str | None) -> Order:
        """The owner of the address followed the link: the order joins the staff queue and mails may follow."""
        self.order_for(number, confirmation_token)

        def change(session: Session, order: Order):
            if not order.awaiting_confirmation:
                return order  # confirmed before (a second click)
            if order.status in lc.CLOSED:
                raise ActionError(texts.CONFIRMATION_EXPIRED, status=410, code="confirmation-expired")
            order.awaiting_confirmation = False
            lc.record(order, "citizen", "address_confirmed")
            self.actions.queue_received(session, order)
            return order

        self.repository.mutate(number, None, change)
        self.actions.wake()
        return self.repository.get(number)

    def expire_unconfirmed(self) -> int:
        """Close invoice orders whose address was not confirmed in time (they never reached the staff queue)."""
        limit = utcnow() - timedelta(hours=self.hours)
        with self.factory() as session:
            rows = session.execute(select(Order.order_number, Order.version).where(
                Order.awaiting_confirmation.is_(True), Order.status == lc.SUBMITTED,
                Order.created_at <= limit).limit(100)).all()
        expired = 0
        for number, version in rows:
            try:
                # No mail: the outbox sends nothing but the confirmation to an unconfirmed address.
                self.actions.cancel(number, lc.SYSTEM, version, texts.office_text(texts.UNCONFIRMED_EXPIRED, hours=self.hours))
                expired += 1
            except (ConflictError, InvalidTransition):
                continue  # confirmed or cancelled meanwhile
        return expired
