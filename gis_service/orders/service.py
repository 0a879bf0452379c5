"""The order service: its parts built over one database, provider, producer and outbox, and the work that is due."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import OrdersSettings
from gis_service.orders.actions import OrderActions
from gis_service.orders.confirmation import AddressConfirmation
from gis_service.orders.drafts import DraftStore
from gis_service.orders.fulfilment import ExtractProducer
from gis_service.orders.notifications import Mailer
from gis_service.orders.outbox import Outbox
from gis_service.orders.payment_reconciler import PaymentReconciler
from gis_service.orders.payments import PaymentProvider
from gis_service.orders.production import AutomaticProduction
from gis_service.orders.products import Catalogue
from gis_service.orders.queries import StaffQueries
from gis_service.orders.refunds import Refunds
from gis_service.orders.repository import OrderRepository
from gis_service.orders.storage import FileStore
from gis_service.orders.tokens import OrderTokens
from gis_service.orders.urls import Urls
from gis_service.orders.views import OrderViews

log = logging.getLogger(__name__)


class OrderService:
    def __init__(self, *, factory: sessionmaker[Session], settings: OrdersSettings, catalogue: Catalogue,
                 provider: PaymentProvider, producer: ExtractProducer, store: FileStore, mailer: Mailer, urls: Urls,
                 secret: str):
        self.catalogue = catalogue
        self.wake: Callable[[], None] = lambda: None  # set by the worker
        self._run_lock = threading.Lock()
        self.tokens = OrderTokens(secret)
        self.repository = OrderRepository(factory, self.tokens)
        self.outbox = Outbox(factory=factory, settings=settings, mailer=mailer, urls=urls, tokens=self.tokens)
        self.refunds = Refunds(factory=factory, repository=self.repository, provider=provider)
        self.actions = OrderActions(factory=factory, settings=settings, repository=self.repository, tokens=self.tokens,
                                    outbox=self.outbox, refunds=self.refunds, producer=producer, store=store,
                                    wake=self._wake_worker)
        self.confirmation = AddressConfirmation(factory=factory, settings=settings, repository=self.repository,
                                                tokens=self.tokens, actions=self.actions)
        self.production = AutomaticProduction(factory=factory, settings=settings, repository=self.repository,
                                              outbox=self.outbox, producer=producer, store=store,
                                              wake=self._wake_worker)
        self.payments = PaymentReconciler(factory=factory, settings=settings, repository=self.repository,
                                          tokens=self.tokens, urls=urls, outbox=self.outbox, refunds=self.refunds,
                                          actions=self.actions, provider=provider, wake=self._wake_worker)
        self.drafts = DraftStore(factory, settings.data_protection.draft_hours)
        self.queries = StaffQueries(factory)
        self.views = OrderViews(self.tokens, urls)

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
                # Before the mail: an order expiring now sends nothing (and never reached the staff queue).
                ("unconfirmed_expired", self.confirmation.expire_unconfirmed),
                ("mailed", self.outbox.send_pending),
                # Drafts hold personal data for a day at most; the daily purge command alone would be too late.
                ("drafts_purged", self.drafts.purge_expired),
            ]
            for name, step in steps:
                try:
                    results[name] = step()
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    log.exception("order task %s failed", name)
                    results[name] = -1
        return results
