"""Purges personal data of closed orders (keeping an anonymised record) and of expired drafts after their periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, not_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import DataProtectionSettings
from gis_service.orders import lifecycle as lc
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.drafts import delete_expired
from gis_service.orders.invoices import unsettled
from gis_service.orders.models import Document, Invoice, MailMessage, Order, OrderNote
from gis_service.orders.storage import FileStore

# Who the citizen is and how to reach them.
PERSONAL_FIELDS = ("contact_name", "contact_email", "contact_phone", "contact_organisation", "address_street",
                   "address_postcode", "address_city", "address_country")
# Text a person typed (or that quotes it), and data derived from the request: may name or identify someone.
FREE_TEXT_FIELDS = ("staff_reason", "closing_reason", "idempotency_key", "request_hash")
# Event details that stay: codes, amounts, ids and hashes the office needs to follow the accounting.
# Any other key (an uploaded file's name, anything added later) is dropped: what is not listed here goes.
KEPT_DETAILS = frozenset({"product", "parcel", "amount_cents", "payment_method", "currency", "length", "document_id",
                          "sha256", "transaction_id", "request_id", "status", "payment_reference", "kind",
                          "refund_id", "previous"})
# Orders anonymised per call from the periodic tasks: a round stays short.
BATCH = 50
# A stored file no document row points at is left by a process that died between writing the file
# and committing its row (production, a clerk's upload). A file is written and committed within
# seconds (a production lease is minutes), so one a day old without a row is an orphan.
ORPHAN_GRACE = timedelta(days=1)


@dataclass
class PurgeReport:
    anonymised: list[str]
    justifications_purged: list[str]
    files_deleted: int
    dry_run: bool
    drafts_deleted: int = 0
    orphans_deleted: int = 0


def _closed_before(limit: datetime):
    # Only the move into a closed state sets closed_at, and nothing leaves a closed state: the date
    # alone says it, and the queries stay on the purge indexes (models.Order.__table_args__).
    return (Order.closed_at <= limit,)


def purge_personal_data(factory: sessionmaker[Session], settings: DataProtectionSettings, store: FileStore | None,
                        now: datetime | None = None, dry_run: bool = False, limit: int | None = None,
                        drafts: bool = True, orphans: bool = True) -> PurgeReport:
    """Anonymise orders closed more than `personal_data_days` ago (not while their invoice is open); justifications of owner-data
    orders stay until `justification_days` (the audit period) and go then; drafts older than
    `draft_hours` are deleted; with `orphans`, files no document points at (see ORPHAN_GRACE) too.
    Safe to run from several workers at once, and again and again."""
    now = now or utcnow()
    personal_limit = now - timedelta(days=settings.personal_data_days)
    justification_limit = now - timedelta(days=settings.justification_days)
    report = PurgeReport([], [], 0, dry_run)
    if drafts:
        with transaction(factory) as session:
            report.drafts_deleted = delete_expired(session, settings.draft_hours, now, dry_run)
    with factory() as session:
        # One indexed query when nothing is due: that is all the periodic tasks pay most of the time.
        # An unpaid invoice still needs the address it is sent to: its order waits until paid or written off.
        due = (select(Order.id, Order.order_number).outerjoin(Invoice)
               .where(*_closed_before(personal_limit), Order.anonymised_at.is_(None), not_(unsettled())))
        candidates = session.execute(due.order_by(Order.closed_at).limit(limit)).all()  # oldest first
        owner_due = select(Order.id, Order.order_number).where(*_closed_before(justification_limit),
                                                               Order.justification.is_not(None))
        justification_candidates = session.execute(owner_due.order_by(Order.closed_at).limit(limit)).all()
    if orphans and store is not None and settings.delete_files:
        report.orphans_deleted = delete_orphan_files(factory, store, now, dry_run)
    if dry_run:
        if candidates and settings.delete_files and store is not None:
            with factory() as session:
                report.files_deleted = session.scalar(select(func.count()).select_from(Document).where(
                    Document.order_id.in_([order_id for order_id, _ in candidates]))) or 0
        report.anonymised = [number for _, number in candidates]
        report.justifications_purged = [number for _, number in justification_candidates]
        return report
    for order_id, number in candidates:
        files = _anonymise(factory, order_id, now, settings, store)
        if files is not None:
            report.anonymised.append(number)
            report.files_deleted += files
    for order_id, number in justification_candidates:
        if _purge_justification(factory, order_id, now, settings):
            report.justifications_purged.append(number)
    return report


def _claim(session: Session, order_id: int, condition, now: datetime, **values) -> Order | None:
    """The order, if this worker set `values` on it first; a second worker finds the condition false.

    The conditional UPDATE is the lease: PostgreSQL makes a concurrent one wait and re-check the
    condition, SQLite runs one writer at a time (BEGIN IMMEDIATE).
    """
    claimed = session.execute(update(Order).where(Order.id == order_id, condition)
                              .values(version=Order.version + 1, updated_at=now, **values)
                              .execution_options(synchronize_session=False)).rowcount
    return session.get(Order, order_id) if claimed else None


def _anonymise(factory: sessionmaker[Session], order_id: int, now: datetime, settings: DataProtectionSettings,
               store: FileStore | None) -> int | None:
    """Clear one order's personal data and free text and remove its files; None if another worker did it."""
    with transaction(factory) as session:
        order = _claim(session, order_id, Order.anonymised_at.is_(None), now, anonymised_at=now)
        if order is None:
            return None
        for name in PERSONAL_FIELDS + FREE_TEXT_FIELDS:
            setattr(order, name, None)
        for event in order.events:
            # Who did what when stays (the audit log); why, in words someone typed, goes.
            event.reason = None
            if event.details:
                event.details = {k: v for k, v in event.details.items() if k in KEPT_DETAILS}
        for payment in order.payments:
            payment.payment_url = None  # carries the citizen's session at the provider
            payment.problem = None
        if order.invoice is not None:
            order.invoice.write_off_reason = None  # why a clerk wrote it off, in words that may name someone
        session.execute(delete(MailMessage).where(MailMessage.order_id == order.id))
        session.execute(delete(OrderNote).where(OrderNote.order_id == order.id))  # clerks' free text
        files = 0
        if settings.delete_files:
            # Every document the order ever had, the replaced ones (a regenerated extract) too: each
            # stored file gets its row when it is kept, and the row stays when the file is replaced.
            for document in order.documents:
                if store is not None:
                    store.delete(document.storage_name)
                    files += 1
                document.deleted_at = document.deleted_at or now
                document.filename = f"{document.kind}-{document.id}"  # an upload's name may name someone
        # Files go before the commit: should the commit fail, the order is still due and the next
        # run deletes again (deleting a missing file is no error), so no file outlives its order.
        lc.record(order, lc.SYSTEM, "personal_data_purged",
                  details={"retention_days": settings.personal_data_days, "files_deleted": files})
        return files


def _purge_justification(factory: sessionmaker[Session], order_id: int, now: datetime,
                         settings: DataProtectionSettings) -> bool:
    with transaction(factory) as session:
        order = _claim(session, order_id, Order.justification.is_not(None), now, justification=None,
                       justification_purged_at=now)
        if order is None:
            return False
        lc.record(order, lc.SYSTEM, "justification_purged", details={"retention_days": settings.justification_days})
        return True


def delete_orphan_files(factory: sessionmaker[Session], store: FileStore, now: datetime, dry_run: bool = False) -> int:
    """Delete (or count) stored files older than ORPHAN_GRACE that no document row names."""
    cutoff = (now - ORPHAN_GRACE).replace(tzinfo=UTC).timestamp()
    # Listed before the rows are read: a file written after the listing is not looked at.
    old = store.names_older_than(cutoff)
    if not old:
        return 0
    with factory() as session:
        known = set(session.scalars(select(Document.storage_name)))
    orphans = [name for name in old if name not in known]
    if not dry_run:
        for name in orphans:
            store.delete_any(name)
    return len(orphans)
