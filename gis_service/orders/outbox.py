"""The mail outbox: a mail is stored with the change it reports and sent later, with retries, by whoever is due."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import OrdersSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import MailMessage, Order
from gis_service.orders.notifications import Mailer, compose_mail
from gis_service.orders.products import format_money
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.urls import Urls

log = logging.getLogger(__name__)

class Outbox:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, mailer: Mailer, urls: Urls,
                 tokens: OrderTokens):
        self.factory = factory
        self.settings = settings
        self.mailer = mailer
        self.urls = urls
        self.tokens = tokens

    def queue(self, session: Session, order: Order, kind: str, **values) -> None:
        """A mail to the citizen, in the caller's transaction: it goes out only if the change is kept."""
        if not order.contact_email:
            return
        if order.awaiting_confirmation and kind != "confirm":
            return  # nothing but the confirmation goes to an address its owner has not confirmed
        values.setdefault("number", order.order_number)
        values.setdefault("product", self._product_name(order))
        values.setdefault("parcel", order.parcel_label)
        values.setdefault("amount", format_money(order.amount_cents, order.lang, order.currency))
        values.setdefault("status_url", self.urls.status(order.order_number, self.tokens.for_order(order), order.lang))
        # The confirmation greets nobody by name: the name is text the orderer typed.
        name = None if kind == "confirm" else order.contact_name
        subject, body = compose_mail(kind, order.lang, self.settings.office, name, **values)
        now = utcnow()
        session.add(MailMessage(order_id=order.id, recipient=order.contact_email, subject=subject[:250], body=body,
                                created_at=now, next_attempt_at=now, attempts=0, failed=False))
        lc.record(order, lc.SYSTEM, "mail_queued", details={"kind": kind})

    def _product_name(self, order: Order) -> str:
        # The order keeps the German name (the official record); a mail speaks the order's language.
        product = next((p for p in self.settings.products if p.id == order.product_id), None)
        return product.name.get(order.lang) if product else order.product_name

    def document_links(self, order: Order) -> str:
        token = self.tokens.for_order(order)
        return "\n".join(self.urls.document(order.order_number, token, d.id, d.filename) for d in order.current_documents)

    def send_pending(self, limit: int = 50) -> int:
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
                # The lease keeps a second worker from sending the same mail while this one talks to SMTP.
                claimed = session.execute(
                    update(MailMessage).where(MailMessage.id == mail_id, MailMessage.sent_at.is_(None),
                                              or_(MailMessage.lease_until.is_(None), MailMessage.lease_until < now))
                    .values(lease_until=utcnow() + timedelta(seconds=120))).rowcount
                message = session.get(MailMessage, mail_id) if claimed else None
                if message is not None:
                    recipient, subject, body = message.recipient, message.subject, message.body
                    number = message.order_id and session.scalar(
                        select(Order.order_number).where(Order.id == message.order_id))
            if message is None:
                continue
            try:
                self.mailer.send(recipient, subject, body)
                error = None
            except Exception as exc:  # noqa: BLE001 - any SMTP trouble means: try again later
                # SMTP servers quote the address they refuse; the log and the stored error name the
                # order instead, never the citizen.
                error = _without(f"{exc.__class__.__name__}: {exc}", recipient)[:500]
                log.warning("mail %s for order %s failed: %s", mail_id, number or "-", error)
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
                    message.failed = message.attempts >= self.settings.smtp.max_attempts
        return sent


def _without(text: str, address: str) -> str:
    """`text` with the address (and its local part, which often is a name) replaced."""
    for secret in sorted({address, address.partition("@")[0]}, key=len, reverse=True):
        if len(secret) >= 3:
            text = re.sub(re.escape(secret), "<Empfänger>", text, flags=re.IGNORECASE)
    return text
