"""Browser tests: the real app under waitress on two loopback origins, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "gis_service" / "static" / "dist" / "embed.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright must never try to fetch a browser of its own: there is none to be had here.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

# The order tests' real parts (payment simulator client, SMTP mailbox) are shared, not copied.
if str(REPO / "tests" / "orders") not in sys.path:
    sys.path.append(str(REPO / "tests" / "orders"))
from order_steps import STAFF_ACCOUNTS, STAFF_PASSWORD  # noqa: E402
from gis_testing import GENEROUS_RATE_LIMITS  # noqa: E402
from order_support import SIM_ORIGINATOR, SIM_SECRET, payment_simulator, smtp_server  # noqa: E402


def chromium_path() -> str | None:
    candidate = os.environ.get("GIS_SERVICE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Origins:
    host: str  # the demo host page, on the allow-list
    picker: str  # the picker, another origin
    foreign: str  # a host that is not on the allow-list
    simulator: str = ""  # the payment simulator (its own process)

    def demo(self, origin: str | None = None, lang: str | None = None) -> str:
        return f"{origin or self.host}/demo/formular" + (f"?lang={lang}" if lang else "")


def start_server(app, ports: list[int]):
    """waitress on the given loopback ports in a daemon thread; returns a stop function."""
    from waitress import create_server

    server = create_server(app, listen=" ".join(f"127.0.0.1:{p}" for p in ports), threads=8, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, name="waitress-browser-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

    def stop():
        server.close()
        thread.join(timeout=5)

    return stop


@pytest.fixture(scope="session")
def smtp():
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture(scope="session")
def simulator():
    with payment_simulator() as simulator:
        yield simulator


@pytest.fixture(scope="session")
def origins(tmp_path_factory, simulator, smtp):
    if not BUNDLE.exists():
        pytest.fail(f"the front-end bundle {BUNDLE} is missing: run scripts/install (npm ci && npm run build)")
    from gis_service.app import create_app
    from gis_service.config import load_settings

    host_port, picker_port = free_port(), free_port()
    result = Origins(
        host=f"http://127.0.0.1:{host_port}",
        picker=f"http://localhost:{picker_port}",
        foreign=f"http://localhost:{host_port}",
        simulator=simulator.base_url,
    )
    instance = tmp_path_factory.mktemp("instance-browser")
    settings = load_settings(None, overrides={
        "instance_path": str(instance),
        "secret_key": "browser-tests-secret-key-0123456789",
        "embed": {"allowed_origins": [result.host], "demo_picker_url": f"{result.picker}/embed"},
        "limits": {"rate": GENEROUS_RATE_LIMITS},  # every browser test comes from 127.0.0.1
        # orders as in production: the payment page in the whole window (providers refuse to be framed)
        "orders": {
            "database_url": f"sqlite:///{instance / 'orders.sqlite3'}",
            "public_base_url": result.picker,
            "payment": {"base_url": simulator.base_url, "originator_id": SIM_ORIGINATOR, "secret": SIM_SECRET,
                        "timeout_seconds": 10, "target": "_top"},
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "enabled": True},
            "worker": {"enabled": True, "interval_seconds": 0.5, "lease_seconds": 30},
            "staff": {"queue_refresh_seconds": 2},  # the queue page's polling, seen within a test's patience
        },
    })
    app = create_app(settings)
    BROWSER_APP.append(app)
    stop = start_server(app, [host_port, picker_port])
    yield result
    stop()
    app.extensions["gis_orders"].close()


BROWSER_APP: list = []


@pytest.fixture(scope="module")
def serve_app():
    """serve_app(app) → the base URL of another app under waitress on a loopback port; stopped after the module."""
    stops = []

    def serve(app) -> str:
        port = free_port()
        stops.append(start_server(app, [port]))
        return f"http://127.0.0.1:{port}"

    yield serve
    for stop in stops:
        stop()


@pytest.fixture(scope="session")
def browser_app(origins):
    """The Flask app the browser tests run against (to list its routes)."""
    return BROWSER_APP[0]


@pytest.fixture(scope="session")
def staff_accounts(browser_app) -> dict[str, str]:
    """Staff accounts of the browser tests' app (password STAFF_PASSWORD), made as `gis-service create-admin` does."""
    accounts = browser_app.extensions["gis_orders"].accounts
    for role, username in STAFF_ACCOUNTS.items():
        accounts.create(username, STAFF_PASSWORD, role="admin" if role == "admin" else "clerk")
    return dict(STAFF_ACCOUNTS)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian chromium not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000)
        yield browser
        browser.close()


class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen in a page and its frames."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.messages.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.messages.append(f"exception: {exc}"))

    def unexpected(self, allowed: tuple[str, ...] = ()) -> list[str]:
        return [m for m in self.messages if not any(a in m for a in allowed)]


@pytest.fixture
def make_page(browser):
    """make_page(width=1280, height=900, touch=False) → (page, problems); contexts are closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900, touch: bool = False, reduced_motion: bool = True):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            has_touch=touch,
            is_mobile=touch,
            device_scale_factor=1,
            locale="de-DE",
            reduced_motion="reduce" if reduced_motion else "no-preference",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        return page, PageProblems(page)

    yield make
    for context in contexts:
        context.close()
