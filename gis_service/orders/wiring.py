"""Builds the order services from the settings: database (migrated), payment client, producer, mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import Settings
from gis_service.orders import db
from gis_service.orders.accounts import Accounts
from gis_service.orders.fulfilment import ExtractProducer
from gis_service.orders.notifications import Mailer
from gis_service.orders.payments import XBezahldiensteClient
from gis_service.orders.products import Catalogue
from gis_service.orders.service import OrderService
from gis_service.orders.storage import FileStore
from gis_service.orders.urls import Urls
from gis_service.orders.validation import OrderValidator
from gis_service.orders.worker import OrderWorker
from gis_service.page_pipeline import PagePipeline

log = logging.getLogger(__name__)


@dataclass
class Orders:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    catalogue: Catalogue
    validator: OrderValidator | None
    service: OrderService | None
    accounts: Accounts
    store: FileStore
    urls: Urls
    worker: OrderWorker | None = None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()


def public_base_url(settings: Settings) -> str:
    configured = settings.orders.public_base_url
    if configured:
        return configured.rstrip("/")
    host = settings.server.host
    host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "") else host
    return f"http://{host}:{settings.server.port}"


def build_orders(settings: Settings, instance_path: str | Path, secret: str, pipeline: PagePipeline | None = None,
                 migrate: bool = True) -> Orders:
    """Everything the order process needs; without a page pipeline (commands that need no maps) only
    the database, accounts and files."""
    o = settings.orders
    host = o.payment.base_url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if o.payment.secret == "demo-secret-change-me" and host not in ("127.0.0.1", "localhost", "[::1]"):
        log.warning("orders.payment.secret is the demo secret but the payment service is %s: set a real secret", host)
    url = db.database_url(o.database_url, instance_path)
    engine = db.make_engine(url)
    if migrate:
        db.upgrade(engine)
    factory = db.session_factory(engine)
    files_dir = o.files_dir or Path(instance_path) / "order-files"
    if not Path(files_dir).is_absolute():
        files_dir = Path(instance_path) / files_dir
    store = FileStore(files_dir)
    catalogue = Catalogue(o.products, o.currency)
    urls = Urls(public_base_url(settings))
    validator = service = None
    if pipeline is not None:
        validator = OrderValidator(catalogue, pipeline.parcels, o.rules, pipeline.choices, o.extract.dpi)
        service = OrderService(
            factory=factory, settings=o, catalogue=catalogue, provider=XBezahldiensteClient(o.payment),
            producer=ExtractProducer(pipeline, o.office, o.extract), store=store, mailer=Mailer(o.smtp),
            urls=urls, secret=secret)
    return Orders(settings=settings, engine=engine, factory=factory, catalogue=catalogue, validator=validator,
                  service=service, accounts=Accounts(factory, o.staff), store=store, urls=urls)


def redacted_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
