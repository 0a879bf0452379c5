"""Paying for orders: start a payment, apply what the provider confirms, reconcile lost news, cancel the unpaid."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from catalogues import N_
from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders import texts
from gis_service.orders.texts import office_text
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.actions import OrderActions
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.errors import ActionError, ConflictError, InvalidTransition, PaymentError
from gis_service.orders.models import Order, Payment
from gis_service.orders.outbox import Outbox
from gis_service.orders.payments import PaymentProvider, PaymentRequest, PaymentState
from gis_service.orders.products import format_money
from gis_service.orders.refunds import Refunds
from gis_service.orders.repository import OrderRepository, retry, valid_order_number
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.urls import Urls

log = logging.getLogger(__name__)


class PaymentReconciler:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, repository: OrderRepository,
                 tokens: OrderTokens, urls: Urls, outbox: Outbox, refunds: Refunds, actions: OrderActions,
                 provider: PaymentProvider, wake: Callable[[], None]):
        self.factory = factory
        self.settings = settings
        self.repository = repository
        self.tokens = tokens
        self.urls = urls
        self.outbox = outbox
        self.refunds = refunds
        self.actions = actions
        self.provider = provider
        self.wake = wake

    # --- the citizen pays -------------------------------------------------------------------------
    def start_payment(self, number: str) -> str:
        """The payment page URL for this order: the open transaction, or a new one."""
        order = self.repository.get(number)
        _check_payable(order)
        for payment in reversed(order.payments):
            if payment.status == xbz.INITIAL and payment.transaction_id and payment.payment_url:
                state = self.provider.status(payment.transaction_id)
                if state.status == xbz.INITIAL:
                    return payment.payment_url
                self.apply_state(state, office_text(N_("payment_reason_check_before_retry")))
                order = self.repository.get(number)
                _check_payable(order)
                break
        attempt = len(order.payments) + 1
        request = PaymentRequest(
            request_id=f"{order.order_number}-{attempt}", amount_cents=order.amount_cents, currency=order.currency,
            purpose=texts.office_text(texts.PAYMENT_PURPOSE, product=order.product_name, number=order.order_number)[:140],
            reference=order.order_number,
            return_url=self.urls.payment_return(order.order_number, self.tokens.for_order(order), order.lang),
            notify_url=self.urls.notify(), lang=order.lang)
        created = self.provider.create(request)

        def store(session: Session, current: Order):
            _check_payable(current)
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
            self.repository.mutate(number, None, store)
        except (ConflictError, IntegrityError):
            # A double click started the same attempt twice; the provider gave both the same transaction.
            order = self.repository.get(number)
            for payment in reversed(order.payments):
                if payment.transaction_id == created.transaction_id:
                    return payment.payment_url or created.payment_url
            raise
        return created.payment_url

    def confirm_order(self, number: str, source: str | None = None) -> Order:
        """Ask the provider about every open payment of this order (the browser's return proves nothing)."""
        source = source or office_text(N_("payment_reason_return"))
        order = self.repository.get(number)
        for payment in order.payments:
            if payment.status == xbz.INITIAL and payment.transaction_id:
                self.apply_state(self.provider.status(payment.transaction_id), source)
        return self.repository.get(number)

    def handle_notification(self, headers, body: bytes) -> Order | None:
        """A provider notification: authenticate it, then ask the provider itself for the state."""
        transaction_id = self.provider.verify_notification(headers, body)
        return self.apply_state(self.provider.status(transaction_id), office_text(N_("payment_reason_notification")))

    # --- what the provider confirms ---------------------------------------------------------------
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

        order = retry(attempt)
        if outcome.get("refund"):
            self.refunds.process(order.order_number if order else None)
        if outcome.get("paid") or outcome.get("mail"):
            self.wake()
        return order

    def _apply_state(self, session: Session, state: PaymentState, source: str, outcome: dict) -> Order | None:
        actor = f"payment:{self.provider.name}"
        # Only the order's id first, not the Payment: an entity read before the order would stay in the
        # session as read, and under READ COMMITTED a concurrent confirmation (the return and the
        # notification at once) could then show the order already paid beside its payment still
        # INITIAL, which looks like a second payment and was refunded. The order, read first, and
        # its payments, read after it, are never older than each other in that way.
        order_id = session.scalar(select(Payment.order_id).where(Payment.transaction_id == state.transaction_id))
        if order_id is None:
            adopted = self._adopt_unknown_payment(session, state)
            if adopted is None:
                log.warning("payment state for unknown transaction %s ignored", state.transaction_id)
                return None
            order_id = adopted.order_id
        order = self.repository.load(session, session.scalar(select(Order.order_number).where(Order.id == order_id)))
        payment = next(p for p in order.payments if p.transaction_id == state.transaction_id)
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
            problems.append(office_text(N_("payment_problem_amount"), reported=format_money(state.amount_cents),
                                   expected=format_money(order.amount_cents)))
        if state.currency != order.currency:
            problems.append(office_text(N_("payment_problem_currency"), reported=state.currency[:3], expected=order.currency))
        if state.reference != order.order_number or state.request_id != payment.request_id:
            problems.append(office_text(N_("payment_problem_other_order")))
        details.update({"amount_cents": state.amount_cents, "currency": state.currency,
                        "payment_reference": state.payment_reference})
        if problems:
            payment.status = "MISMATCH"
            payment.problem = "; ".join(problems)
            order.attention = True
            order.handling = "staff"
            order.staff_reason = office_text(N_("payment_check"), problem=payment.problem)
            lc.record(order, actor, "payment_mismatch", reason=payment.problem, details=details)
            return order
        payment.status = xbz.PAYED
        if order.status in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
            if order.status == lc.SUBMITTED:
                lc.transition(order, lc.AWAITING_PAYMENT, actor, action="payment_started", details=details)
            lc.transition(order, lc.PAID, actor, reason=source, details=details, action="paid")
            outcome["paid"] = True
            if order.handling == "staff":
                self.outbox.queue(session, order, "paid_staff")
                outcome["mail"] = True
        else:
            # Paid after cancellation, or a second payment for a paid order: give the money back.
            payment.refund_status = "pending"
            reason = office_text(N_("payment_reason_after_close") if order.status in lc.CLOSED
                            else N_("payment_reason_twice"))
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

    # --- work left over: a lost notification, an abandoned payment ---------------------------------
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
                self.apply_state(self.provider.status(transaction_id), office_text(N_("payment_reason_reconcile")))
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
                order = self.confirm_order(number, office_text(N_("payment_reason_before_cancel")))
            except PaymentError:
                continue  # never cancel without having asked the provider
            if order.status not in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
                continue
            try:
                self.actions.cancel(number, lc.SYSTEM, order.version, texts.office_text(texts.PAYMENT_NOT_COMPLETED))
                cancelled += 1
            except (ConflictError, InvalidTransition):
                continue
        return cancelled


def _check_payable(order: Order) -> None:
    if order.payment_method != "online":
        raise ActionError(texts.PAID_BY_INVOICE)
    if order.status not in (lc.SUBMITTED, lc.AWAITING_PAYMENT):
        raise ActionError(texts.NOT_PAYABLE, code="not-payable")
