"""The order in the host page's iframe as citizens use it: back, reload and a second tab after ordering make one
order; an order begun in English stays English through the payment, the pages and the mail (the extract is German).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from browser_helpers import EXAMPLE_ADDRESS, EXAMPLE_KEY, open_demo, wait_preview
from order_steps import (
    CITIZEN,
    SELF_SERVICE,
    commit_order,
    expect_step,
    fill_contact,
    order_to_summary,
    unique_email,
    wait_state,
)
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from gis_service.orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


def orders_by(browser_app, email: str) -> list[str]:
    with browser_app.extensions["gis_orders"].factory() as session:
        return list(session.scalars(select(Order.order_number).where(Order.contact_email == email)))


def order_frame(page: Page):
    """The iframe's document (a Frame, for its URL and a reload of its own)."""
    return next(f for f in page.frames if f.parent_frame is not None)


def search_and_order(frame, select_button: str, order_button: str) -> None:
    """In the picker: the example address, its parcel selected, the order begun (buttons in the page's language)."""
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    frame.get_by_role("button", name=select_button).click()
    frame.get_by_role("button", name=order_button).click()


def test_back_reload_and_a_second_tab_after_ordering_make_one_order(make_page, origins, browser_app):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="de"))
    search_and_order(frame, "Dieses Flurstück auswählen", "Auszug bestellen")
    email = order_to_summary(frame, SELF_SERVICE, unique_email("zurueck"))
    summary_url = order_frame(page).url
    assert re.search(r"/embed/order/d/[A-Za-z0-9_-]{32}/summary\?", summary_url), summary_url
    assert email not in summary_url

    # the same summary open in a second tab (or kept from before): it will be sent again later
    second = page.context.new_page()
    second.goto(summary_url)
    expect_step(second, "summary")

    number = commit_order(frame)
    # back: the summary, then the contact page, now lead to the order, not to the browser's resubmission page
    # (the frame's history is the page's: Page.go_back would wait for the top page, which stays)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(f"{r.method} {r.url}") if "/embed/order/" in r.url else None)

    def in_the_frame(script: str) -> None:
        with page.expect_event("framenavigated", predicate=lambda f: f.parent_frame is not None):
            page.evaluate(script)
        expect_step(frame, "status")
        expect(frame.locator("#order-number")).to_have_text(number)

    in_the_frame("history.back()")
    in_the_frame("history.back()")
    in_the_frame("history.forward()")
    with page.expect_event("framenavigated", predicate=lambda f: f.parent_frame is not None):
        order_frame(page).evaluate("location.reload()")
    expect(frame.locator("#order-number")).to_have_text(number)
    draft_pages = summary_url.split("?")[0].rsplit("/", 1)[0]
    # back asked for the summary and the contact page, which led on to the order (forward went where they led)
    assert [a for a in asked if "/embed/order/d/" in a] == [f"GET {draft_pages}/summary?lang=de",
                                                             f"GET {draft_pages}/contact?lang=de"]
    assert not [a for a in asked if a.startswith("POST")]  # back, forward and reload never send anything again

    # the stale summary in the other tab, sent and reloaded: the same order
    second.get_by_role("button", name="zahlungspflichtig bestellen").click()
    expect(second.locator("#order-number")).to_have_text(number)
    second.reload()
    expect(second.locator("#order-number")).to_have_text(number)

    assert orders_by(browser_app, email) == [number]
    assert problems.unexpected() == []


EN_HEADINGS = {
    "product": "What would you like to order?",
    "options": "Options and fee",
    "contact": "Your contact details",
    "summary": "Summary of your order",
    "received": "Your order has been received",
    "status": "Your order",
}


def expect_english(scope, step: str) -> None:
    expect(scope.locator("h1")).to_have_text(EN_HEADINGS[step], timeout=20_000)
    expect(scope.locator("html")).to_have_attribute("lang", "en")


def test_an_order_begun_in_english_stays_english_to_the_end(make_page, origins, smtp):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="en"))
    search_and_order(frame, "Select this parcel", "Order an extract")

    expect_english(frame, "product")
    frame.locator(f'input[name="product"][value="{SELF_SERVICE}"]').check()
    frame.get_by_role("button", name="Continue", exact=True).click()
    expect_english(frame, "options")
    frame.get_by_role("button", name="Continue to contact details").click()
    expect_english(frame, "contact")
    email = unique_email("english")
    fill_contact(frame, CITIZEN, email)
    frame.get_by_role("button", name="Continue to the summary").click()
    expect_english(frame, "summary")
    frame.get_by_role("button", name="order with obligation to pay").click()
    expect_english(frame, "received")
    number = frame.locator("#order-number").inner_text().strip()
    expect(frame.locator("#order-status")).to_have_text("Received")

    # the payment service's page (the whole window) speaks English too
    frame.get_by_role("button", name=re.compile(r"^Pay now \(€15\.00\)")).click()
    page.wait_for_url(re.compile("^" + re.escape(origins.simulator) + r"/pay/[0-9a-f]{32}$"), timeout=20_000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Amount")
    page.get_by_role("button", name="Pay (success)").click()

    # back in the online form: the confirmation in English
    page.wait_for_url(re.compile("^" + re.escape(origins.demo()) + r"\?lang=en&gis_service_page="), timeout=30_000)
    frame = page.frame_locator("#picker-frame")
    expect_english(frame, "status")
    wait_state(frame, "completed", refresh=lambda: frame.get_by_role("link", name="Refresh the status").click())
    expect(frame.locator("#order-status")).to_have_text("Completed")
    expect(frame.locator("main")).to_contain_text("Your documents")

    # the official extract stays a German document
    with page.expect_download() as download:
        frame.get_by_role("link", name=re.compile(r"^Download .*\.pdf$")).click()
    assert download.value.suggested_filename == f"Auszug-Liegenschaftskarte-{number}.pdf"
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert pdf.metadata.title == f"Auszug aus der Liegenschaftskarte {number}"

    # the mail, as the SMTP server received it, is English and links to the English status page
    mail = smtp.wait_for(email, f"Your extract for order {number} is ready", timeout=30)
    body = smtp.body(mail)
    assert body.startswith(f"Dear {CITIZEN},") and "Order status:" in body and "Kind regards" in body
    status_link = re.search(r"Order status:\s+(\S+)", body)
    assert status_link, body
    status_link = status_link.group(1)
    assert "lang=en" in status_link
    page.goto(status_link)
    expect_english(page, "status")
    assert problems.unexpected() == []
