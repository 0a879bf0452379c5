"""The order process: create (idempotent), pay, fulfil, staff actions, refunds and the work left over after a crash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.errors import (
    ActionError,
    ConflictError,
    IdempotencyMismatch,
    InvalidTransition,
    OrderNotFound,
    PaymentError,
)
from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
from gis_service.orders.models import Document, MailMessage, Order, Payment
from gis_service.orders.notifications import Mailer, compose_mail
from gis_service.orders.payments import PaymentProvider, PaymentRequest, PaymentState
from gis_service.orders.products import Catalogue, format_money
from gis_service.orders.storage import FileStore
from gis_service.orders.urls import Urls
from gis_service.orders.validation import OrderDraft

log = logging.getLogger(__name__)

ORDER_NUMBER = re.compile(r"^[A-Z]{1,4}-\d{4}-[0-9A-HJKMNP-TV-Z]{6}$")
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread
SYSTEM = "system"
ALLOWED_UPLOADS = {"application/pdf": (b"%PDF-", "pdf"), "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
                   "image/jpeg": (b"\xff\xd8\xff", "jpg"), "image/tiff": (b"II*\x00", "tif")}
MAIL_MAX_ATTEMPTS = 15


@dataclass
class CreateResult:
    order: Order
    token: str
    created: bool


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

    def day_start_utc(self, day: date) -> datetime:
        """Midnight of `day` in the clerk's time zone, as the naive UTC the database stores."""
        from datetime import UTC
        from zoneinfo import ZoneInfo

        local = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC).replace(tzinfo=None)


def valid_order_number(text: str | None) -> bool:
    return bool(text) and len(text) <= 32 and bool(ORDER_NUMBER.match(text))


class OrderService:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, catalogue: Catalogue,
                 provider: PaymentProvider, producer: ExtractProducer, store: FileStore, mailer: Mailer, urls: Urls,
                 secret: str):
        self.factory = factory
        self.settings = settings
        self.catalogue = catalogue
        self.provider = provider
        self.producer = producer
        self.store = store
        self.mailer = mailer
        self.urls = urls
        self._secret = secret.encode("utf-8")
        self.wake: Callable[[], None] = lambda: None  # set by the worker
        self._run_lock = threading.Lock()

    # --- tokens and lookup ----------------------------------------------------------------------
    def token_for(self, order: Order) -> str:
        """The citizen's private token: derived, never stored, so the database alone gives no access."""
        digest = hmac.new(self._secret, f"order-token:{order.order_number}:{order.token_salt}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")[:32]

    def check_token(self, order: Order, token: str | None) -> bool:
        return bool(token) and isinstance(token, str) and len(token) <= 64 and hmac.compare_digest(self.token_for(order), token)

    @staticmethod
    def _query(number: str):
        return (select(Order).where(Order.order_number == number)
                .options(selectinload(Order.events), selectinload(Order.payments), selectinload(Order.documents)))

    def _load(self, session: Session, number: str) -> Order:
        if not valid_order_number(number):
            raise OrderNotFound()
        order = session.scalar(self._query(number))
        if order is None:
            raise OrderNotFound()
        return order

    def find_by_idempotency_key(self, key: str) -> Order | None:
        with self.factory() as session:
            return session.scalar(self._query_by_key(key))

    def log_view(self, order: Order, actor: str, action: str) -> None:
        """An audit entry that changes nothing: it does not bump the version clerks' forms carry."""
        from gis_service.orders.models import OrderEvent

        with transaction(self.factory) as session:
            session.add(OrderEvent(order_id=order.id, at=utcnow(), actor=actor[:120], action=action))

    def find(self, number: str) -> Order | None:
        if not valid_order_number(number):
            return None
        with self.factory() as session:
            return session.scalar(self._query(number))

    def get(self, number: str) -> Order:
        order = self.find(number)
        if order is None:
            raise OrderNotFound()
        return order

    def for_citizen(self, number: str, token: str | None) -> Order:
        """The order if the token fits; otherwise the same 'not found' whether it exists or not."""
        order = self.find(number)
        if order is None or not self.check_token(order, token):
            raise OrderNotFound()
        return order

    # --- changes under optimistic locking --------------------------------------------------------
    def _mutate(self, number: str, expected_version: int | None, change: Callable[[Session, Order], object]):
        try:
            with transaction(self.factory) as session:
                order = self._load(session, number)
                if expected_version is not None and order.version != expected_version:
                    raise ConflictError()
                return change(session, order)
        except StaleDataError:
            raise ConflictError() from None

    def _retry(self, attempt: Callable[[], object], tries: int = 5):
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

    # --- creation ---------------------------------------------------------------------------------
    def _new_number(self, session: Session) -> str:
        year = utcnow().year
        for _ in range(20):
            suffix = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
            number = f"{self.settings.order_number_prefix}-{year}-{suffix}"
            if session.scalar(select(Order.id).where(Order.order_number == number)) is None:
                return number
        raise RuntimeError("no free order number found")  # pragma: no cover - 32^6 numbers a year

    def create(self, draft: OrderDraft, *, idempotency_key: str | None, request_hash: str, actor: str) -> CreateResult:
        for _ in range(3):
            try:
                with transaction(self.factory) as session:
                    if idempotency_key:
                        existing = session.scalar(self._query_by_key(idempotency_key))
                        if existing is not None:
                            if existing.request_hash != request_hash:
                                raise IdempotencyMismatch()
                            return CreateResult(existing, self.token_for(existing), False)
                    order = self._new_order(session, draft, idempotency_key, request_hash, actor)
                    session.add(order)
                    session.flush()
                    token = self.token_for(order)
                    if order.payment_method == "invoice":
                        self._mail(session, order, "received", next_step=self._text(order, "next_invoice"))
                self.wake()
                return CreateResult(self.get(order.order_number), token, True)
            except IntegrityError:
                # The same request arrived twice at once, or two numbers collided: look again.
                continue
        raise ActionError("Die Bestellung konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.",
                          "The order could not be stored. Please try again.", status=503, code="order-not-stored")

    @staticmethod
    def _query_by_key(key: str):
        return (select(Order).where(Order.idempotency_key == key)
                .options(selectinload(Order.events), selectinload(Order.payments), selectinload(Order.documents)))

    def _new_order(self, session: Session, draft: OrderDraft, key: str | None, request_hash: str, actor: str) -> Order:
        now = utcnow()
        contact = draft.contact
        order = Order(
            order_number=self._new_number(session), token_salt=secrets.token_hex(16), status=lc.SUBMITTED,
            created_at=now, updated_at=now, lang=draft.lang, created_by=actor[:120],
            product_id=draft.product.id, product_name=draft.product.name.de[:200], kind=draft.product.kind,
            handling=draft.handling, staff_reason=draft.staff_reason, attention=False,
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
            lc.record(order, SYSTEM, "routed_to_staff", reason=order.staff_reason)
        if order.justification:
            lc.record(order, actor, "justification_given", details={"length": len(order.justification)})
        return order

    # --- payment ----------------------------------------------------------------------------------
    def start_payment(self, number: str) -> str:
        """The payment page URL for this order: the open transaction, or a new one."""
        order = self.get(number)
        self._check_payable(order)
        for payment in reversed(order.payments):
            if payment.status == xbz.INITIAL and payment.transaction_id and payment.payment_url:
                state = self.provider.status(payment.transaction_id)
                if state.status == xbz.INITIAL:
                    return payment.payment_url
                self.apply_state(state, "Prüfung vor erneuter Zahlung")
                order = self.get(number)
                self._check_payable(order)
                break
        attempt = len(order.payments) + 1
        request = PaymentRequest(
            request_id=f"{order.order_number}-{attempt}", amount_cents=order.amount_cents, currency=order.currency,
            purpose=f"Gebühr {order.product_name} {order.order_number}"[:140], reference=order.order_number,
            return_url=self.urls.payment_return(order.order_number, self.token_for(order), order.lang),
            notify_url=self.urls.notify(), lang=order.lang)
        created = self.provider.create(request)

        def store(session: Session, current: Order):
            self._check_payable(current)
            now = utcnow()
            current.payments.append(Payment(
                provider=self.provider.name, request_id=request.request_id, transaction_id=created.transaction_id,
                status=xbz.INITIAL, amount_cents=current.amount_cents, currency=current.currency,
                payment_url=created.payment_url, created_at=now, updated_at=now, refunded_cents=0, refund_attempts=0))
            details = {"transaction_id": created.transaction_id, "request_id": request.request_id}
            if current.status == lc.SUBMITTED:
                lc.transition(current, lc.AWAITING_PAYMENT, "citizen", action="payment_started", details=details)
            else:
                lc.record(current, "citizen", "payment_started", details=details)

        try:
            self._mutate(number, None, store)
        except (ConflictError, IntegrityError):
            # A double click started the same attempt twice; the provider gave both the same transaction.
            order = self.get(number)
            for payment in reversed(order.payments):
                if payment.transaction_id == created.transaction_id:
                    return payment.payment_url or created.payment_url
            raise
        return created.payment_url

    def _check_payable(self, order: Order) -> None:
        if order.payment_method != "online":
            raise ActionError("Diese Bestellung wird per Rechnung bezahlt.", "This order is paid by invoice.")
        if order.status not in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
            raise ActionError("Diese Bestellung ist bereits bezahlt oder abgeschlossen.",
                              "This order is already paid or closed.", code="not-payable")

    def confirm_order(self, number: str, source: str = "Rückkehr vom Bezahldienst") -> Order:
        """Ask the provider about every open payment of this order (the browser's return proves nothing)."""
        order = self.get(number)
        for payment in order.payments:
            if payment.status == xbz.INITIAL and payment.transaction_id:
                self.apply_state(self.provider.status(payment.transaction_id), source)
        return self.get(number)

    def handle_notification(self, headers, body: bytes) -> Order | None:
        """A provider notification: authenticate it, then ask the provider itself for the state."""
        transaction_id = self.provider.verify_notification(headers, body)
        return self.apply_state(self.provider.status(transaction_id), "Benachrichtigung des Bezahldienstes")

    def apply_state(self, state: PaymentState, source: str) -> Order | None:
        """Apply a provider state confirmed server to server; idempotent, safe to call concurrently."""
        outcome: dict = {}

        def attempt():
            outcome.clear()
            try:
                with transaction(self.factory) as session:
                    return self._apply_state(session, state, source, outcome)
            except StaleDataError:
                raise ConflictError() from None

        order = self._retry(attempt)
        if outcome.get("refund"):
            self.process_refunds(order.order_number if order else None)
        if outcome.get("paid") or outcome.get("mail"):
            self.wake()
        return order

    def _apply_state(self, session: Session, state: PaymentState, source: str, outcome: dict) -> Order | None:
        actor = f"payment:{self.provider.name}"
        payment = session.scalar(select(Payment).where(Payment.transaction_id == state.transaction_id))
        if payment is None:
            payment = self._adopt_unknown_payment(session, state)
            if payment is None:
                log.warning("payment state for unknown transaction %s ignored", state.transaction_id)
                return None
        order = self._load(session, session.scalar(select(Order.order_number).where(Order.id == payment.order_id)))
        payment = next(p for p in order.payments if p.id == payment.id)
        now = utcnow()
        payment.last_checked_at = now
        if payment.status not in (xbz.INITIAL, xbz.FAILED, xbz.CANCELED) or state.status == payment.status:
            return order  # final already, or nothing new: a duplicate or late message
        if state.status == xbz.INITIAL:
            return order
        payment.updated_at = now
        order.updated_at = now  # every payment change bumps the order's version: one writer wins
        details = {"transaction_id": state.transaction_id, "status": state.status, "source": source}
        if state.status in (xbz.FAILED, xbz.CANCELED):
            payment.status = state.status
            lc.record(order, actor, "payment_failed" if state.status == xbz.FAILED else "payment_canceled",
                      reason=source, details=details)
            return order

        # PAYED: the amount, currency and order must be the ones we asked for.
        payment.reported_amount_cents = state.amount_cents
        payment.reported_currency = state.currency
        payment.reference = state.payment_reference
        payment.paid_at = now
        problems = []
        if state.amount_cents != payment.amount_cents or payment.amount_cents != order.amount_cents:
            problems.append(f"Betrag {format_money(state.amount_cents)} statt {format_money(order.amount_cents)}")
        if state.currency != order.currency:
            problems.append(f"Währung {state.currency[:3]} statt {order.currency}")
        if state.reference != order.order_number or state.request_id != payment.request_id:
            problems.append("Zahlung gehört zu einer anderen Bestellung")
        details.update({"amount_cents": state.amount_cents, "currency": state.currency,
                        "payment_reference": state.payment_reference})
        if problems:
            payment.status = "MISMATCH"
            payment.problem = "; ".join(problems)
            order.attention = True
            order.handling = "staff"
            order.staff_reason = f"Zahlung prüfen: {payment.problem}"
            lc.record(order, actor, "payment_mismatch", reason=payment.problem, details=details)
            return order
        payment.status = xbz.PAYED
        if order.status in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
            if order.status == lc.SUBMITTED:
                lc.transition(order, lc.AWAITING_PAYMENT, actor, action="payment_started", details=details)
            lc.transition(order, lc.PAID, actor, reason=source, details=details, action="paid")
            outcome["paid"] = True
            if order.handling == "staff":
                self._mail(session, order, "paid_staff")
                outcome["mail"] = True
        else:
            # Paid after cancellation, or a second payment for a paid order: give the money back.
            payment.refund_status = "pending"
            reason = ("Zahlung nach Abschluss der Bestellung eingegangen" if order.status in lc.CLOSED
                      else "Doppelte Zahlung")
            lc.record(order, actor, "refund_needed", reason=reason, details=details)
            outcome["refund"] = True
        return order

    def _adopt_unknown_payment(self, session: Session, state: PaymentState) -> Payment | None:
        # The process died after the provider created the transaction and before we stored it.
        if not valid_order_number(state.reference) or not state.request_id.startswith(f"{state.reference}-"):
            return None
        order = session.scalar(select(Order).where(Order.order_number == state.reference))
        if order is None:
            return None
        now = utcnow()
        payment = Payment(order_id=order.id, provider=self.provider.name, request_id=state.request_id[:80],
                          transaction_id=state.transaction_id, status=xbz.INITIAL, amount_cents=order.amount_cents,
                          currency=order.currency, created_at=now, updated_at=now, refunded_cents=0, refund_attempts=0)
        session.add(payment)
        session.flush()
        return payment

    # --- refunds ----------------------------------------------------------------------------------
    def _mark_refunds(self, order: Order, actor: str) -> bool:
        marked = False
        for payment in order.payments:
            if payment.status in (xbz.PAYED, "MISMATCH") and payment.refund_status is None:
                payment.refund_status = "pending"
                payment.updated_at = utcnow()
                marked = True
        if marked:
            lc.record(order, actor, "refund_requested")
        return marked

    def process_refunds(self, number: str | None = None) -> int:
        """Send pending refunds to the provider; idempotent there by our refund id."""
        with self.factory() as session:
            query = select(Payment.id, Order.order_number).join(Order).where(Payment.refund_status == "pending")
            if number:
                query = query.where(Order.order_number == number)
            pending = session.execute(query.limit(100)).all()
        done = 0
        for payment_id, order_number in pending:
            with self.factory() as session:
                payment = session.get(Payment, payment_id)
                if payment is None or payment.refund_status != "pending":
                    continue
                if payment.refund_attempts and payment.updated_at > utcnow() - timedelta(
                        minutes=min(2 ** payment.refund_attempts, 240)) and number is None:
                    continue  # back off between attempts
                amount = payment.reported_amount_cents if payment.reported_amount_cents is not None else payment.amount_cents
                transaction_id, refund_id = payment.transaction_id, f"{order_number}-R{payment.id}"
            try:
                result = self.provider.refund(transaction_id, refund_id, amount, f"Erstattung {order_number}")
                error = None
            except PaymentError as exc:
                result, error = None, str(exc)

            def record_result(session: Session, order: Order, payment_id=payment_id, result=result, error=error):
                payment = next(p for p in order.payments if p.id == payment_id)
                payment.updated_at = utcnow()
                order.updated_at = payment.updated_at
                if result is not None:
                    payment.refund_status = "done"
                    payment.refund_id = result.refund_id
                    payment.refunded_cents = result.amount_cents
                    lc.record(order, SYSTEM, "refunded", details={"refund_id": result.refund_id,
                                                                   "amount_cents": result.amount_cents})
                else:
                    payment.refund_attempts += 1
                    if payment.refund_attempts == 1:
                        order.attention = True
                        lc.record(order, SYSTEM, "refund_failed", reason=(error or "")[:500])
            self._retry(lambda number=order_number, change=record_result: self._mutate(number, None, change))
            done += result is not None
        return done

    # --- automatic fulfilment ---------------------------------------------------------------------
    def _spec(self, order: Order) -> ExtractSpec:
        return ExtractSpec(order_number=order.order_number, parcel_key=order.parcel_key, paper=order.paper or "A4",
                           orientation=order.orientation or "portrait", scale=order.scale or 1000, centre=order.centre,
                           created=utcnow().date())

    def fulfil(self, number: str) -> str:
        """Produce and deliver a paid self-service extract; 'completed', 'failed', 'busy' or 'skipped'."""
        lease = timedelta(seconds=self.settings.worker.lease_seconds)

        def claim(session: Session, order: Order):
            now = utcnow()
            if order.handling != "automatic" or order.attention:
                return None
            if order.status == lc.PAID:
                lc.transition(order, lc.IN_PROGRESS, SYSTEM, reason="Automatische Erstellung", action="production_started")
            elif order.status == lc.IN_PROGRESS and order.assigned_to is None and (
                    order.lease_until is None or order.lease_until < now):
                lc.record(order, SYSTEM, "production_resumed")
            else:
                return None
            order.lease_until = now + lease
            return self._spec(order)

        try:
            spec = self._mutate(number, None, claim)
        except ConflictError:
            return "busy"
        if spec is None:
            return "skipped"
        try:
            stored = self.store.save(self.producer.produce(spec), "pdf")
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
                lc.record(order, SYSTEM, "production_failed", reason=reason)
                self._mail(session, order, "follows")

            self._retry(lambda: self._mutate(number, None, fail))
            self.wake()
            return "failed"

        def done(session: Session, order: Order):
            if order.status != lc.IN_PROGRESS or order.handling != "automatic":
                return False
            document = self._document(order, "extract", f"Auszug-Liegenschaftskarte-{number}.pdf", "application/pdf",
                                      stored, SYSTEM)
            session.flush()
            lc.transition(order, lc.COMPLETED, SYSTEM, reason="Auszug erstellt und bereitgestellt", action="completed",
                          details={"document_id": document.id, "sha256": stored.sha256})
            self._mail(session, order, "ready", links=self._links(order))
            return True

        try:
            ok = self._retry(lambda: self._mutate(number, None, done))
        except (ConflictError, InvalidTransition):
            ok = False
        if not ok:
            self.store.delete(stored.storage_name)
            return "skipped"
        self.wake()
        return "completed"

    def _document(self, order: Order, kind: str, filename: str, content_type: str, stored, actor: str) -> Document:
        document = Document(kind=kind, filename=filename[:200], content_type=content_type,
                            storage_name=stored.storage_name, size=stored.size, sha256=stored.sha256,
                            created_at=utcnow(), created_by=actor[:120])
        order.documents.append(document)
        return document

    def _links(self, order: Order) -> str:
        token = self.token_for(order)
        return "\n".join(self.urls.document(order.order_number, token, d.id, d.filename) for d in order.current_documents)

    # --- staff actions ----------------------------------------------------------------------------
    def take(self, number: str, actor: str, expected_version: int) -> Order:
        username = actor.removeprefix("staff:")

        def change(session: Session, order: Order):
            if order.status == lc.PAID or (order.status == lc.SUBMITTED and order.payment_method == "invoice"):
                lc.transition(order, lc.IN_PROGRESS, actor, action="taken")
            elif order.status == lc.IN_PROGRESS:
                lc.record(order, actor, "taken", details={"previous": order.assigned_to})
            else:
                raise ActionError("Übernehmen geht nur bei bezahlten, per Rechnung bestellten oder laufenden Aufträgen.")
            order.assigned_to = username[:80]
            order.handling = "staff"
            order.lease_until = None
            return order

        return self._mutate(number, expected_version, change)

    def produce_extract(self, number: str, actor: str, expected_version: int) -> Order:
        order = self.get(number)
        if order.version != expected_version:
            raise ConflictError()
        if order.kind != "map":
            raise ActionError("Für dieses Produkt wird keine Karte erzeugt; bitte eine Datei anhängen.")
        if order.status not in (lc.IN_PROGRESS, lc.COMPLETED):
            raise ActionError("Bitte übernehmen Sie den Auftrag zuerst.")
        try:
            data = self.producer.produce(self._spec(order))
        except Exception as exc:  # noqa: BLE001
            log.exception("staff production of %s failed", number)
            raise ActionError(f"Der Auszug konnte nicht erzeugt werden: {exc.__class__.__name__}: {str(exc)[:200]}",
                              status=500, code="production-failed") from None
        stored = self.store.save(data, "pdf")

        def change(session: Session, current: Order):
            previous = [d for d in current.current_documents if d.kind == "extract"]
            for document in previous:
                document.deleted_at = utcnow()
            document = self._document(current, "extract", f"Auszug-Liegenschaftskarte-{number}.pdf", "application/pdf",
                                      stored, actor)
            session.flush()
            lc.record(current, actor, "extract_regenerated" if previous else "extract_produced",
                      details={"document_id": document.id, "sha256": stored.sha256})
            current.attention = False
            return current

        try:
            return self._mutate(number, expected_version, change)
        except Exception:
            self.store.delete(stored.storage_name)
            raise

    def attach(self, number: str, actor: str, expected_version: int, filename: str, data: bytes) -> Order:
        content_type = next((ct for ct, (magic, _) in ALLOWED_UPLOADS.items() if data.startswith(magic)), None)
        if content_type is None:
            raise ActionError("Erlaubt sind PDF-, PNG-, JPEG- und TIFF-Dateien.", status=422, code="bad-file")
        suffix = ALLOWED_UPLOADS[content_type][1]
        stem = re.sub(r"[^A-Za-z0-9ÄÖÜäöüß._-]+", "_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:80].strip("._")
        safe_name = f"{(stem.rsplit('.', 1)[0] if '.' in stem else stem) or 'Anlage'}.{suffix}"
        order = self.get(number)
        if order.version != expected_version:
            raise ConflictError()
        if order.status not in (lc.IN_PROGRESS, lc.COMPLETED):
            raise ActionError("Bitte übernehmen Sie den Auftrag zuerst.")
        stored = self.store.save(data, suffix)

        def change(session: Session, current: Order):
            document = self._document(current, "attachment", safe_name, content_type, stored, actor)
            session.flush()
            lc.record(current, actor, "file_attached", details={"document_id": document.id, "filename": safe_name,
                                                                "size": stored.size, "sha256": stored.sha256})
            return current

        try:
            return self._mutate(number, expected_version, change)
        except Exception:
            self.store.delete(stored.storage_name)
            raise

    def complete(self, number: str, actor: str, expected_version: int, note: str | None = None) -> Order:
        def change(session: Session, order: Order):
            if order.status != lc.IN_PROGRESS:
                raise InvalidTransition(order.status, lc.COMPLETED)
            if order.delivery == "download" and not order.current_documents:
                raise ActionError("Bitte erzeugen Sie zuerst den Auszug oder hängen Sie eine Datei an.")
            lc.transition(order, lc.COMPLETED, actor, reason=note or None, action="completed")
            order.attention = False
            if order.delivery == "post":
                delivery_note = self._text(order, "note_post")
            else:
                delivery_note = self._text(order, "note_download")
            if order.payment_method == "invoice":
                delivery_note += " " + self._text(order, "note_invoice")
            links = self._links(order)
            self._mail(session, order, "completed", delivery_note=delivery_note,
                       links_block=f"\n{links}\n" if links else "")
            return order

        order = self._mutate(number, expected_version, change)
        self.wake()
        return order

    def reject(self, number: str, actor: str, expected_version: int, reason: str) -> Order:
        reason = (reason or "").strip()
        if len(reason) < 5:
            raise ActionError("Bitte geben Sie eine Begründung an (mindestens 5 Zeichen).", status=422, code="reason-missing")
        return self._close(number, actor, expected_version, lc.REJECTED, reason[:2000])

    def cancel(self, number: str, actor: str, expected_version: int | None, reason: str | None,
               citizen: bool = False) -> Order:
        reason = (reason or "").strip()[:2000]
        if not citizen and len(reason) < 5:
            raise ActionError("Bitte geben Sie einen Grund an (mindestens 5 Zeichen).", status=422, code="reason-missing")
        return self._close(number, actor, expected_version, lc.CANCELLED, reason or None, citizen=citizen)

    def _close(self, number: str, actor: str, expected_version: int | None, to: str, reason: str | None,
               citizen: bool = False) -> Order:
        outcome: dict = {}

        def change(session: Session, order: Order):
            if citizen and order.status not in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
                raise ActionError("Eine bezahlte Bestellung kann nur das Katasteramt stornieren.",
                                  "A paid order can only be cancelled by the surveying office.")
            lc.transition(order, to, actor, reason=reason, action="rejected" if to == lc.REJECTED else "cancelled")
            order.closing_reason = reason
            order.attention = False
            outcome["refund"] = self._mark_refunds(order, actor)
            refund_note = self._text(order, "note_refund") if outcome["refund"] else ""
            if to == lc.REJECTED:
                self._mail(session, order, "rejected", reason=reason, refund_note=refund_note)
            else:
                reason_line = (("Reason: " if order.lang == "en" else "Grund: ") + reason + "\n") if reason else ""
                self._mail(session, order, "cancelled", reason_line=reason_line, refund_note=refund_note)
            return order

        self._mutate(number, expected_version, change)
        if outcome.get("refund"):
            self.process_refunds(number)
        self.wake()
        return self.get(number)

    # --- mail -------------------------------------------------------------------------------------
    def _text(self, order: Order, key: str) -> str:
        texts = {
            "next_invoice": ("Sie erhalten eine Rechnung. Das Katasteramt bearbeitet Ihre Bestellung und benachrichtigt Sie.",
                             "You will receive an invoice. The surveying office will work on your order and tell you."),
            "note_post": ("Die Unterlagen werden Ihnen per Post zugesandt.", "The documents are sent to you by post."),
            "note_download": ("Sie können die Unterlagen hier herunterladen:", "You can download the documents here:"),
            "note_invoice": ("Die Rechnung erhalten Sie gesondert.", "You will receive the invoice separately."),
            "note_refund": ("Die bereits gezahlte Gebühr wird Ihnen erstattet.\n", "The fee you paid will be refunded.\n"),
        }
        de, en = texts[key]
        return en if order.lang == "en" else de

    def _mail(self, session: Session, order: Order, kind: str, **values) -> None:
        if not order.contact_email:
            return
        values.setdefault("number", order.order_number)
        values.setdefault("product", order.product_name)
        values.setdefault("parcel", order.parcel_label)
        values.setdefault("amount", format_money(order.amount_cents, order.lang, order.currency))
        values.setdefault("status_url", self.urls.status(order.order_number, self.token_for(order), order.lang))
        subject, body = compose_mail(kind, order.lang, self.settings.office, order.contact_name, **values)
        now = utcnow()
        session.add(MailMessage(order_id=order.id, recipient=order.contact_email, subject=subject[:250], body=body,
                                created_at=now, next_attempt_at=now, attempts=0, failed=False))
        lc.record(order, SYSTEM, "mail_queued", details={"kind": kind})

    def send_pending_mail(self, limit: int = 50) -> int:
        if not self.settings.smtp.enabled:
            return 0
        now = utcnow()
        with self.factory() as session:
            ids = session.scalars(
                select(MailMessage.id).where(MailMessage.sent_at.is_(None), MailMessage.failed.is_(False),
                                             MailMessage.next_attempt_at <= now,
                                             or_(MailMessage.lease_until.is_(None), MailMessage.lease_until < now))
                .order_by(MailMessage.id).limit(limit)).all()
        sent = 0
        for mail_id in ids:
            with transaction(self.factory) as session:
                claimed = session.execute(
                    update(MailMessage).where(MailMessage.id == mail_id, MailMessage.sent_at.is_(None),
                                              or_(MailMessage.lease_until.is_(None), MailMessage.lease_until < now))
                    .values(lease_until=utcnow() + timedelta(seconds=120))).rowcount
                message = session.get(MailMessage, mail_id) if claimed else None
                if message is not None:
                    recipient, subject, body = message.recipient, message.subject, message.body
            if message is None:
                continue
            try:
                self.mailer.send(recipient, subject, body)
                error = None
            except Exception as exc:  # noqa: BLE001 - any SMTP trouble means: try again later
                error = f"{exc.__class__.__name__}: {exc}"[:500]
                log.warning("mail %s to %s failed: %s", mail_id, recipient, error)
            with transaction(self.factory) as session:
                message = session.get(MailMessage, mail_id)
                message.lease_until = None
                if error is None:
                    message.sent_at = utcnow()
                    sent += 1
                else:
                    message.attempts += 1
                    message.last_error = error
                    message.next_attempt_at = utcnow() + timedelta(minutes=min(2 ** message.attempts, 360))
                    message.failed = message.attempts >= MAIL_MAX_ATTEMPTS
        return sent

    # --- work left over: after a crash, a lost notification, an abandoned payment -------------------
    def resume_production(self) -> int:
        now = utcnow()
        with self.factory() as session:
            numbers = session.scalars(select(Order.order_number).where(
                Order.handling == "automatic", Order.attention.is_(False),
                or_(Order.status == lc.PAID,
                    and_(Order.status == lc.IN_PROGRESS, Order.assigned_to.is_(None),
                         or_(Order.lease_until.is_(None), Order.lease_until < now))))
                .order_by(Order.id).limit(20)).all()
        return sum(self.fulfil(number) == "completed" for number in numbers)

    def reconcile_payments(self, min_age_seconds: int | None = None) -> int:
        """Ask the provider about payments still open: a notification may have been lost."""
        age = self.settings.payment.reconcile_after_seconds if min_age_seconds is None else min_age_seconds
        now = utcnow()
        with self.factory() as session:
            ids = session.scalars(select(Payment.transaction_id).where(
                Payment.status == xbz.INITIAL, Payment.transaction_id.is_not(None),
                Payment.created_at <= now - timedelta(seconds=age),
                or_(Payment.last_checked_at.is_(None), Payment.last_checked_at <= now - timedelta(seconds=age)))
                .order_by(Payment.id).limit(100)).all()
        checked = 0
        for transaction_id in ids:
            try:
                self.apply_state(self.provider.status(transaction_id), "Abgleich mit dem Bezahldienst")
                checked += 1
            except PaymentError as exc:
                log.warning("reconciling %s failed: %s", transaction_id, exc)
                break  # the provider is down: try the others next time
        return checked

    def abandon_unpaid(self) -> int:
        limit = utcnow() - timedelta(minutes=self.settings.payment.abandon_after_minutes)
        with self.factory() as session:
            numbers = session.scalars(select(Order.order_number).where(
                Order.status.in_((lc.SUBMITTED, lc.AWAITING_PAYMENT)), Order.payment_method == "online",
                Order.created_at <= limit, Order.attention.is_(False)).limit(100)).all()
        cancelled = 0
        for number in numbers:
            try:
                order = self.confirm_order(number, "Abgleich vor Stornierung")
            except PaymentError:
                continue  # never cancel without having asked the provider
            if order.status not in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
                continue
            try:
                self._close(number, SYSTEM, order.version, lc.CANCELLED,
                            "Die Zahlung wurde nicht innerhalb der Frist abgeschlossen.")
                cancelled += 1
            except (ConflictError, InvalidTransition):
                continue
        return cancelled

    def run_due(self, startup: bool = False) -> dict[str, int]:
        """Everything that is due; each part on its own, so one failing does not stop the others."""
        results: dict[str, int] = {}
        with self._run_lock:
            steps = [
                ("reconciled", lambda: self.reconcile_payments(0 if startup else None)),
                ("produced", self.resume_production),
                ("refunded", self.process_refunds),
                ("abandoned", self.abandon_unpaid),
                ("mailed", self.send_pending_mail),
            ]
            for name, step in steps:
                try:
                    results[name] = step()
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    log.exception("order task %s failed", name)
                    results[name] = -1
        return results

    # --- staff queries ----------------------------------------------------------------------------
    def search(self, filters: SearchFilters) -> tuple[list[Order], int]:
        query = select(Order)
        conditions = []
        if filters.status == "open":
            conditions.append(or_(
                Order.attention.is_(True),
                and_(Order.handling == "staff",
                     or_(Order.status.in_((lc.PAID, lc.IN_PROGRESS)),
                         and_(Order.status == lc.SUBMITTED, Order.payment_method == "invoice")))))
        elif filters.status:
            conditions.append(Order.status == filters.status)
        if filters.product:
            conditions.append(Order.product_id == filters.product)
        if filters.date_from:
            conditions.append(Order.created_at >= filters.day_start_utc(filters.date_from))
        if filters.date_to:
            conditions.append(Order.created_at < filters.day_start_utc(filters.date_to + timedelta(days=1)))
        if filters.q:
            text = filters.q.strip().lower()[:100]
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            compact = re.sub(r"[\s\-]", "", text)
            conditions.append(or_(
                func.lower(Order.order_number).like(pattern, escape="\\"),
                func.lower(Order.parcel_key).like("%" + compact.replace("%", "").replace("\\", "") + "%"),
                func.lower(Order.parcel_label).like(pattern, escape="\\"),
                func.lower(Order.contact_name).like(pattern, escape="\\"),
            ))
        if conditions:
            query = query.where(and_(*conditions))
        with self.factory() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = max(1, filters.page)
            rows = session.scalars(query.options(selectinload(Order.payments))
                                   .order_by(Order.created_at.desc(), Order.id.desc())
                                   .offset((page - 1) * filters.page_size).limit(filters.page_size)).all()
        return list(rows), total

    def document(self, order: Order, document_id: int) -> Document | None:
        return next((d for d in order.current_documents if d.id == document_id), None)

    # --- views ------------------------------------------------------------------------------------
    def public_view(self, order: Order, lang: str = "de", include_token: bool = True) -> dict:
        """The order as the API shows it to the form server and the citizen: no contact data."""
        token = self.token_for(order)
        last_payment = order.payments[-1] if order.payments else None
        return {
            "order_number": order.order_number,
            "status": order.status,
            "status_text": lc.status_text(order.status, lang),
            "product": order.product_id,
            "parcel": {"key": order.parcel_key, "label": order.parcel_label},
            "options": {"paper": order.paper, "orientation": order.orientation, "scale": order.scale,
                        "copies": order.copies, "delivery": order.delivery, "certified": order.certified},
            "payment_method": order.payment_method,
            "amount_cents": order.amount_cents,
            "currency": order.currency,
            "fee_breakdown": order.fee_breakdown,
            "handling": order.handling,
            "payment": ({"status": last_payment.status, "reference": last_payment.reference,
                         "refund_status": last_payment.refund_status} if last_payment else None),
            "payment_url": (self.urls.pay(order.order_number, token, order.lang)
                            if order.payment_method == "online" and order.status in (lc.SUBMITTED, lc.AWAITING_PAYMENT)
                            else None),
            "status_url": self.urls.status(order.order_number, token, order.lang) if include_token else None,
            "documents": [{"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
                           "url": self.urls.document(order.order_number, token, d.id, d.filename)}
                          for d in order.current_documents] if include_token else [],
            "created_at": order.created_at.isoformat() + "Z",
            "updated_at": order.updated_at.isoformat() + "Z",
        }
