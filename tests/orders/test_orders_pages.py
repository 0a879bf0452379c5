"""Citizen and staff pages: German by default, English on request, labelled fields, linked error summaries, live status."""

from __future__ import annotations

import re

import pytest
import requests
from order_support import PARCEL, absolute, api_order, hidden_fields, order_body, submit_summary, walk_to_summary
from order_support import check_page as check

from gis_service.orders.drafts import idempotency_key


@pytest.mark.parametrize("lang", ["de", "en"])
def test_order_pages_are_labelled_in_both_languages(quiet_sqlite, lang):
    live = quiet_sqlite
    s = requests.Session()
    base = {"parcel": PARCEL, "lang": lang}
    product = s.get(live.url("/embed/order"), params=base, timeout=10)
    check(product.text, lang)
    assert ("Was möchten Sie bestellen?" if lang == "de" else "What would you like to order?") in product.text
    options = s.get(live.url("/embed/order/options"), params={**base, "product": "karte-amt"}, timeout=10)
    check(options.text, lang)
    assert 'aria-live="polite"' in options.text and "<caption>" in options.text
    # "Weiter zu den Kontaktdaten" makes a draft and answers with its contact page (POST → 303 → GET)
    contact = s.post(live.url("/embed/order/contact"), data={**base, "product": "eigentuemernachweis", "delivery": "post"},
                     timeout=10)
    assert [r.status_code for r in contact.history] == [303] and "/embed/order/d/" in contact.url
    page = check(contact.text, lang)
    assert {"field-name", "field-email", "field-street", "field-postcode", "field-city", "field-justification"} <= set(page.ids)
    # what is wrong comes back on a page to GET too: back and reload never repeat a POST
    errors = s.post(contact.url.split("?")[0], data={"email": "kaputt", "lang": lang}, timeout=10)
    assert [r.status_code for r in errors.history] == [303] and "check=1" in errors.url
    assert errors.status_code == 422
    page = check(errors.text, lang)
    assert {"field-name", "field-email", "field-justification"} <= set(page.links)
    assert 'aria-invalid="true"' in errors.text and 'aria-describedby="field-email-hint field-email-error"' in errors.text
    assert 'value="kaputt"' in errors.text  # what was typed is kept in the draft
    assert ("Fehler:" if lang == "de" else "Error:") in errors.text  # not by colour alone
    assert errors.text.count('role="alert"') == 1
    assert re.search(r"<title>(Fehler|Error):", errors.text)


def test_no_contact_address_fields_for_download(quiet_sqlite):
    contact = requests.post(quiet_sqlite.url("/embed/order/contact"),
                            data={"parcel": PARCEL, "product": "karte-online"}, timeout=10)
    assert 'id="field-street"' not in contact.text and 'id="field-justification"' not in contact.text


def test_summary_shows_the_fee_and_order_button(quiet_sqlite):
    s = requests.Session()
    draft_id, summary = walk_to_summary(
        quiet_sqlite, s, "e@example.org", product="karte-amt", paper="A2", delivery="post", copies="2",
        contact={"street": "Am Markt 1", "postcode": "59999", "city": "Lindenhagen"})
    check(summary.text)
    assert "70,00\u00a0€" in summary.text and "zahlungspflichtig bestellen" in summary.text
    fields = hidden_fields(summary.text)
    assert fields["expected_amount_cents"] == "7000"
    # nothing personal travels in the form: the details stay in the draft on the server
    assert set(fields) == {"lang", "revision", "expected_amount_cents"}
    # the fee changed between summary and order (e.g. tampered hidden field): shown again, not ordered
    changed = submit_summary(quiet_sqlite, s, draft_id, summary.text, expected_amount_cents="100")
    assert changed.status_code == 303 and "notice=fee" in changed.headers["Location"]
    again = s.get(absolute(quiet_sqlite, changed.headers["Location"]), timeout=10)
    assert again.status_code == 200 and "Die Gebühr hat sich geändert" in again.text
    assert quiet_sqlite.service.repository.find_by_idempotency_key(idempotency_key(draft_id)) is None


@pytest.mark.parametrize("lang", ["de", "en"])
def test_status_page(quiet_sqlite, lang):
    body = api_order(quiet_sqlite, order_body(lang=lang)).json()
    page = requests.get(body["status_url"], params={"lang": lang}, timeout=10)
    structure = check(page.text, lang)
    assert structure.live_regions >= 1 and 'aria-live="polite"' in page.text
    assert body["order_number"] in page.text
    assert ("Jetzt bezahlen" if lang == "de" else "Pay now") in page.text


def test_staff_login_page(quiet_sqlite):
    check(requests.get(quiet_sqlite.url("/staff/login"), timeout=10).text)


def test_selection_page_leads_into_the_order(quiet_sqlite):
    selected = requests.post(quiet_sqlite.url("/embed/select"),
                             data={"parcel": PARCEL, "scale": "500", "paper": "A3", "orientation": "landscape"}, timeout=30)
    check(selected.text)
    assert 'action="/embed/order/"' in selected.text and "Auszug bestellen" in selected.text
    fields = hidden_fields(selected.text)
    assert fields["parcel"] == PARCEL and fields["scale"] == "500" and fields["paper"] == "A3"
    product = requests.get(quiet_sqlite.url("/embed/order"), params=fields, timeout=10)
    assert product.status_code == 200 and 'value="500"' in product.text
