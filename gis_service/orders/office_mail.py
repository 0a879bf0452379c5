"""Mail to the office: an order needs a person, a payment or a citizen's mail failed for good; single or a daily digest."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_, text
from gis_service.config import OrdersSettings
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import MailMessage, OfficeNotice, Order, OrderEvent
from gis_service.orders.queries import needs_person
from gis_service.orders.urls import Urls

log = logging.getLogger(__name__)

NEEDS_PERSON = "needs_person"
PAYMENT_FAILED = "payment_failed"
MAIL_FAILED = "mail_failed"
DIGEST = "digest"  # the claim of one day's digest: ref = YYYYMMDD
# Audit events that mean a payment went wrong in a way no retry by the system mends.
PAYMENT_PROBLEMS = {"payment_mismatch": N_("office_problem_mismatch"), "refund_failed": N_("office_problem_refund_failed")}
OFFICE_LANG = "de"  # the office reads German
SCAN_LIMIT = 100

# Office mails carry the order number, product and staff link only: never the citizen's name, address or
# free text (the mail may be forwarded or sit in a shared mailbox; the clerk reads the rest in /staff).
SUBJECTS = {
    NEEDS_PERSON: N_("office_subject_needs_person"),
    PAYMENT_FAILED: N_("office_subject_payment_failed"),
    MAIL_FAILED: N_("office_subject_mail_failed"),
}
LINES = {
    NEEDS_PERSON: N_("office_line_needs_person"),
    PAYMENT_FAILED: N_("office_line_payment_failed"),
    MAIL_FAILED: N_("office_line_mail_failed"),
}


@dataclass
class Notice:
    kind: str
    ref: int
    order_id: int | None
    number: str
    product_id: str
    product: str
    problem: str = ""


class OfficeMail:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, urls: Urls):
        self.factory = factory
        self.settings = settings
        self.urls = urls

    @property
    def config(self):
        return self.settings.office_notifications

    def recipients(self, product_id: str | None) -> list[str]:
        config = self.config
        if product_id and product_id in config.per_product:
            return config.per_product[product_id]
        return config.recipients or [self.settings.office.email]

    def run(self, now: datetime | None = None) -> int:
        """Record what is new and mail it (single mode) or, once a day, the digest; returns mails queued."""
        if self.config.mode == "off":
            return 0
        queued = 0
        for notice in self._new_notices():
            queued += self._record(notice)
        if self.config.mode == "digest":
            queued += self.send_digest(now)
        return queued

    # --- what is new ------------------------------------------------------------------------------
    def _new_notices(self) -> list[Notice]:
        def told(kind: str, ref_column):
            return exists().where(and_(OfficeNotice.kind == kind, OfficeNotice.ref == ref_column))

        found: list[Notice] = []
        with self.factory() as session:
            for row in session.execute(
                    select(Order.id, Order.order_number, Order.product_id, Order.product_name)
                    .where(needs_person(), ~told(NEEDS_PERSON, Order.id)).order_by(Order.id).limit(SCAN_LIMIT)):
                found.append(Notice(NEEDS_PERSON, row.id, row.id, row.order_number, row.product_id, row.product_name))
            for row in session.execute(
                    select(OrderEvent.id, OrderEvent.action, Order.id.label("order_id"), Order.order_number,
                           Order.product_id, Order.product_name).join(Order)
                    .where(OrderEvent.action.in_(PAYMENT_PROBLEMS), ~told(PAYMENT_FAILED, OrderEvent.id))
                    .order_by(OrderEvent.id).limit(SCAN_LIMIT)):
                found.append(Notice(PAYMENT_FAILED, row.id, row.order_id, row.order_number, row.product_id,
                                    row.product_name, text(PAYMENT_PROBLEMS[row.action], OFFICE_LANG)))
            for row in session.execute(
                    select(MailMessage.id, Order.id.label("order_id"), Order.order_number, Order.product_id,
                           Order.product_name).join(Order)
                    # An office mail that fails is not reported by another office mail (it would fail too).
                    .where(MailMessage.failed.is_(True), MailMessage.audience == "citizen",
                           ~told(MAIL_FAILED, MailMessage.id))
                    .order_by(MailMessage.id).limit(SCAN_LIMIT)):
                found.append(Notice(MAIL_FAILED, row.id, row.order_id, row.order_number, row.product_id,
                                    row.product_name))
        return found

    def _record(self, notice: Notice) -> int:
        single = self.config.mode == "single"
        try:
            with transaction(self.factory) as session:
                now = utcnow()
                # The unique (kind, ref) makes this the claim: of several workers, one inserts, the others fail.
                session.add(OfficeNotice(kind=notice.kind, ref=notice.ref, order_id=notice.order_id, created_at=now,
                                         mailed_at=now if single else None))
                session.flush()
                if not single:
                    return 0
                subject = text(SUBJECTS[notice.kind], OFFICE_LANG, number=notice.number)
                body = f"{self._line(notice)}\n\n{self._link(notice)}\n\n{text('office_footer', OFFICE_LANG)}\n"
                recipients = self.recipients(notice.product_id)
                for recipient in recipients:
                    queue_office_mail(session, notice.order_id, recipient, subject, body)
                return len(recipients)
        except IntegrityError:
            return 0

    def _line(self, notice: Notice) -> str:
        return text(LINES[notice.kind], OFFICE_LANG, number=notice.number, product=notice.product, problem=notice.problem)

    def _link(self, notice: Notice) -> str:
        return self.urls.staff_outbox() if notice.kind == MAIL_FAILED else self.urls.staff_order(notice.number)

    # --- the daily digest -------------------------------------------------------------------------
    def send_digest(self, now: datetime | None = None) -> int:
        """Once a day after `digest_hour` on the clerks' clock, one mail per recipient listing what came in."""
        zone = ZoneInfo(self.settings.staff.timezone)
        local = (now or datetime.now(UTC)).astimezone(zone)
        if local.hour < self.config.digest_hour:
            return 0
        day = int(local.strftime("%Y%m%d"))
        with self.factory() as session:
            if session.scalar(select(OfficeNotice.id).where(OfficeNotice.kind == DIGEST, OfficeNotice.ref == day)):
                return 0
        try:
            with transaction(self.factory) as session:
                # Claiming the day and queueing its mails is one transaction: a second worker's insert of the
                # same day fails, and a crash before the commit leaves the day unclaimed for the next round.
                session.add(OfficeNotice(kind=DIGEST, ref=day, order_id=None, created_at=utcnow(), mailed_at=utcnow()))
                session.flush()
                pending = session.execute(
                    select(OfficeNotice, Order.order_number, Order.product_id, Order.product_name)
                    .join(Order, OfficeNotice.order_id == Order.id)
                    .where(OfficeNotice.mailed_at.is_(None), OfficeNotice.kind != DIGEST)
                    .order_by(OfficeNotice.id)).all()
                by_recipient: dict[str, list[str]] = {}
                for notice, number, product_id, product in pending:
                    problem = self._payment_problem(session, notice) if notice.kind == PAYMENT_FAILED else ""
                    item = Notice(notice.kind, notice.ref, notice.order_id, number, product_id, product, problem)
                    line = f"- {self._line(item)}\n  {self._link(item)}"
                    for recipient in self.recipients(product_id):
                        by_recipient.setdefault(recipient, []).append(line)
                    notice.mailed_at = utcnow()
                date_text = local.strftime("%d.%m.%Y")
                for recipient, lines in by_recipient.items():
                    if len(lines) == 1:
                        subject = text("office_digest_subject_one", OFFICE_LANG, date=date_text)
                    else:
                        subject = text("office_digest_subject", OFFICE_LANG, date=date_text, n=len(lines))
                    body = text("office_digest_body", OFFICE_LANG, lines="\n".join(lines),
                                all_orders=f"{self.urls.base}/staff/", footer=text("office_footer", OFFICE_LANG))
                    queue_office_mail(session, None, recipient, subject, body)
                return len(by_recipient)
        except IntegrityError:
            return 0

    @staticmethod
    def _payment_problem(session: Session, notice: OfficeNotice) -> str:
        action = session.scalar(select(OrderEvent.action).where(OrderEvent.id == notice.ref))
        return text(PAYMENT_PROBLEMS[action], OFFICE_LANG) if action in PAYMENT_PROBLEMS else ""


def queue_office_mail(session: Session, order_id: int | None, recipient: str, subject: str, body: str) -> MailMessage:
    """An office mail added to the outbox (sent by the order worker); returned unflushed, without its id yet."""
    now = utcnow()
    mail = MailMessage(order_id=order_id, recipient=recipient, subject=subject[:250], body=body, created_at=now,
                       next_attempt_at=now, attempts=0, failed=False, audience="office")
    session.add(mail)
    return mail
