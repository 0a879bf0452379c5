"""The clerk's money forms in Chromium: cancel a completed order with a refund, invoice sent → paid, the cash report;
axe-core finds no violation on any page on the way, and the forms reflow at 375 px."""

from __future__ import annotations

import csv
import io
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from browser_helpers import EXAMPLE_KEY
from order_steps import STAFF_MADE, api_order, api_pay, staff_login, unique_email
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def no_horizontal_scroll(page: Page, within: str = "body") -> None:
    """Nothing in `within` (and the header) reaches past the right edge of the window."""
    wide = page.evaluate("""(within) => [...document.querySelectorAll(`.site-header *, ${within} *`)]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)""", within)
    assert wide == [], f"wider than the window: {wide[:8]}"


def wait_completed(base: str, order: dict, timeout: float = 60) -> dict:
    token = parse_qs(urlsplit(order["status_url"]).query)["t"][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(f"{base}/api/v1/orders/{order['order_number']}", params={"token": token}, timeout=10).json()
        if state["status"] == "completed":
            return state
        time.sleep(0.3)
    raise AssertionError(f"order {order['order_number']} not completed: {state['status']}")


def test_cancel_completed_order_with_refund(make_page, origins, staff_accounts, simulator):
    base = origins.picker
    order = api_order(base, EXAMPLE_KEY)
    api_pay(order)
    state = wait_completed(base, order)
    link = state["documents"][0]["url"]
    assert requests.get(link, timeout=30).status_code == 200

    page, problems = make_page(375, 800)
    staff_login(page, base)
    page.goto(f"{base}/staff/orders/{order['order_number']}")
    form = page.locator("form", has=page.get_by_role("heading", name="Stornieren und Gebühr erstatten"))
    expect(form).to_be_visible()
    assert axe_violations(page) == []
    # the money section (the payments and history tables of the page are wide on their own)
    no_horizontal_scroll(page, "section.money")

    # without a reason the browser does not send the form
    form.get_by_role("button", name=re.compile("Stornieren und 15,00")).click()
    expect(page.locator("#order-status")).to_have_text("Erledigt")
    assert page.evaluate("() => document.activeElement.id") == "refund-reason"

    page.get_by_label("Grund (wird der Kundin bzw. dem Kunden mitgeteilt)").fill("Falsches Flurstück bestellt")
    form.get_by_role("button", name=re.compile("Stornieren und 15,00")).click()
    expect(page.locator(".flash.ok")).to_contain_text("die Gebühr wird erstattet")
    expect(page.locator("#order-status")).to_have_text("Storniert")
    expect(page.get_by_role("cell", name=re.compile("nach Abschluss storniert"))).to_be_visible()
    expect(page.get_by_role("heading", name="Widerrufene oder ersetzte Unterlagen")).to_be_visible()
    assert axe_violations(page) == []
    no_horizontal_scroll(page, "section.money")

    assert requests.get(link, timeout=30).status_code == 404
    refunds = [r for t in simulator.for_reference(order["order_number"]) for r in t["refunds"]]
    assert [r["grossAmount"] for r in refunds] == ["15.00"]
    # the app has no /favicon.ico: Chromium's own request for it is the one 404 allowed
    assert problems.unexpected(allowed=("status of 404 (NOT FOUND)",)) == []


def test_invoice_sent_then_paid_and_cash_report(make_page, origins, staff_accounts):
    base = origins.picker
    order = api_order(base, EXAMPLE_KEY, STAFF_MADE, payment_method="invoice",
                      contact={"name": "Ina Rechnung", "email": unique_email(), "organisation": "Bauamt Lindenhagen",
                               "street": "Mühlenweg 12a", "postcode": "59999", "city": "Lindenhagen"})
    page, problems = make_page(375, 800)
    staff_login(page, base)
    page.goto(f"{base}/staff/orders/{order['order_number']}")
    state = page.locator("#invoice-state")
    expect(state).to_contain_text("noch keine Rechnung")
    expect(state).to_contain_text("nicht beglichen")
    assert axe_violations(page) == []
    no_horizontal_scroll(page, "section.money")

    page.get_by_label("Rechnungsnummer").fill("R-2026-4711")
    page.get_by_role("button", name="Versand vermerken").click()
    expect(page.locator(".flash.ok")).to_contain_text("Versand der Rechnung vermerkt")
    expect(state).to_contain_text("Rechnung verschickt, offen")
    expect(page.get_by_role("button", name="Versand vermerken")).to_have_count(0)
    assert axe_violations(page) == []
    no_horizontal_scroll(page, "section.money")

    # a typing slip in the amount: a clear message, nothing booked
    page.get_by_label("Eingegangener Betrag in Euro").fill("dreißig")
    page.get_by_role("button", name="Zahlung vermerken").click()
    expect(page.locator(".flash.error")).to_contain_text("Betrag in Euro")
    expect(state).to_contain_text("Rechnung verschickt, offen")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Zahlung vermerken").click()  # the amount as billed, prefilled
    expect(page.locator(".flash.ok")).to_contain_text("Zahlung der Rechnung vermerkt")
    expect(state).to_contain_text("Rechnung bezahlt")
    expect(state).not_to_contain_text("nicht beglichen")
    expect(page.get_by_role("cell", name="Rechnung bezahlt")).to_be_visible()  # the history in words
    assert axe_violations(page) == []

    page.get_by_role("link", name="Kassenbericht").click()
    expect(page.locator("h1")).to_have_text("Kassenbericht")
    assert axe_violations(page) == []
    no_horizontal_scroll(page, "main")
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV herunterladen").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Tag", "Produkt", "Zahlart"]
    assert any(r[2] == "Rechnung" and r[6] != "0" for r in rows[1:-1]), rows

    page.locator("#cash-from").fill("2026-02-01")
    page.locator("#cash-to").fill("2026-01-01")
    page.get_by_role("button", name="CSV herunterladen").click()
    expect(page.get_by_role("alert")).to_contain_text("gültigen Zeitraum")
    assert axe_violations(page) == []
    assert problems.unexpected(allowed=("status of 404 (NOT FOUND)", "status of 422")) == []
