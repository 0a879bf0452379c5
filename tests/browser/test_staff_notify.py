"""The queue's counts refreshing by themselves (focus kept, a polite "N neue Aufträge – anzeigen"), the outbox view with
"send again", the login's password field: in Chromium, with axe-core reporting zero violations."""

from __future__ import annotations

import pytest
from browser_helpers import EXAMPLE_KEY
from order_steps import STAFF_MADE, api_order, api_pay, staff_login, unique_email
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import MailMessage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def _count(page: Page, name: str) -> int:
    return int(page.locator(f'[data-count="{name}"]').inner_text())


def test_queue_counts_refresh_without_moving_focus(origins, make_page, staff_accounts):
    base = origins.picker
    page, problems = make_page()
    missing: list[str] = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    staff_login(page, base)
    before = _count(page, "needs_person")
    rows = page.locator("table.orders tbody tr").count()
    search = page.locator("#f-q")
    search.fill("Mühlen")  # the clerk is typing a search while an order comes in
    api_pay(api_order(base, EXAMPLE_KEY, STAFF_MADE))
    news = page.locator("#queue-news")
    expect(news).to_contain_text("1 neuer Auftrag zu bearbeiten", timeout=20_000)
    assert news.get_attribute("aria-live") == "polite" and news.get_attribute("role") == "status"
    assert _count(page, "needs_person") == before + 1
    # Nothing moved under the cursor: focus and the typed text stay, the table is the one drawn.
    assert page.evaluate("document.activeElement.id") == "f-q" and search.input_value() == "Mühlen"
    assert page.locator("table.orders tbody tr").count() == rows
    assert axe_violations(page) == []
    # Chromium's own favicon request 404s (there is none) and is not a page resource; the page's own are checked.
    assert missing == [] and problems.unexpected(allowed=("status of 404",)) == []
    news.get_by_role("link", name="anzeigen").click()
    page.wait_for_load_state("load")
    expect(page.locator("#queue-news")).to_be_empty()
    assert _count(page, "needs_person") == before + 1


def test_queue_counts_without_javascript(origins, browser, staff_accounts):
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    try:
        page = context.new_page()
        staff_login(page, origins.picker)
        assert _count(page, "needs_person") >= 0 and _count(page, "failed_mails") >= 0
        expect(page.locator("#queue-news")).to_be_empty()
        expect(page.locator("table.orders, p[role=status]").first).to_be_visible()
    finally:
        context.close()


def test_outbox_view_and_send_again(origins, browser_app, make_page, staff_accounts, smtp):
    base = origins.picker
    order = api_order(base, EXAMPLE_KEY, STAFF_MADE)
    recipient = unique_email("zurueck")
    orders = browser_app.extensions["gis_orders"]
    number = order["order_number"]
    with transaction(orders.factory) as session:
        # A mail as the outbox leaves it after the SMTP server refused it every time.
        order_id = orders.service.repository.get(number).id
        mail = MailMessage(order_id=order_id, recipient=recipient, subject=f"Ihre Bestellung {number} ist eingegangen",
                           body="Test", created_at=utcnow(), next_attempt_at=utcnow(), attempts=15, failed=True,
                           last_error="SMTPRecipientsRefused: 450 mailbox unavailable", audience="citizen")
        session.add(mail)
    page, problems = make_page(width=375, height=800)
    staff_login(page, base)
    assert _count(page, "failed_mails") >= 1
    page.get_by_role("link", name="Postausgang").click()
    expect(page.locator("h1")).to_have_text("Postausgang")
    page.locator("#o-state").select_option("failed")
    page.get_by_role("button", name="Anzeigen").click()
    row = page.locator("tr", has_text=number)
    expect(row).to_contain_text("endgültig fehlgeschlagen")
    expect(row).to_contain_text(recipient[0] + "***@example.org")
    assert recipient not in page.content()
    # At 375 px the page itself does not scroll sideways (the table scrolls in its own box).
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376
        && !e.closest('.table-scroll')).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
    assert axe_violations(page) == []
    row.get_by_role("button", name="Erneut senden").click()
    expect(page.locator(".flash")).to_contain_text("erneut gesendet")
    smtp.wait_for(recipient, number)
    page.goto(f"{base}/staff/orders/{number}")
    expect(page.locator("tr", has_text=recipient[0] + "***@example.org").first).to_contain_text("zugestellt")
    expect(page.locator("table.orders").last).to_contain_text("E-Mail erneut gesendet")
    assert axe_violations(page) == []
    assert problems.unexpected(allowed=("status of 404",)) == []


def test_login_password_field_as_large_as_the_name_field(origins, make_page):
    page, _ = make_page()
    page.goto(f"{origins.picker}/staff/login")
    name = page.locator("#username").bounding_box()
    password = page.locator("#password").bounding_box()
    assert password["height"] >= 40 and abs(password["height"] - name["height"]) < 2
    assert password["width"] >= name["width"] - 2
    assert axe_violations(page) == []
