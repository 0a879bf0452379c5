"""Citizen and staff pages: German by default, English on request, labelled fields, linked error summaries, live status."""

from __future__ import annotations

import re

import pytest
import requests
from order_support import PARCEL, api_order, hidden_fields, order_body
from order_support import check_page as check


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
    contact = s.post(live.url("/embed/order/contact"), data={**base, "product": "eigentuemernachweis", "delivery": "post"},
                     timeout=10)
    page = check(contact.text, lang)
    assert {"field-name", "field-email", "field-street", "field-postcode", "field-city", "field-justification"} <= set(page.ids)
    errors = s.post(live.url("/embed/order/summary"), data={**base, "product": "eigentuemernachweis",
                                                              "delivery": "post", "email": "kaputt"}, timeout=10)
    assert errors.status_code == 422
    page = check(errors.text, lang)
    assert {"field-name", "field-email", "field-justification"} <= set(page.links)
    assert 'aria-invalid="true"' in errors.text and 'aria-describedby="field-email-hint field-email-error"' in errors.text
    assert ("Fehler:" if lang == "de" else "Error:") in errors.text  # not by colour alone
    assert errors.text.count('role="alert"') == 1
    assert re.search(r"<title>(Fehler|Error):", errors.text)


def test_no_contact_address_fields_for_download(quiet_sqlite):
    contact = requests.post(quiet_sqlite.url("/embed/order/contact"),
                            data={"parcel": PARCEL, "product": "karte-online"}, timeout=10)
    assert 'id="field-street"' not in contact.text and 'id="field-justification"' not in contact.text


def test_summary_shows_the_fee_and_order_button(quiet_sqlite):
    data = {"parcel": PARCEL, "product": "karte-amt", "paper": "A2", "delivery": "post", "copies": "2",
            "name": "Erika Mustermann", "email": "e@example.org", "street": "Am Markt 1", "postcode": "59999",
            "city": "Lindenhagen"}
    summary = requests.post(quiet_sqlite.url("/embed/order/summary"), data=data, timeout=10)
    check(summary.text)
    assert "70,00\u00a0€" in summary.text and "zahlungspflichtig bestellen" in summary.text
    fields = hidden_fields(summary.text)
    assert fields["expected_amount_cents"] == "7000" and len(fields["form_token"]) >= 20
    # the fee changed between summary and order (e.g. tampered hidden field): shown again, not ordered
    changed = requests.post(quiet_sqlite.url("/embed/order/submit"), data={**fields, "expected_amount_cents": "100"},
                            allow_redirects=False, timeout=10)
    assert changed.status_code == 409 and "Die Gebühr hat sich geändert" in changed.text
    assert quiet_sqlite.service.repository.find_by_idempotency_key(f"web:{fields['form_token']}") is None


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
