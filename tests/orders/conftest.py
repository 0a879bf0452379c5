"""Fixtures of the order tests: real SQLite/PostgreSQL, SMTP (aiosmtpd), the payment simulator process, live apps."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests
import sqlalchemy as sa
from order_support import (
    PG_ADMIN_URLS,
    PYTHON,
    REPO,
    SIM_ORIGINATOR,
    SIM_SECRET,
    Mailbox,
    Postgres,
    Simulator,
    free_port,
    make_live,
    subprocess_env,
    wait_until,
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
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    yield mailbox
    controller.stop()


@pytest.fixture(scope="session")
def simulator():
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "gis_service.cli", "payment-simulator", "--port", str(port), "--originator", SIM_ORIGINATOR,
         "--secret", SIM_SECRET, "--test-controls"],
        cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            pytest.fail("payment simulator exited")
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, 20, 0.1, "payment simulator")
    sim = Simulator(base, process)
    sim.reset()
    yield sim
    process.terminate()
    process.wait(10)


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
