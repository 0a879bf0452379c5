"""The accessibility statement in Chromium: axe-core with zero violations at 1280 and 320 px in German and English,
and feedback end to end: sent from the picker's footer inside the host form, mailed, seen and answered by staff."""

from __future__ import annotations

import re
import secrets

import pytest
from browser_helpers import open_demo
from order_steps import staff_login
from order_support import Mailbox, wait_until
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

STATEMENT = "/embed/barrierefreiheit"
HEADING = {"de": "Erklärung zur Barrierefreiheit", "en": "Accessibility statement"}
SEND = {"de": "Rückmeldung senden", "en": "Send feedback"}
THANKS = {"de": "Vielen Dank für Ihre Rückmeldung", "en": "Thank you for your feedback"}


def _statement(page: Page, base: str, lang: str) -> None:
    page.goto(f"{base}{STATEMENT}?lang={lang}")
    expect(page.locator("h1")).to_have_text(HEADING[lang])


def _with_errors(page: Page, base: str, lang: str) -> None:
    _statement(page, base, lang)
    page.locator("#field-email").fill("not-an-address")
    page.get_by_role("button", name=SEND[lang]).click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#field-message")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-email")).to_have_attribute("aria-invalid", "true")


def _thanks(page: Page, base: str, lang: str) -> None:
    _statement(page, base, lang)
    page.locator("#field-message").fill(f"axe check {secrets.token_hex(3)}")
    page.get_by_role("button", name=SEND[lang]).click()
    expect(page.locator("h1")).to_have_text(THANKS[lang])


STATES = {"statement": _statement, "errors": _with_errors, "thanks": _thanks}


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("state", list(STATES))
def test_statement_has_no_axe_violations_and_reflows(make_page, origins, state, lang, width):
    page, problems = make_page(width, 900 if width > 400 else 640)
    STATES[state](page, origins.picker, lang)
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == lang
    assert axe_violations(page) == []
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scrolling at {width} px: {widths}"
    assert problems.unexpected(allowed=("the server responded with a status of 4",)) == []


def test_the_error_summary_leads_to_the_field(make_page, origins):
    page, _ = make_page(1280, 900)
    _with_errors(page, origins.picker, "de")
    page.locator("#error-summary").get_by_role("link", name=re.compile("Bitte beschreiben Sie")).click()
    expect(page.locator("#field-message")).to_be_focused()
    # what was typed is still there
    expect(page.locator("#field-email")).to_have_value("not-an-address")


def test_feedback_from_the_picker_in_the_host_form_reaches_mail_and_staff(make_page, origins, smtp, browser_app,
                                                                          staff_accounts):
    page, problems = make_page(1280, 900)
    frame = open_demo(page, origins.demo(lang="de"))
    # the footer of the picker's page, inside the municipality's form
    frame.get_by_role("link", name="Erklärung zur Barrierefreiheit").click()
    expect(frame.locator("h1")).to_have_text("Erklärung zur Barrierefreiheit")
    expect(frame.locator("#field-page_url")).to_have_value("/embed")  # the page the citizen came from
    mark = secrets.token_hex(4)
    frame.locator("#field-message").fill(f"Die Karte kann ich mit dem Screenreader nicht nutzen ({mark}).")
    frame.locator("#field-name").fill("Erika Beispiel")
    frame.locator("#field-email").fill(f"erika-{mark}@example.org")
    frame.get_by_role("button", name="Rückmeldung senden").click()
    expect(frame.locator("h1")).to_have_text("Vielen Dank für Ihre Rückmeldung")
    number = re.search(r"Nummer (\d+)", frame.locator("#feedback-number").inner_text()).group(1)
    assert problems.unexpected(allowed=("the server responded with a status of 4",)) == []

    # the contact address (the office's, as none is configured for accessibility) gets it by mail
    office = browser_app.extensions["gis_settings"].orders.office.email
    mail = wait_until(lambda: next((m for m in smtp.to(office) if mark in Mailbox.body(m)), None), 30,
                      message="the feedback mail")
    assert mail["Subject"] == f"Rückmeldung zur Barrierefreiheit Nr. {number}"
    assert "Betroffene Seite: /embed" in Mailbox.body(mail)

    # staff see it in their navigation and list, and mark it answered
    clerk, _ = make_page(1280, 900)
    staff_login(clerk, origins.picker)
    link = clerk.get_by_role("link", name=re.compile(r"^Rückmeldungen Barrierefreiheit \(\d+ neu\)$"))
    expect(link).to_be_visible()
    link.click()
    expect(clerk.locator("h1")).to_have_text("Rückmeldungen zur Barrierefreiheit")
    item = clerk.locator(f"#feedback-{number}")
    expect(item).to_contain_text(mark)
    expect(item).to_contain_text("Erika Beispiel")
    expect(item).to_contain_text("neu")
    assert axe_violations(clerk) == []
    # (the hidden part of the button's name is a block of its own: Chromium puts a space before it)
    item.get_by_role("button", name=re.compile(rf"^Als beantwortet markieren ?: Nr\. {number}$")).click()
    expect(clerk.locator(".flash")).to_contain_text(f"Rückmeldung Nr. {number} als beantwortet vermerkt.")
    expect(clerk.locator(f"#feedback-{number}")).to_have_count(0)  # the list of new ones
    clerk.get_by_role("link", name=re.compile(r"^Beantwortet \(\d+\)$")).click()
    expect(clerk.locator(f"#feedback-{number}")).to_contain_text("beantwortet")
    expect(clerk.locator(f"#feedback-{number}").get_by_role("button")).to_have_count(0)
    assert axe_violations(clerk) == []
