"""Automatic production of paid self-service extracts: claimed under a lease, delivered, or handed to staff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_
from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import utcnow
from gis_service.orders.documents import add_extract, extract_spec
from gis_service.orders.errors import ConflictError, InvalidTransition
from gis_service.orders.issuing import ExtractIssuer, record_issue
from gis_service.orders.models import Order
from gis_service.orders.outbox import Outbox
from gis_service.orders.repository import OrderRepository, retry
from gis_service.orders.storage import FileStore
from gis_service.orders.texts import office_text

log = logging.getLogger(__name__)


class AutomaticProduction:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, repository: OrderRepository,
                 outbox: Outbox, issuer: ExtractIssuer, store: FileStore,
                 wake: Callable[[], None]):
        self.factory = factory
        self.settings = settings
        self.repository = repository
        self.outbox = outbox
        self.issuer = issuer
        self.store = store
        self.wake = wake

    def fulfil(self, number: str) -> str:
        """Produce and deliver a paid self-service extract; 'completed', 'failed', 'busy' or 'skipped'."""
        lease = timedelta(seconds=self.settings.worker.lease_seconds)

        def claim(session: Session, order: Order):
            now = utcnow()
            if order.handling != "automatic" or order.attention:
                return None
            if order.status == lc.PAID:
                lc.transition(order, lc.IN_PROGRESS, lc.SYSTEM, reason="Automatische Erstellung",
                              action="production_started")
            elif order.status == lc.IN_PROGRESS and order.assigned_to is None and (
                    order.lease_until is None or order.lease_until < now):
                lc.record(order, lc.SYSTEM, "production_resumed")
            else:
                return None
            order.lease_until = now + lease
            return extract_spec(order)

        try:
            spec = self.repository.mutate(number, None, claim)
        except ConflictError:
            return "busy"
        if spec is None:
            return "skipped"
        try:
            issued = self.issuer.issue(spec)
        except Exception as exc:  # noqa: BLE001 - any failure of production goes to a person
            log.exception("production of %s failed", number)
            reason = f"Automatische Erstellung fehlgeschlagen: {exc.__class__.__name__}: {str(exc)[:300]}"

            def fail(session: Session, order: Order):
                if order.status != lc.IN_PROGRESS:
                    return
                order.handling = "staff"
                order.attention = True
                order.staff_reason = reason
                order.lease_until = None
                lc.record(order, lc.SYSTEM, "production_failed", reason=reason)
                self.outbox.queue(session, order, "follows")

            retry(lambda: self.repository.mutate(number, None, fail))
            self.wake()
            return "failed"

        def done(session: Session, order: Order):
            if order.status != lc.IN_PROGRESS or order.handling != "automatic":
                return False
            document = add_extract(order, issued.stored, lc.SYSTEM)
            record_issue(order, document, issued)
            session.flush()
            lc.transition(order, lc.COMPLETED, lc.SYSTEM, reason=office_text(N_("production_reason_done")),
                          action="completed", details={"document_id": document.id, "sha256": issued.stored.sha256})
            self.outbox.queue(session, order, "ready", links=self.outbox.document_links(order))
            return True

        try:
            ok = retry(lambda: self.repository.mutate(number, None, done))
        except (ConflictError, InvalidTransition):
            ok = False
        if not ok:
            self.store.delete(issued.stored.storage_name)
            return "skipped"
        self.wake()
        return "completed"

    def resume(self) -> int:
        """Production a crashed process left: paid orders not started, and lapsed leases."""
        now = utcnow()
        with self.factory() as session:
            numbers = session.scalars(select(Order.order_number).where(
                Order.handling == "automatic", Order.attention.is_(False),
                or_(Order.status == lc.PAID,
                    and_(Order.status == lc.IN_PROGRESS, Order.assigned_to.is_(None),
                         or_(Order.lease_until.is_(None), Order.lease_until < now))))
                .order_by(Order.id).limit(20)).all()
        return sum(self.fulfil(number) == "completed" for number in numbers)
