"""Fixtures of the order tests: real SQLite/PostgreSQL, SMTP (aiosmtpd), the payment simulator process, live apps."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from order_support import (
    PG_ADMIN_URLS,
    Postgres,
    make_live,
    payment_simulator,
    smtp_server,
)


@pytest.fixture(scope="session")
def postgres():
    reason = "no URL tried"
    for url in filter(None, PG_ADMIN_URLS):
        if url.startswith("postgresql://"):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # noqa: BLE001
            reason = f"{url}: {exc.__class__.__name__}"
            continue
        pg = Postgres(url)
        yield pg
        pg.drop_all()
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but not reachable ({reason})")
    yield Postgres(None, reason)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def smtp():
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture(scope="session")
def simulator():
    with payment_simulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _reset_simulator(request):
    yield
    if "simulator" in request.fixturenames:
        request.getfixturevalue("simulator").reset()


def _live(request, name: str, **extra):
    postgres = request.getfixturevalue("postgres")
    backend = name.rsplit("_", 1)[1]
    if backend == "postgresql" and postgres.admin_url is None:
        pytest.skip(f"PostgreSQL not reachable: {postgres.reason}")
    live = make_live(backend, postgres, request.getfixturevalue("tmp_path_factory"),
                     request.getfixturevalue("simulator"), request.getfixturevalue("smtp"), **extra)
    request.addfinalizer(live.stop)
    return live


@pytest.fixture(scope="session")
def live_sqlite(request):
    return _live(request, "live_sqlite")


@pytest.fixture(scope="session")
def live_postgresql(request):
    return _live(request, "live_postgresql")


@pytest.fixture
def live(request, backend):
    """A live app (real HTTP server, worker on) on the parametrised database."""
    return request.getfixturevalue(f"live_{backend}")


@pytest.fixture(scope="session")
def quiet_sqlite(request):
    return _live(request, "quiet_sqlite", worker=False)


@pytest.fixture(scope="session")
def quiet_postgresql(request):
    return _live(request, "quiet_postgresql", worker=False)


@pytest.fixture
def quiet(request, backend):
    """A live app with the background worker off: the test decides when due work runs."""
    return request.getfixturevalue(f"quiet_{backend}")
