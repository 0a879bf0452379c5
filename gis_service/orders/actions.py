"""An order's way through its life: creation (idempotent), the staff actions, rejection and cancellation."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalogues import msg
from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.documents import (
    add_document,
    add_extract,
    extract_spec,
    revocation_record,
    revoke_documents,
    sniff_upload,
    supersede_extracts,
)
from gis_service.orders.errors import ActionError, ConflictError, IdempotencyMismatch, InvalidTransition
from gis_service.orders import issuing
from gis_service.orders.models import Order
from gis_service.orders.outbox import Outbox
from gis_service.orders.refunds import Refunds, mark_for_refund
from gis_service.orders.repository import OrderRepository
from gis_service.orders.storage import FileStore
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.validation import OrderDraft

log = logging.getLogger(__name__)

_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread


@dataclass
class CreateResult:
    order: Order
    token: str
    created: bool


class OrderActions:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, repository: OrderRepository,
                 tokens: OrderTokens, outbox: Outbox, refunds: Refunds,
                 issuer: issuing.ExtractIssuer, store: FileStore, wake: Callable[[], None]):
        self.factory = factory
        self.settings = settings
        self.repository = repository
        self.tokens = tokens
        self.outbox = outbox
        self.refunds = refunds
        self.issuer = issuer
        self.store = store
        self.wake = wake

    # --- creation ---------------------------------------------------------------------------------
    def create(self, draft: OrderDraft, *, idempotency_key: str | None, request_hash: str, actor: str,
               address_proven: bool = False) -> CreateResult:
        """A new order (or the one made before under this key).

        Paid by invoice, nothing proves that the e-mail address belongs to the orderer: unless the caller
        vouches for it (`address_proven`, an API client allowed to skip), the order waits for the address's
        owner to follow the link of a confirmation mail (orders/confirmation.py) before anything else.
        """
        for _ in range(3):
            try:
                with transaction(self.factory) as session:
                    if idempotency_key:
                        existing = self.repository.load_by_key(session, idempotency_key)
                        if existing is not None:
                            if existing.request_hash != request_hash:
                                raise IdempotencyMismatch()
                            return CreateResult(existing, self.tokens.for_order(existing), False)
                    order = self._new_order(session, draft, idempotency_key, request_hash, actor)
                    session.add(order)
                    session.flush()
                    token = self.tokens.for_order(order)
                    if order.payment_method == "invoice" and not address_proven:
                        order.awaiting_confirmation = True
                        self.outbox.queue(session, order, "confirm",
                                          confirm_url=self.outbox.urls.confirm(
                                              order.order_number, self.tokens.for_confirmation(order), order.lang),
                                          hours=self.settings.confirmation.expire_hours)
                    elif order.payment_method == "invoice":
                        self.queue_received(session, order)
                self.wake()
                return CreateResult(self.repository.get(order.order_number), token, True)
            except IntegrityError:
                # The same request arrived twice at once, or two numbers collided: look again.
                continue
        raise ActionError(texts.ORDER_NOT_STORED, status=503, code="order-not-stored")

    def queue_received(self, session: Session, order: Order) -> None:
        """The "received" mail of an invoice order: at once, or once its address is confirmed."""
        self.outbox.queue(session, order, "received",
                          next_step=texts.in_language(texts.MAIL_NOTES["next_invoice"], order.lang))

    def _new_number(self, session: Session) -> str:
        year = utcnow().year
        for _ in range(20):
            suffix = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
            number = f"{self.settings.order_number_prefix}-{year}-{suffix}"
            if session.scalar(select(Order.id).where(Order.order_number == number)) is None:
                return number
        raise RuntimeError("no free order number found")  # pragma: no cover - 32^6 numbers a year

    def _new_order(self, session: Session, draft: OrderDraft, key: str | None, request_hash: str, actor: str) -> Order:
        now = utcnow()
        contact = draft.contact
        order = Order(
            order_number=self._new_number(session), token_salt=secrets.token_hex(16), status=lc.SUBMITTED,
            created_at=now, updated_at=now, lang=draft.lang, created_by=actor[:120],
            product_id=draft.product.id, product_name=draft.product.name.de[:200], kind=draft.product.kind,
            handling=draft.handling, staff_reason=draft.staff_reason, attention=False, awaiting_confirmation=False,
            parcel_key=draft.parcel.key, parcel_label=draft.parcel.label[:200],
            paper=draft.paper, orientation=draft.orientation, scale=draft.scale,
            centre_x=draft.centre[0] if draft.centre else None, centre_y=draft.centre[1] if draft.centre else None,
            copies=draft.copies, delivery=draft.delivery, certified=draft.certified, payment_method=draft.payment_method, partial_parcel=draft.partial_parcel,
            amount_cents=draft.fee.total_cents, currency=draft.fee.currency, fee_breakdown=draft.fee.breakdown(),
            contact_name=contact.get("name"), contact_email=contact.get("email"), contact_phone=contact.get("phone"),
            contact_organisation=contact.get("organisation"), address_street=contact.get("street"),
            address_postcode=contact.get("postcode"), address_city=contact.get("city"),
            address_country=contact.get("country"), justification=draft.justification,
            idempotency_key=key, request_hash=request_hash,
        )
        lc.record(order, actor, "created", to_status=lc.SUBMITTED,
                  details={"product": order.product_id, "parcel": order.parcel_key, "amount_cents": order.amount_cents,
                           "payment_method": order.payment_method})
        if order.handling == "staff" and order.staff_reason:
            lc.record(order, lc.SYSTEM, "routed_to_staff", reason=order.staff_reason)
        if order.justification:
            lc.record(order, actor, "justification_given", details={"length": len(order.justification)})
        return order

    # --- staff actions ----------------------------------------------------------------------------
    def take(self, number: str, actor: str, expected_version: int, assignee: str | None = None) -> Order:
        """The clerk takes the order, or gives it to `assignee` (a colleague's user name)."""
        username = assignee or actor.removeprefix("staff:")
        action, details = ("assigned", {"to": username[:80]}) if assignee else ("taken", None)

        def change(session: Session, order: Order):
            if order.awaiting_confirmation:
                raise ActionError(texts.ADDRESS_NOT_CONFIRMED)
            if order.status == lc.PAID or (order.status == lc.SUBMITTED and order.payment_method == "invoice"):
                lc.transition(order, lc.IN_PROGRESS, actor, action=action, details=details)
            elif order.status == lc.IN_PROGRESS:
                lc.record(order, actor, action, details={**(details or {}), "previous": order.assigned_to})
            else:
                raise ActionError(texts.TAKE_NOT_POSSIBLE)
            order.assigned_to = username[:80]
            order.handling = "staff"
            order.lease_until = None
            return order

        return self.repository.mutate(number, expected_version, change)

    def _taken_order(self, number: str, expected_version: int) -> Order:
        """The order a clerk works on, checked before a file is made for it (the change checks again)."""
        order = self.repository.get(number)
        if order.version != expected_version:
            raise ConflictError()
        return order

    def _keep_file(self, number: str, expected_version: int, stored, change: Callable[[Session, Order], Order]) -> Order:
        try:
            return self.repository.mutate(number, expected_version, change)
        except Exception:
            # The change did not happen: no document points at the file.
            self.store.delete(stored.storage_name)
            raise

    def produce_extract(self, number: str, actor: str, expected_version: int) -> Order:
        order = self._taken_order(number, expected_version)
        if order.kind != "map":
            raise ActionError(texts.NO_MAP_FOR_PRODUCT)
        if order.status not in (lc.IN_PROGRESS, lc.COMPLETED):
            raise ActionError(texts.TAKE_FIRST)
        try:
            issued = self.issuer.issue(extract_spec(order))
        except Exception as exc:  # noqa: BLE001
            log.exception("staff production of %s failed", number)
            raise ActionError(msg(texts.PRODUCTION_FAILED, error=f"{exc.__class__.__name__}: {str(exc)[:200]}"),
                              status=500, code="production-failed") from None
        stored = issued.stored

        def change(session: Session, current: Order):
            previous = supersede_extracts(current)
            document = add_extract(current, stored, actor)
            issuing.record_issue(current, document, issued)
            session.flush()
            lc.record(current, actor, "extract_regenerated" if previous else "extract_produced",
                      details={"document_id": document.id, "sha256": stored.sha256})
            current.attention = False
            return current

        return self._keep_file(number, expected_version, stored, change)

    def attach(self, number: str, actor: str, expected_version: int, filename: str, data: bytes) -> Order:
        upload = sniff_upload(filename, data)
        if upload is None:
            raise ActionError(texts.UPLOAD_TYPES, status=422, code="bad-file")
        content_type, suffix, safe_name = upload
        order = self._taken_order(number, expected_version)
        if order.status not in (lc.IN_PROGRESS, lc.COMPLETED):
            raise ActionError(texts.TAKE_FIRST)
        stored = self.store.save(data, suffix)

        def change(session: Session, current: Order):
            document = add_document(current, "attachment", safe_name, content_type, stored, actor)
            session.flush()
            lc.record(current, actor, "file_attached", details={"document_id": document.id, "filename": safe_name,
                                                                "size": stored.size, "sha256": stored.sha256})
            return current

        return self._keep_file(number, expected_version, stored, change)

    def complete(self, number: str, actor: str, expected_version: int, note: str | None = None) -> Order:
        def change(session: Session, order: Order):
            if order.status != lc.IN_PROGRESS:
                raise InvalidTransition(order.status, lc.COMPLETED)
            if order.delivery == "download" and not order.current_documents:
                raise ActionError(texts.NOTHING_TO_DELIVER)
            lc.transition(order, lc.COMPLETED, actor, reason=note or None, action="completed")
            order.attention = False
            delivery_note = _note(order, "note_post" if order.delivery == "post" else "note_download")
            if order.payment_method == "invoice":
                delivery_note += " " + _note(order, "note_invoice")
            links = self.outbox.document_links(order)
            self.outbox.queue(session, order, "completed", delivery_note=delivery_note,
                              links_block=f"\n{links}\n" if links else "")
            return order

        order = self.repository.mutate(number, expected_version, change)
        self.wake()
        return order

    # --- closing ----------------------------------------------------------------------------------
    def reject(self, number: str, actor: str, expected_version: int, reason: str) -> Order:
        reason = (reason or "").strip()
        if len(reason) < 5:
            raise ActionError(texts.REJECT_REASON_MISSING, status=422, code="reason-missing")
        return self._close(number, actor, expected_version, lc.REJECTED, reason[:2000])

    def cancel(self, number: str, actor: str, expected_version: int | None, reason: str | None,
               citizen: bool = False) -> Order:
        reason = (reason or "").strip()[:2000]
        if not citizen and len(reason) < 5:
            raise ActionError(texts.CANCEL_REASON_MISSING, status=422, code="reason-missing")
        return self._close(number, actor, expected_version, lc.CANCELLED, reason or None, citizen=citizen)

    def _close(self, number: str, actor: str, expected_version: int | None, to: str, reason: str | None,
               citizen: bool = False) -> Order:
        outcome: dict = {}

        def change(session: Session, order: Order):
            if citizen and order.status not in lc.CITIZEN_CANCELLABLE:
                raise ActionError(texts.CITIZEN_CANNOT_CANCEL_PAID)
            lc.transition(order, to, actor, reason=reason, action="rejected" if to == lc.REJECTED else "cancelled")
            order.closing_reason = reason
            order.attention = False
            outcome["refund"] = mark_for_refund(order, actor)
            refund_note = _note(order, "note_refund") if outcome["refund"] else ""
            # An order closed after its extract was made (and perhaps downloaded) must not keep working links.
            revoked = revoke_documents(order, issuing.REFUNDED if outcome["refund"] else
                                       issuing.REJECTED if to == lc.REJECTED else issuing.CANCELLED)
            if revoked:
                lc.record(order, actor, "documents_revoked", details={"documents": revocation_record(revoked)})
                refund_note += texts.in_language(texts.DOCUMENTS_REVOKED_NOTE, order.lang)
                outcome["files"] = [d.storage_name for d in revoked]
            if to == lc.REJECTED:
                self.outbox.queue(session, order, "rejected", reason=reason, refund_note=refund_note)
            else:
                reason_line = _note(order, "reason_line").format(reason=reason) if reason else ""
                self.outbox.queue(session, order, "cancelled", reason_line=reason_line, refund_note=refund_note)
            return order

        self.repository.mutate(number, expected_version, change)
        if outcome.get("refund"):
            self.refunds.process(number)
        for name in outcome.get("files", ()):
            self.store.delete(name)
        self.wake()
        return self.repository.get(number)


def _note(order: Order, key: str) -> str:
    return texts.in_language(texts.MAIL_NOTES[key], order.lang)
