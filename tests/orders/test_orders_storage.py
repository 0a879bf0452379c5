"""Storage on SQLite and PostgreSQL: migrations, valid transitions only, audit log, idempotency, two clerks at once."""

from __future__ import annotations

import secrets
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from order_support import PARCEL, database_url, unique_email
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from gis_service.orders import db
from gis_service.orders import lifecycle as lc
from gis_service.orders.errors import ConflictError, IdempotencyMismatch, InvalidTransition
from gis_service.orders.models import Base, Order
from gis_service.orders.validation import request_hash


def draft(quiet, **values):
    data = {"parcel": PARCEL, "product": "karte-amt", "paper": "A3", "scale": "1000", "payment_method": "invoice",
            "delivery": "post", "name": "Clara Clerk", "email": unique_email(), "street": "Am Markt 2",
            "postcode": "59999", "city": "Lindenhagen", **values}
    return quiet.orders.validator.full(data), data


def new_order(quiet, **values) -> Order:
    d, data = draft(quiet, **values)
    # An invoice order whose address counts as confirmed (test_orders_abuse.py covers the confirmation).
    return quiet.service.actions.create(d, idempotency_key=f"test:{secrets.token_hex(8)}",
                                        request_hash=request_hash(data), actor="test", address_proven=True).order


def test_migrations_match_the_models(backend, postgres, tmp_path):
    engine = db.make_engine(database_url(backend, postgres, tmp_path))
    db.upgrade(engine)
    db.upgrade(engine)  # a second start finds nothing to do
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def _start_worker(url: str) -> None:
    db.upgrade(db.make_engine(url))


def test_several_workers_migrate_one_new_sqlite_file_at_once(tmp_path):
    # gunicorn starts its workers together, and each migrates at start (deploy/gunicorn.conf.py)
    import multiprocessing

    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'orders-{attempt}.sqlite3'}"
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_start_worker, args=(url,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert db.current_revision(db.make_engine(url)) == db.head_revision()


def test_valid_transitions_only_with_audit(quiet):
    order = new_order(quiet)
    assert order.status == lc.SUBMITTED and order.handling == "staff"
    service = quiet.service
    with pytest.raises(ConflictError):
        service.actions.take(order.order_number, "staff:anna", order.version + 5)
    order = service.actions.take(order.order_number, "staff:anna", order.version)
    assert order.status == lc.IN_PROGRESS and order.assigned_to == "anna"
    done = service.actions.complete(order.order_number, "staff:anna", order.version, "per Post versandt")
    assert done.status == lc.COMPLETED and done.closed_at is not None
    with pytest.raises(InvalidTransition):
        service.actions.reject(done.order_number, "staff:anna", done.version, "zu spät bemerkt")
    history = [(e.actor, e.action, e.from_status, e.to_status) for e in service.repository.get(done.order_number).events
               if e.to_status]
    assert history == [("test", "created", None, "submitted"),
                       ("staff:anna", "taken", "submitted", "in_progress"),
                       ("staff:anna", "completed", "in_progress", "completed")]
    assert all(e.at is not None for e in service.repository.get(done.order_number).events)


def test_transition_table_refuses_shortcuts():
    order = Order(status=lc.SUBMITTED, payment_method="online")
    assert not lc.can_transition(order, lc.PAID)
    assert not lc.can_transition(order, lc.IN_PROGRESS)  # unpaid online orders are not worked on
    assert not lc.can_transition(order, lc.COMPLETED)
    for closed in lc.CLOSED:
        assert lc.TRANSITIONS[closed] == frozenset()


def test_stale_version_is_detected_by_the_database(quiet):
    """Two sessions read version n; the second write fails although its own check passed."""
    order = new_order(quiet)
    factory = quiet.orders.factory
    with factory() as first_session:
        first = first_session.scalar(select(Order).where(Order.id == order.id))
        first_session.commit()  # ends the read transaction, keeps the object (version n)
        with db.transaction(factory) as other:
            winner = other.scalar(select(Order).where(Order.id == order.id))
            lc.transition(winner, lc.IN_PROGRESS, "staff:anna")
        with pytest.raises(StaleDataError):
            lc.transition(first, lc.REJECTED, "staff:ben", reason="zu spät")
            first_session.commit()
    assert quiet.service.repository.get(order.order_number).status == lc.IN_PROGRESS


def test_two_clerks_at_once_one_wins(quiet):
    order = new_order(quiet)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def clerk(name: str, action):
        barrier.wait()
        try:
            action(name)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    service, number, version = quiet.service, order.order_number, order.version
    threads = [
        threading.Thread(target=clerk, args=("anna", lambda n: service.actions.take(number, f"staff:{n}", version))),
        threading.Thread(target=clerk, args=("ben", lambda n: service.actions.reject(number, f"staff:{n}", version,
                                                                                "Kein Bedarf mehr"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    final = service.repository.get(number)
    changes = [e for e in final.events if e.to_status and e.actor.startswith("staff:")]
    assert len(changes) == 1 and final.version == version + 1


def test_same_idempotency_key_concurrently_gives_one_order(quiet):
    d, data = draft(quiet)
    key = f"test:{secrets.token_hex(8)}"
    results, errors = [], []
    barrier = threading.Barrier(4)

    def submit():
        barrier.wait()
        try:
            results.append(quiet.service.actions.create(d, idempotency_key=key, request_hash=request_hash(data),
                                                        actor="test"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len({r.order.order_number for r in results}) == 1
    assert sum(r.created for r in results) == 1
    with quiet.orders.factory() as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.idempotency_key == key)) == 1
    with pytest.raises(IdempotencyMismatch):
        quiet.service.actions.create(d, idempotency_key=key, request_hash="0" * 64, actor="test")


def test_unknown_order_numbers_are_not_found(quiet):
    for number in ("LK-2026-AAAAAA", "../../etc/passwd", "x" * 500, "LK-2026-ÄÄÄÄÄÄ", ""):
        assert quiet.service.repository.find(number) is None
