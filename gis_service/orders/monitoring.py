"""Figures about the order process read from the database at scrape time, the same for every worker."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from gis_service.metrics import Reading
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import utcnow
from gis_service.orders.feedback import STATUSES as FEEDBACK_STATUSES
from gis_service.orders.issuing import WITHDRAWN_TEXTS
from gis_service.orders.models import AccessibilityFeedback, ExtractVerification, MailMessage, Order, Payment
from gis_service.orders.seal import Sealer


def order_readings(factory: sessionmaker[Session]) -> list[Reading]:
    now = utcnow()
    readings: list[Reading] = []
    with factory() as session:
        for status, count in session.execute(select(Order.status, func.count()).group_by(Order.status)):
            readings.append(Reading("gis_orders", "Orders by state", count, {"state": status}))
        attention = session.scalar(select(func.count()).select_from(Order).where(Order.attention.is_(True)))
        readings.append(Reading("gis_orders_needing_a_person", "Orders a clerk must look at", attention or 0))
        for status, count in session.execute(select(Payment.status, func.count()).group_by(Payment.status)):
            readings.append(Reading("gis_payments", "Payments by state at the provider (INITIAL, PAYED, "
                                    "FAILED, CANCELED)", count, {"state": status}))
        for status, count in session.execute(select(Payment.refund_status, func.count())
                                             .where(Payment.refund_status.is_not(None))
                                             .group_by(Payment.refund_status)):
            readings.append(Reading("gis_refunds", "Refunds by state (pending, done, failed)", count,
                                    {"state": status}))
        pending = and_(MailMessage.sent_at.is_(None), MailMessage.failed.is_(False))
        readings.append(Reading("gis_mail_outbox", "Mails not sent yet, or given up", session.scalar(
            select(func.count()).select_from(MailMessage).where(pending)) or 0, {"state": "pending"}))
        readings.append(Reading("gis_mail_outbox", "Mails not sent yet, or given up", session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.failed.is_(True))) or 0,
            {"state": "failed"}))
        oldest_mail = session.scalar(select(func.min(MailMessage.created_at)).where(pending))
        readings.append(Reading("gis_mail_outbox_oldest_pending_seconds", "Age of the oldest mail not sent yet",
                                (now - oldest_mail).total_seconds() if oldest_mail else 0.0))
        # Self-service work no worker holds: paid and not started, or started under a lease that ran out.
        automatic = and_(Order.handling == "automatic", Order.attention.is_(False))
        waiting_since = session.scalar(select(func.min(Order.updated_at)).where(automatic, Order.status == lc.PAID))
        lease_ran_out = session.scalar(select(func.min(Order.lease_until)).where(
            automatic, Order.status == lc.IN_PROGRESS, Order.assigned_to.is_(None),
            or_(Order.lease_until.is_(None), Order.lease_until < now)))
        overdue = [(now - moment).total_seconds() for moment in (waiting_since, lease_ran_out) if moment]
        readings.append(Reading("gis_order_task_overdue_seconds", "How long the oldest self-service order has "
                                "waited for a worker (paid, or its production lease ran out)", max(overdue or [0.0])))
        found = dict(session.execute(select(AccessibilityFeedback.status, func.count())
                                     .group_by(AccessibilityFeedback.status)).all())
        for status in FEEDBACK_STATUSES:  # all three, so an alert on "new" sees a zero too
            readings.append(Reading("gis_accessibility_feedback", "Accessibility feedback messages by state",
                                    found.get(status, 0), {"state": status}))
        issued = dict(session.execute(select(func.coalesce(ExtractVerification.withdrawn_reason, "valid"), func.count())
                                      .group_by(ExtractVerification.withdrawn_reason)).all())
        for state in ("valid", *WITHDRAWN_TEXTS):
            readings.append(Reading("gis_extracts_issued", "Official extracts issued with a verification code: still "
                                    "valid, or withdrawn and why", issued.get(state, 0), {"state": state}))
    return readings


def seal_readings(sealer: Sealer | None) -> list[Reading]:
    """How long the seal certificate has left (an alert well before 0: then every extract goes to the staff)."""
    if sealer is None:
        return []
    left = (sealer.not_after - datetime.now(UTC)).total_seconds()
    return [Reading("gis_seal_certificate_expiry_seconds", "Seconds until the seal certificate expires (orders.seal)",
                    left, {"level": sealer.level})]
