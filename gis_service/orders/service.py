"""The order service: its parts built over one database, provider, producer and outbox, and the work that is due."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import OrdersSettings
from gis_service.orders.actions import OrderActions
from gis_service.orders.bulk import BulkActions
from gis_service.orders.dataprotection import BATCH, purge_personal_data
from gis_service.orders.confirmation import AddressConfirmation
from gis_service.orders.drafts import DraftStore
from gis_service.orders.feedback import FeedbackBox
from gis_service.orders.fulfilment import ExtractProducer
from gis_service.orders.invoices import InvoiceActions
from gis_service.orders.issuing import ExtractIssuer
from gis_service.orders.late_cancellation import LateCancellation
from gis_service.orders.notes import OrderNotes
from gis_service.orders.notifications import Mailer
from gis_service.orders.office_mail import OfficeMail
from gis_service.orders.outbox import Outbox
from gis_service.orders.payment_reconciler import PaymentReconciler
from gis_service.orders.payments import PaymentProvider
from gis_service.orders.production import AutomaticProduction
from gis_service.orders.products import Catalogue
from gis_service.orders.queries import StaffQueries
from gis_service.orders.refunds import Refunds
from gis_service.orders.seal import Sealer
from gis_service.orders.repository import OrderRepository
from gis_service.orders.staff_outbox import StaffOutbox
from gis_service.orders.storage import FileStore
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.urls import Urls
from gis_service.orders.views import OrderViews

log = logging.getLogger(__name__)

ORPHAN_CHECK_SECONDS = 6 * 3600


class OrderService:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, catalogue: Catalogue,
                 provider: PaymentProvider, producer: ExtractProducer, store: FileStore, mailer: Mailer, urls: Urls,
                 secret: str, sealer: Sealer | None = None, feedback_recipient: str | None = None):
        self.catalogue = catalogue
        self._factory = factory
        self._settings = settings
        self._store = store
        self._orphans_checked: float | None = None
        self.wake: Callable[[], None] = lambda: None  # set by the worker
        self._run_lock = threading.Lock()
        self.tokens = OrderTokens(secret)
        self.repository = OrderRepository(factory, self.tokens)
        self.outbox = Outbox(factory=factory, settings=settings, mailer=mailer, urls=urls, tokens=self.tokens)
        self.refunds = Refunds(factory=factory, repository=self.repository, provider=provider)
        self.issuer = ExtractIssuer(producer, store, urls.base, sealer)
        self.actions = OrderActions(factory=factory, settings=settings, repository=self.repository, tokens=self.tokens,
                                    outbox=self.outbox, refunds=self.refunds, issuer=self.issuer,
                                    store=store, wake=self._wake_worker)
        self.confirmation = AddressConfirmation(factory=factory, settings=settings, repository=self.repository,
                                                tokens=self.tokens, actions=self.actions)
        self.production = AutomaticProduction(factory=factory, settings=settings, repository=self.repository,
                                              outbox=self.outbox, issuer=self.issuer,
                                              store=store, wake=self._wake_worker)
        self.payments = PaymentReconciler(factory=factory, settings=settings, repository=self.repository,
                                          tokens=self.tokens, urls=urls, outbox=self.outbox, refunds=self.refunds,
                                          actions=self.actions, provider=provider, wake=self._wake_worker)
        self.late_cancellation = LateCancellation(repository=self.repository, outbox=self.outbox, refunds=self.refunds,
                                                  store=store, wake=self._wake_worker)
        # Booking days are the clerks' calendar days, not UTC's.
        self.invoices = InvoiceActions(self.repository,
                                       lambda: datetime.now(ZoneInfo(settings.staff.timezone)).date())
        self.drafts = DraftStore(factory, settings.data_protection.draft_hours)
        self.queries = StaffQueries(factory)
        self.views = OrderViews(self.tokens, urls)
        self.notes = OrderNotes(factory)
        self.bulk = BulkActions(factory, self.actions)
        self.office = OfficeMail(factory=factory, settings=settings, urls=urls)
        self.staff_outbox = StaffOutbox(factory)
        # Accessibility feedback goes to its contact (accessibility.contact.email), else to the office.
        self.feedback = FeedbackBox(factory, feedback_recipient or settings.office.email, urls,
                                    settings.data_protection.personal_data_days, wake=self._wake_worker)

    def _purge_personal_data(self) -> int:
        # Looking for orphaned files lists the whole file folder: a few times a day is enough.
        now = time.monotonic()
        orphans = self._orphans_checked is None or now - self._orphans_checked >= ORPHAN_CHECK_SECONDS
        report = purge_personal_data(self._factory, self._settings.data_protection, self._store, limit=BATCH,
                                     drafts=False, orphans=orphans)  # the drafts step has just done them
        if orphans:
            self._orphans_checked = now
        return len(report.anonymised) + len(report.justifications_purged) + report.orphans_deleted

    def _wake_worker(self) -> None:
        # The parts exist before the worker that sets `wake`, so they call it through here.
        self.wake()

    def run_due(self, startup: bool = False) -> dict[str, int]:
        """Everything that is due; each part on its own, so one failing does not stop the others."""
        results: dict[str, int] = {}
        with self._run_lock:
            steps = [
                ("reconciled", lambda: self.payments.reconcile_payments(0 if startup else None)),
                ("produced", self.production.resume),
                ("refunded", self.refunds.process),
                ("abandoned", self.payments.abandon_unpaid),
                # Before the mail round, so a single office mail goes out in the round that found its cause.
                ("office_notified", self.office.run),
                # Before the mail: an order expiring now sends nothing (and never reached the staff queue).
                ("unconfirmed_expired", self.confirmation.expire_unconfirmed),
                ("mailed", self.outbox.send_pending),
                # Drafts hold personal data for a day at most; the daily purge command alone would be too late.
                ("drafts_purged", self.drafts.purge_expired),
                # Closed orders past their retention period; cron may run the CLI command as well.
                ("personal_data_purged", self._purge_personal_data),
                ("feedback_purged", self.feedback.purge_answered),
            ]
            for name, step in steps:
                try:
                    results[name] = step()
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    log.exception("order task %s failed", name)
                    results[name] = -1
        return results
