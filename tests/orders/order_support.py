"""Real parts for the order tests: PostgreSQL databases, an SMTP mailbox, the payment simulator, live apps, helpers."""

from __future__ import annotations

import email
from contextlib import contextmanager
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from gis_testing import GENEROUS_RATE_LIMITS

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SIM_ORIGINATOR = "gis-service-test"
SIM_SECRET = "test-secret-" + "x" * 20
PARCEL = "05987100100090______"  # Mühlenweg 12a in the demo Gemarkung Lindenhagen
PG_ADMIN_URLS = [os.environ.get("DATABASE_URL_TEST") or "", "postgresql+psycopg://postgres@127.0.0.1:5432/test",
                 "postgresql+psycopg://root@127.0.0.1:5432/test"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("GIS_SERVICE_CONFIG", None)
    env.pop("DATABASE_URL", None)
    return env


# --- PostgreSQL -------------------------------------------------------------------------------------
@dataclass
class Postgres:
    admin_url: str | None
    reason: str = ""
    created: list[str] = field(default_factory=list)

    def new_database(self) -> str:
        """A fresh database for one app, so runs and tests never see each other's rows."""
        if self.admin_url is None:
            pytest.skip(f"PostgreSQL not reachable: {self.reason}")
        import sqlalchemy as sa

        name = f"gis_orders_{os.getpid()}_{secrets.token_hex(4)}"
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.created.append(name)
        return str(sa.engine.make_url(self.admin_url).set(database=name).render_as_string(hide_password=False))

    def drop_all(self) -> None:
        if self.admin_url is None:
            return
        import sqlalchemy as sa

        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def database_url(backend: str, postgres: Postgres, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'orders-{secrets.token_hex(3)}.sqlite3'}"
    return postgres.new_database()


# --- SMTP -------------------------------------------------------------------------------------------
class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject_part: str, timeout: float = 20.0):
        def found():
            return next((m for m in self.to(address) if subject_part in m["Subject"]), None)
        return wait_until(found, timeout, message=f"mail to {address} about {subject_part!r}")

    @staticmethod
    def body(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


# --- payment simulator ------------------------------------------------------------------------------
class Simulator:
    def __init__(self, base_url: str, process: subprocess.Popen):
        self.base_url = base_url
        self.process = process

    def config(self, **values) -> dict:
        return requests.post(f"{self.base_url}/_test/config", json=values, timeout=5).json()

    def reset(self) -> None:
        self.config(notify_mode="async", notify_delay=0, notify_duplicates=1, notify_retry_delays=[0.2, 0.5, 1, 2, 4])

    def transactions(self) -> list[dict]:
        return requests.get(f"{self.base_url}/_test/transactions", timeout=5).json()

    def transaction(self, transaction_id: str) -> dict:
        return next(t for t in self.transactions() if t["transactionId"] == transaction_id)

    def for_reference(self, order_number: str) -> list[dict]:
        return [t for t in self.transactions() if t["reference"] == order_number]

    def change(self, transaction_id: str, **values) -> dict:
        return requests.post(f"{self.base_url}/_test/transactions/{transaction_id}", json=values, timeout=5).json()

    def notify(self, transaction_id: str) -> int | None:
        return requests.post(f"{self.base_url}/_test/transactions/{transaction_id}/notify", timeout=15).json()["http_status"]

    def pay(self, payment_page_url: str, action: str = "success") -> str:
        """Press a button on the payment page; returns where the citizen's browser is sent back to."""
        page = requests.get(payment_page_url, timeout=5)
        assert page.status_code == 200 and 'value="success"' in page.text
        response = requests.post(payment_page_url, data={"action": action}, allow_redirects=False, timeout=30)
        assert response.status_code == 303, response.text
        return response.headers["Location"]


# --- settings and apps ------------------------------------------------------------------------------
def order_settings(*, instance: Path, db_url: str, port: int, simulator: Simulator | None, smtp: Mailbox | None,
                   worker: bool = True, **extra_orders) -> dict:
    orders = {
        "database_url": db_url,
        "public_base_url": f"http://127.0.0.1:{port}",
        "payment": {"base_url": simulator.base_url if simulator else "http://127.0.0.1:9", "originator_id": SIM_ORIGINATOR,
                    "secret": SIM_SECRET, "timeout_seconds": 10, "target": "_self"},
        "smtp": {"host": "127.0.0.1", "port": smtp.port if smtp else 9, "enabled": smtp is not None},
        "worker": {"enabled": worker, "interval_seconds": 0.5, "lease_seconds": 2},
        "api_keys": [{"name": "formserver", "key": "formserver-key-0123456789"}],
        "rules": {"staff_only_parcels": ["059871004"]},  # Flur 4 stands for a Flurbereinigung area
    }
    for key, value in extra_orders.items():
        if isinstance(value, dict) and isinstance(orders.get(key), dict):
            orders[key] = {**orders[key], **value}
        else:
            orders[key] = value
    return {"instance_path": str(instance), "secret_key": "test-secret-key-for-orders-0123456789", "orders": orders,
            "server": {"port": port}, "limits": {"rate": GENEROUS_RATE_LIMITS}}


@dataclass
class LiveApp:
    app: object
    base_url: str
    server: object
    thread: threading.Thread

    @property
    def orders(self):
        return self.app.extensions["gis_orders"]

    @property
    def service(self):
        return self.orders.service

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self):
        self.server.shutdown()
        self.thread.join(10)
        self.orders.close()


def start_live_app(settings_dict: dict, port: int) -> LiveApp:
    from werkzeug.serving import make_server

    from gis_service.app import create_app
    from gis_service.config import load_settings

    app = create_app(load_settings(None, overrides=settings_dict))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return LiveApp(app, f"http://127.0.0.1:{port}", server, thread)


def make_live(backend: str, postgres: Postgres, tmp_path_factory, simulator, smtp, **extra) -> LiveApp:
    instance = tmp_path_factory.mktemp(f"live-{backend}")
    port = free_port()
    url = database_url(backend, postgres, instance)
    return start_live_app(order_settings(instance=instance, db_url=url, port=port, simulator=simulator, smtp=smtp,
                                         **extra), port)


# --- helpers used by several test modules -----------------------------------------------------------
def unique_email(tag: str = "buerger") -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.org"


def order_body(**overrides) -> dict:
    body = {"parcel": PARCEL, "product": "karte-online", "paper": "A4", "orientation": "portrait", "scale": 1000,
            "contact": {"name": "Erika Mustermann", "email": unique_email()}}
    body.update(overrides)
    return body


_DEFAULT = object()


def api_order(live: LiveApp, body=_DEFAULT, key: str | None = None, **headers) -> requests.Response:
    return requests.post(live.url("/api/v1/orders"), json=order_body() if body is _DEFAULT else body,
                         headers={"Idempotency-Key": key or secrets.token_hex(12), **headers}, timeout=30)


def confirmed_order(live: LiveApp, body: dict, **headers) -> requests.Response:
    """An order through the API; one paid by invoice then has its e-mail address confirmed, as its orderer would."""
    response = api_order(live, body, **headers)
    if response.status_code == 201 and body.get("payment_method") == "invoice":
        confirm_address(live, response.json()["order_number"])
    return response


def confirm_address(live: LiveApp, number: str) -> None:
    """Follow the confirmation link of an invoice order as its mail gives it (page, then its POST)."""
    order = live.service.repository.get(number)
    link = live.orders.urls.confirm(number, live.service.tokens.for_confirmation(order))
    page = requests.get(link, timeout=30)
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    response = requests.post(live.url(f"/embed/order/{number}/confirm"), data=fields, allow_redirects=False, timeout=30)
    assert response.status_code == 303, response.text


def token_of(status_url: str) -> str:
    return parse_qs(urlsplit(status_url).query)["t"][0]


def order_state(live: LiveApp, number: str, token: str) -> dict:
    response = requests.get(live.url(f"/api/v1/orders/{number}"), params={"token": token}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(live: LiveApp, number: str, token: str, status: str, timeout: float = 30.0) -> dict:
    return wait_until(lambda: (s := order_state(live, number, token))["status"] == status and s, timeout,
                      0.1, f"order {number} to be {status}")


def hidden_fields(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2).replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'")
            for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def pay_order(live: LiveApp, simulator: Simulator, number: str, token: str, action: str = "success",
              follow_return: bool = True) -> requests.Response | str:
    """Citizen presses 'pay', pays in the simulator and (optionally) comes back."""
    start = requests.get(live.url(f"/embed/order/{number}/pay"), params={"t": token}, allow_redirects=False, timeout=30)
    assert start.status_code == 303, start.text
    back = simulator.pay(start.headers["Location"], action)
    if not follow_return:
        return back
    return requests.get(back, allow_redirects=False, timeout=60)


def absolute(live: LiveApp, location: str) -> str:
    return live.url(location) if location.startswith("/") else location


DRAFT_PAGE = re.compile(r"/embed/order/d/([A-Za-z0-9_-]{32})/(contact|summary)")


def walk_to_summary(live: LiveApp, session: requests.Session, email: str, *, product: str = "karte-online",
                    parcel: str = PARCEL, lang: str = "de", contact: dict | None = None,
                    **options) -> tuple[str, requests.Response]:
    """The citizen pages as a browser without JavaScript walks them, each POST answered by 303 and a GET;
    returns the draft id and the summary page."""
    opts = {"parcel": parcel, "product": product, "scale": "1000", "paper": "A4", "orientation": "portrait",
            "lang": lang, **options}
    page = session.get(live.url("/embed/order/options"), params=opts, timeout=10)
    assert page.status_code == 200, page.text
    started = session.post(live.url("/embed/order/contact"), data=opts, allow_redirects=False, timeout=10)
    assert started.status_code == 303, started.text
    found = DRAFT_PAGE.search(started.headers["Location"])
    assert found and found.group(2) == "contact", started.headers["Location"]
    draft_id = found.group(1)
    page = session.get(absolute(live, started.headers["Location"]), timeout=10)
    assert page.status_code == 200 and 'id="field-email"' in page.text
    fields = {"name": "Erika Mustermann", "email": email, **(contact or {}), "lang": lang}
    saved = session.post(live.url(f"/embed/order/d/{draft_id}/contact"), data=fields, allow_redirects=False, timeout=10)
    assert saved.status_code == 303 and DRAFT_PAGE.search(saved.headers["Location"]).group(2) == "summary", \
        saved.headers["Location"]
    summary = session.get(absolute(live, saved.headers["Location"]), timeout=30)
    assert summary.status_code == 200, summary.text
    return draft_id, summary


def submit_summary(live: LiveApp, session: requests.Session, draft_id: str, summary_html: str,
                   **changes) -> requests.Response:
    """'zahlungspflichtig bestellen' on a summary page (its hidden fields, with changes if any); not followed."""
    return session.post(live.url(f"/embed/order/d/{draft_id}/submit"), data={**hidden_fields(summary_html), **changes},
                        allow_redirects=False, timeout=30)


class Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.html_lang = None
        self.ids: list[str] = []
        self.labels_for: set[str] = set()
        self.fields: list[dict] = []
        self.links: list[str] = []
        self.fieldsets = 0
        self.legends = 0
        self.live_regions = 0
        self.h1 = 0
        self._in_label = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label":
            if a.get("for"):
                self.labels_for.add(a["for"])
            self._in_label += 1
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append({**a, "_tag": tag, "_wrapped": self._in_label > 0})
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if tag == "fieldset":
            self.fieldsets += 1
        if tag == "legend":
            self.legends += 1
        if a.get("aria-live") or a.get("role") in ("status", "alert"):
            self.live_regions += 1
        if tag == "h1":
            self.h1 += 1

    def handle_endtag(self, tag):
        if tag == "label":
            self._in_label -= 1


def check_page(html: str, lang: str = "de") -> Structure:
    """Structural accessibility checks: language, one h1, unique ids, labels, working error links."""
    page = Structure()
    page.feed(html)
    assert page.html_lang == lang
    assert page.h1 == 1
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"
    for field in page.fields:
        assert field.get("id") in page.labels_for or field["_wrapped"] or field.get("aria-label"), field
    for target in page.links:
        assert target in page.ids, f"link to #{target} leads nowhere"
    assert page.fieldsets == page.legends
    return page


# --- the real servers the order tests talk to (also used by tests/browser) ---------------------------
@contextmanager
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; yields its Mailbox."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def payment_simulator():
    """The payment simulator as its own process, as `gis-service payment-simulator` runs it."""
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

    try:
        wait_until(up, 20, 0.1, "payment simulator")
        simulator = Simulator(base, process)
        simulator.reset()
        yield simulator
    finally:
        process.terminate()
        process.wait(10)
