"""Migration 0009 on SQLite and PostgreSQL: up, a record with its unique code, down and up again."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from order_support import database_url
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from gis_service.orders import db
from gis_service.orders.models import Document, ExtractVerification, Order


def _order(now) -> Order:
    return Order(order_number="LK-2026-MIGR09", token_salt="s", status="completed", version=1, created_at=now,
                 updated_at=now, lang="de", created_by="test", product_id="karte-online", product_name="Karte",
                 kind="map", handling="automatic", parcel_key="05987100100090______",
                 parcel_label="Gemarkung Lindenhagen, Flur 1, Flurstück 90", paper="A4", orientation="portrait",
                 scale=1000, copies=1, delivery="download", certified=False, payment_method="online",
                 amount_cents=1500, currency="EUR", fee_breakdown=[], partial_parcel=False)


def test_migration_0009_up_down_up(backend, postgres, tmp_path):
    if backend == "postgresql" and postgres.admin_url is None:
        pytest.skip(f"PostgreSQL not reachable: {postgres.reason}")
    engine = db.make_engine(database_url(backend, postgres, tmp_path))
    db.upgrade(engine, "0008")
    assert "extract_verifications" not in inspect(engine).get_table_names()
    db.upgrade(engine, "0009")
    assert db.current_revision(engine) == "0009"
    now = db.utcnow()
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        order = _order(now)
        session.add(order)
        session.flush()
        document = Document(kind="extract", filename="a.pdf", content_type="application/pdf", storage_name="x",
                            size=1, sha256="0" * 64, created_at=now, created_by="t")
        order.documents.append(document)
        session.flush()
        document.verification = ExtractVerification(
            code="ABCDEFGHJKMNPQR", order_id=order.id, sha256="0" * 64, size=1, sealed=False, issued_at=now,
            issued_on=date.today(), product_id="karte-online", product_name="Karte", parcel_key=order.parcel_key,
            parcel_label=order.parcel_label, scale=1000, paper="A4", orientation="portrait", data_currency=None,
            office="Amt")
    # one code, one extract: the database refuses a second row with the same code
    with pytest.raises(IntegrityError), db.transaction(factory) as session:
        session.add(ExtractVerification(
            code="ABCDEFGHJKMNPQR", order_id=order.id, document_id=document.id + 1000, sha256="1" * 64, size=1,
            sealed=False, issued_at=now, issued_on=date.today(), product_id="p", product_name="p", parcel_key="k",
            parcel_label="l", scale=1, paper="A4", orientation="portrait", office="o"))
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0008")
    assert "extract_verifications" not in inspect(engine).get_table_names()
    db.upgrade(engine)
    assert "extract_verifications" in inspect(engine).get_table_names()
    engine.dispose()
