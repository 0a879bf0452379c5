"""The clerk's queue in Chromium: sorting by a column header, the "mine" filter, a bulk action and an internal note,
each page checked with axe-core and at 375 px."""

from __future__ import annotations

import secrets

import pytest
from browser_helpers import EXAMPLE_KEY
from order_steps import STAFF_ACCOUNTS, STAFF_MADE, api_order, staff_login, unique_email
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def invoice_order(app, base: str, name: str) -> dict:
    """A staff-made order paid by invoice, its address confirmed by the orderer: in the queue, ready to be taken."""
    order = api_order(base, EXAMPLE_KEY, STAFF_MADE, payment_method="invoice", contact={
        "name": name, "email": unique_email("queue"), "street": "Mühlenweg 12a", "postcode": "59999",
        "city": "Lindenhagen"})
    service = app.extensions["gis_orders"].service
    number = order["order_number"]
    service.confirmation.confirm(number, service.tokens.for_confirmation(service.repository.get(number)))
    return order


def rows(page: Page) -> list[str]:
    return page.locator("table.orders tbody th[scope=row] a").all_inner_texts()


def check_page(page: Page) -> None:
    """axe-core finds nothing, and at 375 px the page does not scroll sideways (the table scrolls in its region)."""
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + getComputedStyle(e).display + ' ' + getComputedStyle(e).position).slice(0, 12)""")
    assert widths[0] <= widths[1], f"horizontal scrolling at 375 px: {widths} {wide}"
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})


def search(page: Page, base: str, text: str) -> None:
    page.goto(f"{base}/staff/")
    page.locator("#f-status").select_option("all")
    page.locator("#f-q").fill(text)
    page.get_by_role("button", name="Filtern").click()


def test_sorting_by_column_headers(make_page, origins, staff_accounts, browser_app):
    base, tag = origins.picker, f"Spalte{secrets.token_hex(3)}"
    made = {name: invoice_order(browser_app, base, f"{name} {tag}")["order_number"] for name in ("Cäsar", "Anton", "Berta")}
    page, problems = make_page()
    staff_login(page, base)
    search(page, base, tag)
    assert rows(page) == [made["Berta"], made["Anton"], made["Cäsar"]]  # newest first
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    expect(page.locator("th[aria-sort]")).to_contain_text("Eingang")

    page.get_by_role("link", name="Name").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    assert rows(page) == [made["Anton"], made["Berta"], made["Cäsar"]]
    check_page(page)
    page.get_by_role("link", name="Name").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Name")
    assert rows(page) == [made["Cäsar"], made["Berta"], made["Anton"]]
    # the sort survives a new filter: it is in the URL, as a bookmark keeps it
    page.get_by_role("button", name="Filtern").click()
    assert "sort=name" in page.url and rows(page) == [made["Cäsar"], made["Berta"], made["Anton"]]
    assert problems.unexpected(allowed=("the server responded with a status of 404",)) == []  # no favicon


def test_mine_filter_and_bulk_take(make_page, origins, staff_accounts, browser_app):
    base, tag = origins.picker, f"Sammel{secrets.token_hex(3)}"
    numbers = [invoice_order(browser_app, base, f"Grün {tag} {i}")["order_number"] for i in range(3)]
    page, problems = make_page()
    staff_login(page, base, STAFF_ACCOUNTS["clerk"])
    search(page, base, f"gruen {tag}")  # without the umlaut
    assert sorted(rows(page)) == sorted(numbers)
    page.get_by_label(f"{numbers[0]} auswählen").check()
    page.get_by_label(f"{numbers[2]} auswählen").check()
    page.get_by_role("button", name="Übernehmen").click()
    expect(page.locator(".flash.ok")).to_contain_text("2 von 2 Aufträgen übernommen.")
    check_page(page)

    page.locator("#f-assignee").select_option("mine")
    page.get_by_role("button", name="Filtern").click()
    assert "assignee=mine" in page.url
    assert sorted(rows(page)) == sorted([numbers[0], numbers[2]])
    expect(page.locator("p[role=status]")).to_contain_text("2 Aufträge gefunden")
    check_page(page)
    page.locator("#f-assignee").select_option("none")
    page.get_by_role("button", name="Filtern").click()
    assert rows(page) == [numbers[1]]
    assert problems.unexpected(allowed=("the server responded with a status of 404",)) == []  # no favicon


def test_internal_note_on_the_detail_page(make_page, origins, staff_accounts, browser_app):
    base = origins.picker
    order = invoice_order(browser_app, base, f"Notiz {secrets.token_hex(3)}")
    page, problems = make_page()
    staff_login(page, base, STAFF_ACCOUNTS["clerk"])
    page.goto(f"{base}/staff/orders/{order['order_number']}")
    expect(page.get_by_role("heading", name="Interne Notizen")).to_be_visible()
    note = f"Rückruf vereinbart {secrets.token_hex(4)}"
    page.get_by_label("Neue Notiz").fill(note)
    page.get_by_role("button", name="Notiz speichern").click()
    expect(page.locator(".flash.ok")).to_contain_text("Interne Notiz gespeichert.")
    expect(page.locator(".note-list")).to_contain_text(note)
    expect(page.locator("table.orders").last).to_contain_text("interne Notiz hinzugefügt")
    check_page(page)

    # the citizen's status page never shows it
    page.goto(order["status_url"])
    expect(page.locator("h1")).to_be_visible()
    assert note not in page.content()
    assert problems.unexpected(allowed=("the server responded with a status of 404",)) == []  # no favicon
