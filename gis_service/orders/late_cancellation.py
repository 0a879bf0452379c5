"""Cancelling a completed online order with a refund: reason required, documents revoked, citizen told, audited."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from catalogues import msg
from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders.db import utcnow
from gis_service.orders.documents import revocation_record, revoke_documents
from gis_service.orders.errors import ActionError
from gis_service.orders.issuing import REFUNDED
from gis_service.orders.models import Order
from gis_service.orders.outbox import Outbox
from gis_service.orders.refunds import Refunds, mark_for_refund, refundable_cents
from gis_service.orders.repository import OrderRepository
from gis_service.orders.storage import FileStore

def can_cancel_with_refund(order: Order) -> bool:
    return order.status == lc.COMPLETED and order.payment_method == "online" and refundable_cents(order) > 0


class LateCancellation:
    def __init__(self, *, repository: OrderRepository, outbox: Outbox, refunds: Refunds, store: FileStore,
                 wake: Callable[[], None]):
        self.repository = repository
        self.outbox = outbox
        self.refunds = refunds
        self.store = store
        self.wake = wake

    def cancel_with_refund(self, number: str, actor: str, expected_version: int, reason: str | None) -> Order:
        """Cancel, mark the payment for refund and revoke the documents in one change; then refund and remove the files.

        The version check keeps two clerks (or a double click) from refunding twice: the second change
        finds another version, or the order already cancelled and its payment no longer refundable.
        """
        reason = (reason or "").strip()[:2000]
        if len(reason) < 5:
            raise ActionError(texts.CANCEL_REASON_MISSING, status=422, code="reason-missing")
        files: list[str] = []

        def change(session: Session, order: Order):
            if order.status != lc.COMPLETED:
                raise ActionError(texts.LATE_CANCEL_NOT_COMPLETED)
            if order.payment_method != "online":
                raise ActionError(texts.LATE_CANCEL_NOT_ONLINE)
            amount = refundable_cents(order)
            if amount <= 0:
                raise ActionError(texts.LATE_CANCEL_NOTHING_TO_REFUND)
            now = utcnow()
            revoked = revoke_documents(order, REFUNDED)
            files.extend(d.storage_name for d in revoked)
            # A completed order has no way back in lifecycle.TRANSITIONS (no ordinary action may reopen it);
            # this is the one audited exception, so it moves the state itself.
            previous, order.status = order.status, lc.CANCELLED
            order.closed_at, order.closing_reason, order.attention = now, reason, False
            lc.record(order, actor, "cancelled_with_refund", reason=reason, from_status=previous,
                      to_status=lc.CANCELLED,
                      details={"amount_cents": amount, "documents_revoked": revocation_record(revoked)})
            mark_for_refund(order, actor)
            note = texts.in_language(texts.MAIL_NOTES["note_refund"], order.lang)
            if revoked:
                note += texts.in_language(texts.DOCUMENTS_REVOKED_NOTE, order.lang)
            reason_line = msg(texts.MAIL_NOTES["reason_line"].key, reason=reason).render(order.lang)
            self.outbox.queue(session, order, "cancelled", refund_note=note, reason_line=reason_line)
            return order

        self.repository.mutate(number, expected_version, change)
        # The refund goes out now; if the provider is down it stays pending and the worker tries again.
        self.refunds.process(number)
        for name in files:
            # Removed, not kept: the document rows and the event (name, size, SHA-256) are the audit record.
            self.store.delete(name)
        self.wake()
        return self.repository.get(number)
