"""The outbox as staff see it: mails with state and errors, "send again" (audited), and the queue's counts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_, msg, text
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.errors import ActionError
from gis_service.orders.models import MailMessage, OfficeNotice, Order, OrderEvent
from gis_service.orders.office_mail import MAIL_FAILED
from gis_service.orders.queries import needs_person

log = logging.getLogger(__name__)

STATES = ("failed", "retrying", "waiting", "sent")
STATE_TEXT = {
    "failed": N_("outbox_state_failed"),
    "retrying": N_("outbox_state_retrying"),
    "waiting": N_("outbox_state_waiting"),
    "sent": N_("outbox_state_sent"),
}
AUDIENCE_TEXT = {
    "citizen": N_("outbox_audience_citizen"),
    "office": N_("outbox_audience_office"),
}
LIST_LIMIT = 200


def state_of(mail: MailMessage) -> str:
    if mail.sent_at is not None:
        return "sent"
    if mail.failed:
        return "failed"
    return "retrying" if mail.attempts else "waiting"


def state_text(state: str, lang: str = "de") -> str:
    return text(STATE_TEXT.get(state, "actor_unknown"), lang)


def audience_text(audience: str, lang: str = "de") -> str:
    return text(AUDIENCE_TEXT.get(audience, "actor_unknown"), lang)


def mask_address(address: str) -> str:
    """e***@example.org: enough to tell two mails apart, too little to copy the address from a screen."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


@dataclass
class MailRow:
    id: int
    order_number: str | None
    audience: str
    recipient: str  # masked
    subject: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass
class QueueCounts:
    needs_person: int
    mine: int
    failed_mails: int
    newest_id: int  # the highest order id needing a person: what "new since" compares against
    new_since: int  # orders needing a person with an id above the one the page was drawn with

    def as_dict(self) -> dict:
        return {"needs_person": self.needs_person, "mine": self.mine, "failed_mails": self.failed_mails,
                "newest_id": self.newest_id, "new_since": self.new_since}


def _state_condition(state: str):
    return {
        "failed": MailMessage.failed.is_(True),
        "retrying": and_(MailMessage.sent_at.is_(None), MailMessage.failed.is_(False), MailMessage.attempts > 0),
        "waiting": and_(MailMessage.sent_at.is_(None), MailMessage.failed.is_(False), MailMessage.attempts == 0),
        "sent": MailMessage.sent_at.is_not(None),
    }[state]


class StaffOutbox:
    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory

    def mails(self, state: str | None = None, order_id: int | None = None, limit: int = LIST_LIMIT) -> list[MailRow]:
        """Newest first; `state` one of STATES or None for all."""
        query = select(MailMessage, Order.order_number).outerjoin(Order, MailMessage.order_id == Order.id)
        if state:
            query = query.where(_state_condition(state))
        if order_id is not None:
            query = query.where(MailMessage.order_id == order_id)
        with self.factory() as session:
            rows = session.execute(query.order_by(MailMessage.id.desc()).limit(limit)).all()
        return [MailRow(m.id, number, m.audience, mask_address(m.recipient), m.subject, state_of(m), m.attempts,
                        m.last_error, m.created_at, m.sent_at) for m, number in rows]

    def resend(self, mail_id: int, actor: str) -> str | None:
        """Put a failed (or retrying) mail back in line at once; returns its order number, audited on the order."""
        with transaction(self.factory) as session:
            mail = session.get(MailMessage, mail_id)
            if mail is None:
                raise ActionError(msg("staff_outbox_there_is_no_such_mail"), status=404,
                                  code="mail-not-found")
            if mail.sent_at is not None:
                raise ActionError(msg("staff_outbox_this_mail_has_been_sent_already"),
                                  status=409, code="mail-sent")
            previous = mail.attempts
            mail.failed = False
            mail.attempts = 0
            mail.next_attempt_at = utcnow()
            mail.lease_until = None
            # A new failure for good is news again: the office is told once more.
            session.execute(delete(OfficeNotice).where(OfficeNotice.kind == MAIL_FAILED, OfficeNotice.ref == mail_id))
            number = None
            if mail.order_id is not None:
                # An entry that changes nothing on the order itself: it does not bump the version clerks' forms carry.
                session.add(OrderEvent(order_id=mail.order_id, at=utcnow(), actor=actor[:120], action="mail_resent",
                                       details={"mail_id": mail_id, "attempts": previous}))
                number = session.scalar(select(Order.order_number).where(Order.id == mail.order_id))
        log.info("mail %s put back in the outbox by %s", mail_id, actor)
        return number

    def counts(self, username: str, since: int = 0) -> QueueCounts:
        with self.factory() as session:
            waiting = session.execute(select(func.count(Order.id), func.max(Order.id)).where(needs_person())).one()
            mine = session.scalar(select(func.count(Order.id)).where(Order.assigned_to == username,
                                                                     Order.status.not_in(lc.CLOSED))) or 0
            failed = session.scalar(select(func.count(MailMessage.id)).where(MailMessage.failed.is_(True))) or 0
            new = session.scalar(select(func.count(Order.id)).where(needs_person(), Order.id > since)) or 0
        return QueueCounts(waiting[0] or 0, mine, failed, waiting[1] or 0, new)
