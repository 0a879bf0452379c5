"""Purges personal data of closed orders (keeping an anonymised record) and of expired drafts after their periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, not_, select
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import DataProtectionSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.drafts import delete_expired
from gis_service.orders.invoices import unsettled
from gis_service.orders.models import Invoice, MailMessage, Order, OrderNote
from gis_service.orders.storage import FileStore

PERSONAL_FIELDS = ("contact_name", "contact_email", "contact_phone", "contact_organisation", "address_street",
                   "address_postcode", "address_city", "address_country")


@dataclass
class PurgeReport:
    anonymised: list[str]
    justifications_purged: list[str]
    files_deleted: int
    dry_run: bool
    drafts_deleted: int = 0


def purge_personal_data(factory: sessionmaker[Session], settings: DataProtectionSettings, store: FileStore | None,
                        now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Anonymise orders closed more than `personal_data_days` ago (not while their invoice is open);
    justifications of owner-data orders stay until `justification_days` (the audit period) and go then; drafts older than
    `draft_hours` are deleted."""
    now = now or utcnow()
    personal_limit = now - timedelta(days=settings.personal_data_days)
    justification_limit = now - timedelta(days=settings.justification_days)
    report = PurgeReport([], [], 0, dry_run)
    files: list[str] = []
    with transaction(factory) as session:
        report.drafts_deleted = delete_expired(session, settings.draft_hours, now, dry_run)
        closed = Order.status.in_(tuple(lc.CLOSED))
        # An unpaid invoice still needs the address it is sent to: its order waits until paid or written off.
        for order in session.scalars(select(Order).outerjoin(Invoice).where(
                closed, Order.closed_at <= personal_limit, Order.anonymised_at.is_(None), not_(unsettled()))):
            report.anonymised.append(order.order_number)
            if dry_run:
                continue
            for name in PERSONAL_FIELDS:
                setattr(order, name, None)
            order.anonymised_at = now
            order.idempotency_key = None  # a client-chosen key may itself identify someone
            if settings.delete_files:
                for document in order.current_documents:
                    files.append(document.storage_name)
                    document.deleted_at = now
            session.execute(delete(MailMessage).where(MailMessage.order_id == order.id))
            session.execute(delete(OrderNote).where(OrderNote.order_id == order.id))  # clerks' free text
            for event in order.events:
                # Free text a clerk typed may name people; the action, time and actor stay.
                if event.action in ("mail_queued",):
                    continue
                if event.details and "filename" in event.details:
                    event.details = {k: v for k, v in event.details.items() if k != "filename"}
            lc.record(order, "system", "personal_data_purged",
                      reason=f"Personenbezogene Daten nach {settings.personal_data_days} Tagen gelöscht")
        for order in session.scalars(select(Order).where(closed, Order.closed_at <= justification_limit,
                                                         Order.justification.is_not(None))):
            report.justifications_purged.append(order.order_number)
            if dry_run:
                continue
            order.justification = None
            order.justification_purged_at = now
            lc.record(order, "system", "justification_purged",
                      reason=f"Begründung nach Ablauf der Prüffrist ({settings.justification_days} Tage) gelöscht")
    if store is not None:
        for name in files:
            store.delete(name)
            report.files_deleted += 1
    return report
