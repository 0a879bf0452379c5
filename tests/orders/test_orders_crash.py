"""Crash durability: the real server (`gis-service serve`) is killed with SIGKILL between the steps of an order."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
import yaml
from order_support import (
    PYTHON,
    REPO,
    api_order,
    database_url,
    free_port,
    order_body,
    order_settings,
    subprocess_env,
    token_of,
    unique_email,
    wait_until,
)

from gis_service.orders.db import utcnow


class Server:
    """`gis-service serve` in its own process; kill() is kill -9."""

    def __init__(self, config_path, port: int, log_path):
        self.config_path, self.port, self.log_path = config_path, port, log_path
        self.process: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gis_service.cli", "serve", "--config", str(self.config_path), "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=REPO, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)

        def up():
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                return requests.get(self.url("/healthz"), timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 60, 0.1, "gis-service serve")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()


@pytest.fixture
def server(backend, postgres, tmp_path, simulator, smtp):
    if backend == "postgresql" and postgres.admin_url is None:
        pytest.skip(f"PostgreSQL not reachable: {postgres.reason}")
    port = free_port()
    db_url = database_url(backend, postgres, tmp_path)
    config = order_settings(instance=tmp_path / "instance", db_url=db_url, port=port, simulator=simulator, smtp=smtp)
    config["orders"]["worker"] = {"enabled": True, "interval_seconds": 0.5, "lease_seconds": 2}
    path = tmp_path / "gis-service.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    srv = Server(path, port, tmp_path / "server.log")
    srv.db_url = db_url
    srv.start()
    yield srv
    srv.stop()


def state(server: Server, number: str, token: str) -> dict:
    response = requests.get(server.url(f"/api/v1/orders/{number}"), params={"token": token}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_order_survives_kill_between_every_step(server, simulator, smtp):
    simulator.config(notify_retry_delays=[0.5, 1, 1, 2, 2, 4])
    email = unique_email()
    created = api_order(server, order_body(contact={"name": "Kim Kill", "email": email}))
    assert created.status_code == 201  # "order received" is shown now
    number, token = created.json()["order_number"], token_of(created.json()["status_url"])

    server.kill()  # 1. right after the order was received
    server.start()
    assert state(server, number, token)["status"] == "submitted"

    start = requests.get(server.url(f"/embed/order/{number}/pay"), params={"t": token}, allow_redirects=False, timeout=30)
    assert start.status_code == 303
    server.kill()  # 2. after the payment was started
    server.start()
    assert state(server, number, token)["status"] == "awaiting_payment"

    server.kill()  # 3. the citizen pays while the server is down; the notification cannot be delivered
    back = simulator.pay(start.headers["Location"])
    assert back.startswith(server.base_url)
    server.start()  # on start the server asks the provider and fulfils the order
    final = wait_until(lambda: (s := state(server, number, token))["status"] == "completed" and s, 60, 0.2,
                       "completed after restart")
    assert final["payment"]["status"] == "PAYED"
    mail = smtp.wait_for(email, "ist fertig", timeout=30)
    assert number in mail["Subject"]

    # the browser finally comes back: nothing happens twice
    assert requests.get(back, timeout=30).status_code == 200
    server.kill()  # 4. after completion
    server.start()
    final = state(server, number, token)
    assert final["status"] == "completed"
    pdf = requests.get(final["documents"][0]["url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    engine = sa.create_engine(server.db_url)
    with engine.connect() as conn:
        paid = conn.execute(sa.text(
            "SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id "
            "WHERE o.order_number = :n AND e.to_status = 'paid'"), {"n": number}).scalar()
        mails = conn.execute(sa.text(
            "SELECT count(*) FROM mail_outbox m JOIN orders o ON o.id = m.order_id WHERE o.order_number = :n"),
            {"n": number}).scalar()
    engine.dispose()
    assert paid == 1 and mails == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_production_interrupted_by_a_crash_is_resumed(server, simulator, smtp):
    simulator.config(notify_mode="none")
    created = api_order(server).json()
    number, token = created["order_number"], token_of(created["status_url"])
    start = requests.get(server.url(f"/embed/order/{number}/pay"), params={"t": token}, allow_redirects=False, timeout=30)
    server.kill()
    simulator.pay(start.headers["Location"])
    # What a process killed in the middle of producing leaves behind: paid, claimed, no document.
    engine = sa.create_engine(server.db_url)
    with engine.begin() as conn:
        order_id = conn.execute(sa.text("SELECT id FROM orders WHERE order_number = :n"), {"n": number}).scalar()
        conn.execute(sa.text("UPDATE payments SET status = 'PAYED', paid_at = :t WHERE order_id = :o"),
                     {"t": utcnow().isoformat(" "), "o": order_id})
        conn.execute(sa.text("UPDATE orders SET status = 'in_progress', lease_until = :l, version = version + 1 "
                             "WHERE id = :o"), {"l": (utcnow() + timedelta(seconds=1)).isoformat(" "), "o": order_id})
    engine.dispose()
    server.start()
    final = wait_until(lambda: (s := state(server, number, token))["status"] == "completed" and s, 60, 0.2,
                       "resumed production")
    assert len(final["documents"]) == 1
