"""Steps of the citizen's order (in the iframe or on a page of its own) and of the staff back office, in Chromium.

A scope is where the order pages are: the picker's FrameLocator on the demo host page, or the Page itself.
"""

from __future__ import annotations

import io
import re
import secrets
import time

import requests
from playwright.sync_api import Page, expect

CITIZEN = "Erika Mustermann"
STAFF_PASSWORD = "Korrekt-Pferd-Batterie-42"
STAFF_ACCOUNTS = {"admin": "admin-browser", "clerk": "clerk-browser", "locked": "clerk-locked"}
SELF_SERVICE = "karte-online"
STAFF_MADE = "karte-amt"
OWNER_DATA = "eigentuemernachweis"
# the simulator's buttons
PAY_SUCCESS, PAY_FAILURE, PAY_CANCEL = "Bezahlen (erfolgreich)", "Zahlung schlägt fehl", "Abbrechen"
HEADINGS = {
    "product": "Was möchten Sie bestellen?",
    "options": "Optionen und Gebühr",
    "contact": "Ihre Kontaktdaten",
    "summary": "Übersicht Ihrer Bestellung",
    "received": "Ihre Bestellung ist eingegangen",
    "status": "Ihre Bestellung",
}
MM_PER_PT = 25.4 / 72
PAPER_MM = {("A4", "portrait"): (210, 297), ("A4", "landscape"): (297, 210),
            ("A3", "portrait"): (297, 420), ("A3", "landscape"): (420, 297)}


def unique_email(tag: str = "buerger") -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.org"


def expect_step(scope, step: str) -> None:
    expect(scope.locator("h1")).to_have_text(HEADINGS[step], timeout=20_000)


# --- host page ---------------------------------------------------------------------------------------
def record_host_messages(page: Page) -> list[dict]:
    """Every gis-service message the host page's window receives from the picker's frame, across reloads.

    The listener is the test's own (not the demo page's script): it proves what reached the host window.
    """
    got: list[dict] = []
    page.expose_function("__gisTestRecord", lambda origin, data: got.append({"origin": origin, **data}))
    page.add_init_script("""
      if (window.top === window) {
        window.addEventListener('message', (event) => {
          const frame = document.getElementById('picker-frame');
          const data = event.data;
          if (frame && event.source === frame.contentWindow && data && typeof data.type === 'string'
              && data.type.startsWith('gis-service:') && data.type !== 'gis-service:resize') {
            window.__gisTestRecord(event.origin, data);
          }
        });
      }""")
    return got


def messages_of(got: list[dict], kind: str) -> list[dict]:
    return [m for m in got if m["type"] == f"gis-service:{kind}"]


def wait_for_message(page: Page, got: list[dict], kind: str, timeout: float = 15.0, **fields) -> dict:
    """The first message of that kind with those fields; Playwright delivers the callbacks while we wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in messages_of(got, kind):
            if all(message.get(k) == v for k, v in fields.items()):
                return message
        page.wait_for_timeout(100)
    raise AssertionError(f"no gis-service:{kind} with {fields}; got {got}")


# --- citizen pages -----------------------------------------------------------------------------------
def order_page_url(base: str, parcel: str, scale: int = 1000, paper: str = "A4", orientation: str = "portrait") -> str:
    return f"{base}/embed/order?parcel={parcel}&scale={scale}&paper={paper}&orientation={orientation}&lang=de"


def choose_product(scope, product: str) -> None:
    expect_step(scope, "product")
    scope.locator(f'input[name="product"][value="{product}"]').check()
    scope.get_by_role("button", name="Weiter", exact=True).click()
    expect_step(scope, "options")


def to_contact(scope) -> None:
    scope.get_by_role("button", name="Weiter zu den Kontaktdaten").click()
    expect_step(scope, "contact")


def fill_contact(scope, name: str, email: str) -> None:
    scope.locator("#field-name").fill(name)
    scope.locator("#field-email").fill(email)


def to_summary(scope) -> None:
    scope.get_by_role("button", name="Weiter zur Übersicht").click()
    expect_step(scope, "summary")


def commit_order(scope) -> str:
    """'zahlungspflichtig bestellen'; returns the order number shown."""
    scope.get_by_role("button", name="zahlungspflichtig bestellen").click()
    expect_step(scope, "received")
    number = scope.locator("#order-number").inner_text().strip()
    assert re.fullmatch(r"LK-\d{4}-[0-9A-Z]{6}", number), number
    return number


def order_to_summary(scope, product: str = SELF_SERVICE, email: str | None = None) -> str:
    """From the product page to the summary; returns the e-mail address used."""
    email = email or unique_email()
    choose_product(scope, product)
    to_contact(scope)
    fill_contact(scope, CITIZEN, email)
    to_summary(scope)
    return email


def on_simulator(page: Page, simulator_base: str = "http://127.0.0.1:") -> None:
    """The payment page is the whole window (the simulator, like real providers, refuses to be framed)."""
    page.wait_for_url(re.compile("^" + re.escape(simulator_base) + r"\d*/pay/[0-9a-f]{32}$"), timeout=20_000)
    expect(page.get_by_role("heading", name="Bezahlung")).to_be_visible()


def pay_in_simulator(page: Page, button: str, simulator_base: str = "http://127.0.0.1:") -> None:
    on_simulator(page, simulator_base)
    page.get_by_role("button", name=button).click()


def state(scope) -> str:
    return scope.locator("#order-status").get_attribute("data-status") or ""


def wait_state(scope, wanted: str, timeout: float = 30.0, refresh=None) -> None:
    """Waits until the status page shows that state; the citizen refreshes it ("Stand aktualisieren") meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        expect(scope.locator("#order-status")).to_be_visible()
        current = state(scope)
        if current == wanted:
            return
        assert time.monotonic() < deadline, f"the order stayed {current}, expected {wanted}"
        assert current in ("awaiting_payment", "paid", "in_progress"), current
        time.sleep(0.3)
        if refresh:
            refresh()
        else:
            scope.get_by_role("link", name="Stand aktualisieren").click()


def pdf_page_mm(data: bytes) -> tuple[float, float]:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF-"), data[:20]
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    return float(box.width) * MM_PER_PT, float(box.height) * MM_PER_PT


def assert_paper(data: bytes, paper: str, orientation: str) -> None:
    width, height = pdf_page_mm(data)
    expected = PAPER_MM[(paper, orientation)]
    assert abs(width - expected[0]) < 0.5 and abs(height - expected[1]) < 0.5, (width, height, paper, orientation)


# --- orders made over HTTP (for pages that need one to exist) ----------------------------------------
def api_order(base: str, parcel: str, product: str = SELF_SERVICE, **extra) -> dict:
    body = {"parcel": parcel, "product": product, "paper": "A4", "orientation": "portrait", "scale": 1000,
            "contact": {"name": CITIZEN, "email": unique_email()}, "lang": "de", **extra}
    response = requests.post(f"{base}/api/v1/orders", json=body, headers={"Idempotency-Key": secrets.token_hex(12)},
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def api_pay(order: dict, action: str = "success") -> None:
    """The citizen pays in the simulator without a browser (the page under test is elsewhere)."""
    start = requests.get(order["payment_url"], allow_redirects=False, timeout=30)
    assert start.status_code == 303, start.text
    payment_page = start.headers["Location"]
    sent = requests.post(payment_page, data={"action": action}, allow_redirects=False, timeout=30)
    assert sent.status_code == 303, sent.text
    assert requests.get(sent.headers["Location"], timeout=60).status_code == 200


# --- staff -------------------------------------------------------------------------------------------
def staff_login_attempt(page: Page, base: str, username: str, password: str = STAFF_PASSWORD) -> None:
    page.goto(f"{base}/staff/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Anmelden").click()


def staff_login(page: Page, base: str, username: str = STAFF_ACCOUNTS["admin"]) -> None:
    staff_login_attempt(page, base, username)
    expect(page.locator("h1")).to_have_text("Aufträge")
