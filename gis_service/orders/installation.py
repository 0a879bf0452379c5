"""The order services of one installation, as gis_service.wiring builds them: database, catalogue, validator, service, accounts, files."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import Settings
from gis_service.orders.accounts import Accounts
from gis_service.orders.products import Catalogue
from gis_service.orders.service import OrderService
from gis_service.orders.storage import FileStore
from gis_service.orders.urls import Urls
from gis_service.orders.validation import OrderValidator
from gis_service.orders.worker import OrderWorker


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

    def readiness_problem(self) -> str | None:
        """Why orders cannot be taken now (the database does not answer), or None."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"order database does not answer: {type(exc.orig or exc).__name__}"
        return None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()
