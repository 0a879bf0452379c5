"""The citizen's whole order on the demo host page in Chromium: picker → order steps → payment in the simulator
(in the whole window, as real providers demand) → back in the form's iframe → confirmation, download, e-mail.

By mouse, with a cancelled and a failed payment before the retry, by keyboard only, and in a 320 px iframe.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from browser_helpers import (
    EXAMPLE_ADDRESS,
    EXAMPLE_KEY,
    assert_no_inner_scrollbar,
    centre_offset,
    chosen_key,
    expect_focused_in_view,
    open_demo,
    tab_to,
    wait_preview,
)
from order_steps import (
    CITIZEN,
    PAY_CANCEL,
    PAY_FAILURE,
    PAY_SUCCESS,
    SELF_SERVICE,
    api_order,
    assert_paper,
    choose_product,
    commit_order,
    expect_step,
    fill_contact,
    on_simulator,
    order_to_summary,
    pay_in_simulator,
    record_host_messages,
    state,
    to_contact,
    to_summary,
    unique_email,
    wait_for_message,
    wait_state,
)
from playwright.sync_api import FrameLocator, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]


def back_in_the_form(page: Page, origins) -> FrameLocator:
    """After the payment the whole window is the host page again, its iframe showing our status page."""
    page.wait_for_url(re.compile("^" + re.escape(origins.demo()) + r"\?lang=de&gis_service_page="), timeout=30_000)
    frame = page.frame_locator("#picker-frame")
    expect_step(frame, "status")
    assert page.locator("#picker-frame").get_attribute("src").startswith(f"{origins.picker}/embed/order/")
    return frame


def start_from_search(page: Page, frame: FrameLocator) -> str:
    """Search, take the suggestion, select it, start the order; returns the parcel's key."""
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    frame.get_by_role("button", name="Dieses Flurstück auswählen").click()
    expect(page.locator("#f-key")).to_have_value(EXAMPLE_KEY)
    frame.get_by_role("button", name="Auszug bestellen").click()
    expect_step(frame, "product")
    return EXAMPLE_KEY


def pdf_and_mail_agree(page: Page, smtp, email: str, number: str, picker: str, data: bytes) -> None:
    """The mail with the download link reached the SMTP server, and its link gives the same PDF."""
    mail = smtp.wait_for(email, f"Ihr Auszug zur Bestellung {number} ist fertig", timeout=30)
    body = smtp.body(mail)
    links = re.findall(r"https?://\S+/files/\S+", body)
    assert links and all(link.startswith(f"{picker}/embed/order/{number}/files/") for link in links), body
    fetched = requests.get(links[0], timeout=30)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.content == data


def pdf_image_dpi(data: bytes) -> float:
    """The resolution at which the page shows its largest image (the map face), as poppler's `pdfimages` reports it."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(data)
        pdf.flush()
        listing = subprocess.run(["pdfimages", "-list", pdf.name], capture_output=True, text=True, check=True).stdout
    # columns: page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    largest = max(rows, key=lambda row: int(row[3]) * int(row[4]))
    return float(largest[12])


def test_order_journey_with_the_mouse(make_page, origins, smtp):
    page, problems = make_page(1280, 900)
    got = record_host_messages(page)
    frame = open_demo(page, origins.demo(lang="de"))

    # search an address, then pick the neighbouring parcel on the map; scale and paper
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).click()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    frame.locator("#map").click(position=centre_offset(frame, 110, 0))
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    label = frame.locator('#parcel-facts [data-field="label"]').inner_text().strip()
    frame.locator("#scale").select_option("500")
    frame.locator("#paper").select_option("A3")
    frame.locator("#orientation").select_option("landscape")
    wait_preview(frame, f"parcel={picked}", "scale=500", "paper=A3", "orientation=landscape")
    frame.get_by_role("button", name="Dieses Flurstück auswählen").click()
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()
    selected = wait_for_message(page, got, "parcel-selected", key=picked)
    assert selected["origin"] == origins.picker
    assert (selected["scale"], selected["paper"], selected["orientation"]) == (500, "A3", "landscape"), selected
    expect(page.locator("#f-key")).to_have_value(picked)

    # the order steps inside the iframe: product, options (taken over from the picker), contact, summary
    frame.get_by_role("button", name="Auszug bestellen").click()
    expect(frame.locator(".parcel-facts")).to_contain_text(picked)
    choose_product(frame, SELF_SERVICE)
    expect(frame.locator("#field-paper")).to_have_value("A3")
    expect(frame.locator("#field-orientation")).to_have_value("landscape")
    expect(frame.locator("#field-scale")).to_have_value("500")
    expect(frame.locator("table.fee tfoot")).to_contain_text("15,00 €")
    to_contact(frame)
    email = unique_email("maus")
    fill_contact(frame, CITIZEN, email)
    to_summary(frame)
    summary = frame.locator("main")
    for fact in (label, picked, "DIN A3, Querformat", "1:500", CITIZEN, email, "15,00 €"):
        expect(summary).to_contain_text(fact)
    number = commit_order(frame)
    submitted = wait_for_message(page, got, "order-submitted", order_number=number)
    assert submitted["origin"] == origins.picker
    assert submitted["status_url"].startswith(f"{origins.picker}/embed/order/{number}?t="), submitted
    expect(page.locator("#f-order-number")).to_have_value(number)

    # the payment page takes the whole window; the simulator (like a real provider) cannot be framed
    frame.get_by_role("button", name=re.compile(r"^Jetzt bezahlen \(15,00 €\)")).click()
    on_simulator(page, origins.simulator)
    assert len(page.frames) == 1
    expect(page.locator("main")).to_contain_text(number)
    page.get_by_role("button", name=PAY_SUCCESS).click()

    # back in the online form: the iframe shows the confirmation
    frame = back_in_the_form(page, origins)
    wait_state(frame, "completed")
    expect(frame.locator("#order-number")).to_have_text(number)
    status_link = frame.get_by_role("link", name="Stand meiner Bestellung")
    assert status_link.get_attribute("href") == submitted["status_url"]
    done = wait_for_message(page, got, "order-submitted", order_number=number, status="completed")
    assert done["status_url"] == submitted["status_url"] and done["origin"] == origins.picker
    # the form shows the state in words and kept what it had taken over before the payment
    expect(page.locator("#f-order-status")).to_have_value("Erledigt")
    expect(page.locator("#f-key")).to_have_value(picked)
    expect(page.locator("#f-scale")).to_have_value("1:500")
    expect(page.locator("#f-order-number")).to_have_value(number)
    expect(page.locator("#f-status-link")).to_have_attribute("href", submitted["status_url"])
    expect(page.locator("#demo-log")).to_contain_text(f"gis-service:order-submitted {number} completed")

    # the official PDF: downloaded from the confirmation, named after the order, true paper size, 300 dpi
    with page.expect_download() as download:
        frame.get_by_role("link", name=re.compile(r"\.pdf herunterladen$")).click()
    assert download.value.suggested_filename == f"Auszug-Liegenschaftskarte-{number}.pdf"
    data = Path(download.value.path()).read_bytes()
    assert_paper(data, "A3", "landscape")
    assert pdf_image_dpi(data) == pytest.approx(300, rel=0.02)
    # the status link works on its own (bookmark, e-mail)
    status_page = page.request.get(submitted["status_url"])
    assert status_page.ok and number in status_page.text() and "Erledigt" in status_page.text()
    pdf_and_mail_agree(page, smtp, email, number, origins.picker, data)
    assert problems.unexpected() == []


def test_payment_cancelled_then_failed_then_paid(make_page, origins, simulator):
    page, problems = make_page(1280, 900)
    got = record_host_messages(page)
    frame = open_demo(page, origins.demo(lang="de"))
    start_from_search(page, frame)
    order_to_summary(frame, SELF_SERVICE, unique_email("abbruch"))
    number = commit_order(frame)

    # cancelled in the simulator: back in the form, not paid, and the citizen can pay again
    frame.get_by_role("button", name=re.compile(r"^Jetzt bezahlen")).click()
    pay_in_simulator(page, PAY_CANCEL, origins.simulator)
    frame = back_in_the_form(page, origins)
    expect(frame.locator(".status-box")).to_contain_text("Sie haben die Zahlung abgebrochen")
    expect(frame.locator("#order-status")).to_have_text("Wartet auf Zahlung")
    assert state(frame) == "awaiting_payment"
    expect(frame.get_by_role("link", name=re.compile("herunterladen"))).to_have_count(0)
    wait_for_message(page, got, "order-submitted", order_number=number, status="awaiting_payment")

    # the retry fails: still not paid, nothing charged, again a way to pay
    frame.get_by_role("button", name="Bezahlen (15,00 €)").click()
    pay_in_simulator(page, PAY_FAILURE, origins.simulator)
    frame = back_in_the_form(page, origins)
    expect(frame.locator(".status-box")).to_contain_text("Die Zahlung ist fehlgeschlagen")
    assert state(frame) == "awaiting_payment"

    # the third attempt succeeds
    frame.get_by_role("button", name="Bezahlen (15,00 €)").click()
    pay_in_simulator(page, PAY_SUCCESS, origins.simulator)
    frame = back_in_the_form(page, origins)
    wait_state(frame, "completed")
    expect(frame.get_by_role("link", name=re.compile(r"\.pdf herunterladen$"))).to_be_visible()
    wait_for_message(page, got, "order-submitted", order_number=number, status="completed")
    # three transactions at the provider, one per attempt
    attempts = sorted(simulator.for_reference(number), key=lambda t: t["requestId"])
    assert [t["status"] for t in attempts] == ["CANCELED", "FAILED", "PAYED"], attempts
    assert problems.unexpected() == []


def test_order_journey_with_the_keyboard_only(make_page, origins):
    page, problems = make_page(1280, 900)
    got = record_host_messages(page)
    frame = open_demo(page, origins.demo(lang="de"))
    keys = page.keyboard

    # the picker: search, the map (arrows, Enter), paper (arrow), select (Space)
    tab_to(page, frame, "#q")
    keys.type(EXAMPLE_ADDRESS, delay=20)
    expect(frame.get_by_role("option").first).to_be_visible()
    keys.press("ArrowDown")
    keys.press("Enter")
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    tab_to(page, frame, "#map")
    keys.press("ArrowRight")
    keys.press("ArrowRight")
    page.wait_for_timeout(200)
    keys.press("Enter")
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    wait_preview(frame, f"parcel={picked}")
    tab_to(page, frame, "#paper")
    keys.press("ArrowDown")  # A4 → A3
    wait_preview(frame, f"parcel={picked}", "paper=A3")
    tab_to(page, frame, "#select-button")
    keys.press("Space")
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()
    wait_for_message(page, got, "parcel-selected", key=picked, paper="A3")

    # product: radio buttons with the arrow keys
    tab_to(page, frame, 'button:has-text("Auszug bestellen")')
    keys.press("Enter")
    expect_step(frame, "product")
    tab_to(page, frame, 'input[name="product"]:checked')
    keys.press("ArrowDown")
    expect(frame.locator('input[name="product"]:checked')).not_to_have_value(SELF_SERVICE)
    keys.press("ArrowUp")
    expect(frame.locator('input[name="product"]:checked')).to_have_value(SELF_SERVICE)
    tab_to(page, frame, "form button.primary")
    keys.press("Enter")
    expect_step(frame, "options")

    # options: back to A4 with an arrow key
    tab_to(page, frame, "#field-paper")
    keys.press("ArrowUp")  # A3 → A4
    expect(frame.locator("#field-paper")).to_have_value("A4")
    tab_to(page, frame, 'button:has-text("Weiter zu den Kontaktdaten")')
    keys.press("Enter")
    expect_step(frame, "contact")

    # contact: a wrong address first; the error summary's link leads to the field
    tab_to(page, frame, "#field-name")
    keys.type(CITIZEN)
    tab_to(page, frame, "#field-email")
    keys.type("erika.example.org")
    tab_to(page, frame, 'button:has-text("Weiter zur Übersicht")')
    keys.press("Enter")
    expect(frame.locator("#error-summary")).to_be_visible()
    expect(frame.locator("#field-email")).to_have_attribute("aria-invalid", "true")
    tab_to(page, frame, '#error-summary a[href="#field-email"]')
    keys.press("Enter")
    expect(frame.locator("#field-email")).to_be_focused()
    email = unique_email("tastatur")
    keys.press("ControlOrMeta+a")
    keys.type(email)
    tab_to(page, frame, 'button:has-text("Weiter zur Übersicht")')
    keys.press("Enter")
    expect_step(frame, "summary")
    expect(frame.locator("main")).to_contain_text("DIN A4, Hochformat")
    expect(frame.locator("main")).to_contain_text(email)

    # order, then pay: the payment page is reached by keyboard too
    tab_to(page, frame, 'button:has-text("zahlungspflichtig bestellen")')
    keys.press("Enter")
    expect_step(frame, "received")
    number = frame.locator("#order-number").inner_text().strip()
    wait_for_message(page, got, "order-submitted", order_number=number)
    tab_to(page, frame, 'button:has-text("Jetzt bezahlen")')
    keys.press("Enter")
    on_simulator(page, origins.simulator)
    tab_to(page, page, 'button[value="success"]')
    keys.press("Space")

    # back in the form: refresh by keyboard until done, then the download link by keyboard
    frame = back_in_the_form(page, origins)

    def refresh():
        tab_to(page, frame, 'a:has-text("Stand aktualisieren")')
        keys.press("Enter")

    wait_state(frame, "completed", refresh=refresh)
    wait_for_message(page, got, "order-submitted", order_number=number, status="completed")
    tab_to(page, frame, "a[download]")
    with page.expect_download() as download:
        keys.press("Enter")
    assert_paper(Path(download.value.path()).read_bytes(), "A4", "portrait")
    # the one problem seen: the contact page answered 422 with the errors, as it should
    assert problems.unexpected(allowed=("status of 422",)) == []


def fits(page: Page, frame: FrameLocator | None = None, timeout: float = 8.0) -> None:
    """No horizontal scrolling on the page, and (in the iframe) none inside it, once the host has resized it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
            if frame is not None:
                assert_no_inner_scrollbar(page, frame)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(150)


def test_order_journey_at_320px(make_page, origins):
    # the host page's margins leave the iframe exactly 320 CSS pixels wide
    page, problems = make_page(344, 740, touch=True)
    frame = open_demo(page, origins.demo(lang="de"))
    assert page.locator("#picker-frame").evaluate("f => f.clientWidth") == 320
    fits(page, frame)

    frame.locator("#q").tap()
    frame.locator("#q").fill(EXAMPLE_ADDRESS)
    frame.get_by_role("option", name=re.compile(EXAMPLE_ADDRESS)).tap()
    wait_preview(frame, f"parcel={EXAMPLE_KEY}")
    frame.locator("#map").tap(position=centre_offset(frame, 40, 10))
    expect(frame.locator('#parcel-facts [data-field="key"]')).not_to_have_text(EXAMPLE_KEY)
    picked = chosen_key(frame)
    frame.locator("#scale").select_option("2000")
    wait_preview(frame, f"parcel={picked}", "scale=2000")
    fits(page, frame)
    frame.get_by_role("button", name="Dieses Flurstück auswählen").tap()
    expect(frame.get_by_role("heading", name="Flurstück ausgewählt")).to_be_visible()
    fits(page, frame)

    frame.get_by_role("button", name="Auszug bestellen").tap()
    expect_step(frame, "product")
    fits(page, frame)
    choose_product(frame, SELF_SERVICE)
    fits(page, frame)
    to_contact(frame)
    fits(page, frame)
    frame.get_by_role("button", name="Weiter zur Übersicht").tap()  # nothing filled in: errors
    expect(frame.locator("#error-summary")).to_be_visible()
    fits(page, frame)
    fill_contact(frame, CITIZEN, unique_email("telefon"))
    to_summary(frame)
    fits(page, frame)
    commit_order(frame)
    fits(page, frame)

    frame.get_by_role("button", name=re.compile(r"^Jetzt bezahlen")).tap()
    on_simulator(page, origins.simulator)
    fits(page)
    page.get_by_role("button", name=PAY_SUCCESS).tap()
    frame = back_in_the_form(page, origins)
    # back from the payment is a step too: the confirmation's heading has the focus and is in view
    expect_focused_in_view(page, frame, frame.get_by_role("heading", level=1))
    wait_state(frame, "completed")
    fits(page, frame)
    assert problems.unexpected(allowed=("status of 422",)) == []


def test_back_from_payment_only_to_an_allowed_host(make_page, origins):
    """return_to is an open door unless checked: only a host on embed.allowed_origins gets the citizen back."""
    page, _ = make_page(1280, 900)
    request = page.request

    def pay_and_return(return_to: str) -> tuple[str, list[dict]]:
        order = api_order(origins.picker, EXAMPLE_KEY)
        start = request.get(f"{order['payment_url']}&return_to={quote(return_to, safe='')}", max_redirects=0)
        assert start.status == 303, start.text()
        kept = [c for c in page.context.cookies() if c["name"] == "gis_payment_return"]
        paid = request.post(start.headers["location"], form={"action": "success"}, max_redirects=0)
        assert paid.status == 303
        back = request.get(paid.headers["location"], max_redirects=0)
        assert back.status == 303
        assert not [c for c in page.context.cookies() if c["name"] == "gis_payment_return"], "the cookie outlived the return"
        return back.headers["location"], kept

    # a foreign host: no cookie, the citizen lands on our own status page
    location, kept = pay_and_return(f"{origins.foreign}/demo/formular")
    assert kept == [] and location.startswith("/embed/order/LK-"), location
    location, kept = pay_and_return("https://evil.example/formular")
    assert kept == [] and location.startswith("/embed/order/LK-"), location

    # the allowed host: a first-party cookie of the order's pages only, then back to the form with our page
    location, kept = pay_and_return(origins.demo(lang="de"))
    assert len(kept) == 1 and kept[0]["httpOnly"] and kept[0]["sameSite"] == "Lax"
    assert re.fullmatch(r"/embed/order/LK-\d{4}-[0-9A-Z]{6}", kept[0]["path"]), kept
    assert location.startswith(origins.demo(lang="de") + "&gis_service_page=" + quote(f"{origins.picker}/embed/order/LK-", safe="")), location

    # the host page frames only pages of the picker's origin
    html = requests.get(origins.demo(lang="de"), params={"gis_service_page": "https://evil.example/embed/x"}, timeout=10).text
    assert f'src="{origins.picker}/embed?lang=de"' in html
    # nor a malformed one
    assert requests.get(origins.demo(lang="de"), params={"gis_service_page": "http://["}, timeout=10).status_code == 200
