"""The verification page in Chromium: axe-core at 1280 and 320 px in both languages, and the file check with and without JavaScript."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from browser_helpers import EXAMPLE_KEY
from order_steps import api_order, api_pay
from playwright.sync_api import expect
from test_accessibility import axe_violations

from gis_service.orders import verification as codes

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def completed(base: str, order: dict) -> dict:
    """The order's state once its extract is made (on the payment return, or by the worker)."""
    token = parse_qs(urlsplit(order["status_url"]).query)["t"][0]
    deadline = time.monotonic() + 30
    while True:
        state = requests.get(f"{base}/api/v1/orders/{order['order_number']}", params={"token": token}, timeout=30).json()
        if state["status"] == "completed":
            return state
        assert time.monotonic() < deadline, state["status"]
        time.sleep(0.3)


@pytest.fixture(scope="module")
def extract(origins):
    """A paid self-service extract of the browser tests' app: (its page URL, the PDF delivered)."""
    order = api_order(origins.picker, EXAMPLE_KEY)
    api_pay(order)
    [document] = completed(origins.picker, order)["documents"]
    return document["verification_url"], requests.get(document["url"], timeout=30).content


@pytest.fixture(scope="module")
def withdrawn(origins, browser_app):
    """A paid extract then cancelled with a refund by staff: its page says it is no longer valid."""
    order = api_order(origins.picker, EXAMPLE_KEY)
    api_pay(order)
    [document] = completed(origins.picker, order)["documents"]
    service = browser_app.extensions["gis_orders"].service
    number = order["order_number"]
    service.late_cancellation.cancel_with_refund(number, "staff:test", service.repository.get(number).version,
                                                 "Doppelt bestellt")
    return document["verification_url"]


VIEWS = {
    "record": lambda extract, withdrawn, base: extract[0],
    "withdrawn": lambda extract, withdrawn, base: withdrawn,
    "unknown": lambda extract, withdrawn, base: f"{base}/verify/{codes.formatted(codes.new_code())}",
    "lookup-error": lambda extract, withdrawn, base: f"{base}/verify?code=ABCDE",
    "lookup": lambda extract, withdrawn, base: f"{base}/verify",
}


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_verify_pages_pass_axe(make_page, origins, extract, withdrawn, view, lang, width):
    page, problems = make_page(width, 800)
    url = VIEWS[view](extract, withdrawn, origins.picker)
    response = page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert response.status == {"unknown": 404, "lookup-error": 400}.get(view, 200)
    assert page.evaluate("() => document.documentElement.lang") == lang
    assert axe_violations(page) == []
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scrolling at {width} px: {widths}"
    assert problems.unexpected(allowed=("the server responded with a status of 4",)) == []


def test_the_browser_hashes_a_chosen_or_dropped_file_without_sending_it(make_page, origins, extract, tmp_path):
    url, pdf = extract
    page, problems = make_page(1280, 900)
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto(url)
    expect(page.locator("#sha256")).to_have_text(hashlib.sha256(pdf).hexdigest())
    same = tmp_path / "Auszug.pdf"
    same.write_bytes(pdf)
    page.locator("#field-pdf").set_input_files(str(same))
    result = page.locator("#file-result")
    expect(result).to_contain_text("„Auszug.pdf“ ist genau der ausgestellte Auszug")
    expect(result.locator("[data-match]")).to_have_attribute("data-match", "true")
    # a changed copy, dropped onto the field
    changed = pdf[:2000] + bytes([pdf[2000] ^ 1]) + pdf[2001:]
    page.evaluate(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: 'application/pdf'}));
            document.querySelector('.drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""", [base64.b64encode(changed).decode(), "Kopie.pdf"])
    expect(result).to_contain_text("„Kopie.pdf“ ist nicht der ausgestellte Auszug")
    expect(result).to_contain_text(hashlib.sha256(changed).hexdigest())
    assert posts == [], "the file went to the server"
    assert problems.unexpected() == []


def test_without_javascript_the_server_compares(browser, origins, extract, tmp_path):
    url, pdf = extract
    context = browser.new_context(java_script_enabled=False, locale="en-GB", viewport={"width": 320, "height": 700})
    try:
        page = context.new_page()
        page.goto(url)  # the browser's language: English
        expect(page.locator("h1")).to_contain_text("Check an extract")
        same = tmp_path / "extract.pdf"
        same.write_bytes(pdf)
        page.locator("#field-pdf").set_input_files(str(same))
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("#file-result")).to_contain_text("“extract.pdf” is exactly the issued extract")
    finally:
        context.close()
