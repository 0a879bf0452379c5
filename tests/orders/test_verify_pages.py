"""The verification pages over HTTP: a paid extract's record and file check, withdrawn extracts, unknown codes, limits."""

from __future__ import annotations

import hashlib
import re
import secrets

import pytest
import requests
from order_support import api_order, check_page, order_body, order_state, pay_order, token_of, unique_email

from gis_service.orders import verification as codes
from gis_service.orders.models import ExtractVerification

OFFICE = "Vermessungs- und Katasteramt Lindenhagen (Demo)"


def paid_extract(live, simulator, name: str = "Erika Mustermann", email: str | None = None):
    """An extract ordered through the API and paid: (order number, token, its document in the order's state, the PDF)."""
    email = email or unique_email()
    body = api_order(live, order_body(contact={"name": name, "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    state = order_state(live, number, token)
    assert state["status"] == "completed", state["status"]
    [document] = state["documents"]
    pdf = requests.get(document["url"], timeout=30).content
    assert pdf.startswith(b"%PDF-")
    return number, token, document, pdf


def test_paid_extract_has_a_code_and_its_page_shows_what_was_issued(quiet, simulator):
    name, email = "Erika Geheimname", unique_email("geheim")
    number, token, document, pdf = paid_extract(quiet, simulator, name, email)
    code = document["verification_code"]
    assert codes.normalise(code) and document["verification_url"] == quiet.url(f"/verify/{code}")
    with quiet.orders.factory() as session:
        row = session.query(ExtractVerification).filter_by(code=codes.normalise(code)).one()
        assert row.sha256 == hashlib.sha256(pdf).hexdigest() and row.size == len(pdf)
        assert (row.parcel_key, row.scale, row.paper, row.orientation) == ("05987100100090______", 1000, "A4", "portrait")
        assert row.office == OFFICE and row.product_id == "karte-online" and not row.sealed
        assert row.data_currency  # the demo data have one

    page = requests.get(document["verification_url"], timeout=30)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    check_page(page.text)
    html = page.text
    assert 'id="verdict" data-valid="true"' in html and "Gültig" in html
    assert hashlib.sha256(pdf).hexdigest() in html
    assert "05987100100090______" in html and "1:1000" in html and "DIN A4, Hochformat" in html and OFFICE in html
    # the orderer never appears: no name, e-mail, order number or access token
    assert name not in html and email not in html and number not in html and token not in html

    # the citizen's status page links to it
    status_page = requests.get(quiet.url(f"/embed/order/{number}"), params={"t": token}, timeout=30).text
    assert f'href="/verify/{code}?lang=de"' in status_page and f"Prüfcode {code}" in status_page

    # the same page in English: by ?lang=en, and by the browser's language (a recipient abroad)
    for english in (requests.get(document["verification_url"], params={"lang": "en"}, timeout=30),
                    requests.get(document["verification_url"], headers={"Accept-Language": "en-GB,en;q=0.9"}, timeout=30)):
        assert english.status_code == 200 and "Valid: this extract was issued on" in english.text
        assert 'lang="en"' in english.text and "Portrait" in english.text


def test_the_server_compares_an_uploaded_file_without_javascript(quiet, simulator):
    _, _, document, pdf = paid_extract(quiet, simulator)
    url = document["verification_url"]
    same = requests.post(url, files={"pdf": ("Auszug.pdf", pdf, "application/pdf")}, timeout=30)
    assert same.status_code == 200 and 'data-match="true"' in same.text
    assert "ist genau der ausgestellte Auszug" in same.text
    changed = pdf[:1000] + bytes([pdf[1000] ^ 1]) + pdf[1001:]
    other = requests.post(url, files={"pdf": ("Auszug.pdf", changed, "application/pdf")}, timeout=30)
    assert other.status_code == 200 and 'data-match="false"' in other.text
    assert hashlib.sha256(changed).hexdigest() in other.text
    empty = requests.post(url, data={"x": "1"}, files={"pdf": ("", b"", "application/octet-stream")}, timeout=30)
    assert empty.status_code == 400 and "Bitte wählen Sie eine PDF-Datei aus." in empty.text
    # nothing was stored: the order's folder holds the one extract, as before
    files = [p for p in quiet.orders.store.root.iterdir() if p.stat().st_size == len(changed)]
    assert all(p.read_bytes() != changed for p in files)


def test_an_oversized_upload_is_refused_before_it_is_read(quiet, simulator):
    _, _, document, _ = paid_extract(quiet, simulator)
    limit = quiet.app.extensions["gis_settings"].orders.verification.max_upload_mb * 1024 * 1024
    client = quiet.app.test_client()
    path = "/verify/" + document["verification_code"]
    response = client.post(path, data=b"x" * (limit + 1),
                           headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 413 and "zu groß" in response.get_data(as_text=True)


def test_withdrawn_extracts_say_why(quiet, simulator):
    service = quiet.service
    # refunded: a completed online order cancelled by staff with a refund
    number, _, document, _ = paid_extract(quiet, simulator)
    order = service.repository.get(number)
    service.late_cancellation.cancel_with_refund(number, "staff:test", order.version, "Doppelt bestellt")
    page = requests.get(document["verification_url"], timeout=30).text
    assert 'data-valid="false"' in page and "Nicht mehr gültig seit" in page
    assert "storniert und die Gebühr erstattet" in page
    # superseded: a clerk produces the extract of a staff-made order again
    body = api_order(quiet, order_body(product="karte-amt", paper="A4")).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(quiet, simulator, number, token)
    order = service.actions.take(number, "staff:test", service.repository.get(number).version)
    first = service.actions.produce_extract(number, "staff:test", order.version)
    first_code = first.current_documents[0].verification.code
    second = service.actions.produce_extract(number, "staff:test", first.version)
    second_code = second.current_documents[0].verification.code
    assert first_code != second_code
    old = requests.get(quiet.url(f"/verify/{codes.formatted(first_code)}"), params={"lang": "en"}, timeout=30).text
    assert "No longer valid since" in old and "replaced by a newly produced one" in old
    new = requests.get(quiet.url(f"/verify/{codes.formatted(second_code)}"), timeout=30).text
    assert 'data-valid="true"' in new
    # cancelled: the order closed by staff takes its current extract with it
    service.actions.cancel(number, "staff:test", service.repository.get(number).version, "Auf Wunsch storniert")
    page = requests.get(quiet.url(f"/verify/{codes.formatted(second_code)}"), timeout=30).text
    assert 'data-valid="false"' in page and ("Die Bestellung wurde storniert" in page or "erstattet" in page)


def test_unknown_and_malformed_codes(quiet):
    unknown = codes.formatted(codes.new_code())
    page = requests.get(quiet.url(f"/verify/{unknown}"), timeout=30)
    assert page.status_code == 404 and "Prüfcode nicht gefunden" in page.text
    check_page(page.text)
    english = requests.get(quiet.url(f"/verify/{unknown}"), params={"lang": "en"}, timeout=30)
    assert english.status_code == 404 and "not genuine" in english.text
    assert requests.get(quiet.url("/verify/nonsense"), timeout=30).status_code == 404
    assert requests.post(quiet.url(f"/verify/{unknown}"), files={"pdf": ("a.pdf", b"%PDF-1.4", "application/pdf")},
                         timeout=30).status_code == 404
    # the form: a typo (wrong check character) is told at once, a good code leads to its page
    form = requests.get(quiet.url("/verify"), timeout=30)
    assert form.status_code == 200 and 'name="code"' in form.text
    check_page(form.text)
    typo = unknown[:-1] + ("0" if unknown[-1] != "0" else "1")
    bad = requests.get(quiet.url("/verify"), params={"code": typo}, timeout=30)
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text and "kein gültiger Prüfcode" in bad.text
    empty = requests.get(quiet.url("/verify"), params={"code": " "}, timeout=30)
    assert empty.status_code == 400 and "Bitte geben Sie den Prüfcode ein." in empty.text
    typed = requests.get(quiet.url("/verify"), params={"code": unknown.lower().replace("-", " ")}, allow_redirects=False,
                         timeout=30)
    assert typed.status_code == 303 and typed.headers["Location"].endswith(f"/verify/{unknown}?lang=de")


def test_verify_routes_are_rate_limited(tmp_path):
    from gis_service.app import create_app
    from gis_service.config import load_settings

    app = create_app(load_settings(None, overrides={
        "instance_path": str(tmp_path), "secret_key": "verify-limit-secret-key-of-at-least-32-bytes",
        "limits": {"rate": {"verifications_per_address": "3/minute", "key_prefix": f"t-{secrets.token_hex(4)}"}},
        "orders": {"database_url": f"sqlite:///{tmp_path / 'o.sqlite'}", "worker": {"enabled": False},
                   "smtp": {"enabled": False}}}))
    try:
        client = app.test_client()
        code = codes.formatted(codes.new_code())
        answers = [client.get(f"/verify/{code}").status_code, client.get("/verify").status_code,
                   client.post(f"/verify/{code}").status_code]
        assert answers == [404, 200, 404]
        refused = client.get(f"/verify/{code}?lang=en")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "Too many requests" in refused.get_data(as_text=True)
        assert re.search(r"<html lang=\"en\"", refused.get_data(as_text=True))
    finally:
        app.extensions["gis_orders"].close()


def test_the_record_outlives_the_purge_of_the_orders_personal_data(quiet, simulator):
    from test_orders_dataprotection import close_days_ago

    from gis_service.orders.dataprotection import purge_personal_data

    number, _, document, pdf = paid_extract(quiet, simulator)
    close_days_ago(quiet, number, 91)
    settings = quiet.app.extensions["gis_settings"].orders.data_protection
    report = purge_personal_data(quiet.orders.factory, settings, quiet.orders.store)
    assert number in report.anonymised
    assert requests.get(document["url"], timeout=30).status_code == 404  # the file is gone with the personal data
    page = requests.get(document["verification_url"], timeout=30)
    # a recipient holding the extract can still check it: still valid, same SHA-256
    assert page.status_code == 200 and 'data-valid="true"' in page.text
    assert hashlib.sha256(pdf).hexdigest() in page.text
    same = requests.post(document["verification_url"], files={"pdf": ("Auszug.pdf", pdf, "application/pdf")}, timeout=30)
    assert 'data-match="true"' in same.text


def test_staff_see_the_code_of_each_extract(quiet_sqlite, simulator):
    from test_orders_staff import Browser, account

    number, _, document, _ = paid_extract(quiet_sqlite, simulator)
    clerk = Browser(quiet_sqlite)
    assert clerk.login(account(quiet_sqlite)).status_code == 303
    page = clerk.get(f"/staff/orders/{number}").text
    code = document["verification_code"]
    assert f'href="/verify/{code}"' in page and f"<code>{code}</code>" in page and "ohne elektronisches Siegel" in page
    # a caller reads out the code of the extract they hold: the clerk finds the order by it, typed any way
    typed = code.lower().replace("-", " ")
    queue = clerk.get("/staff/", params={"status": "all", "q": typed}).text
    assert number in queue
    other = codes.formatted(codes.new_code())
    assert number not in clerk.get("/staff/", params={"status": "all", "q": other}).text


def test_the_record_for_software(quiet_sqlite, simulator):
    """GET /api/v1/verifications/<code>: what the page shows, as JSON; unknown codes are problem+json 404s."""
    live = quiet_sqlite
    number, token, document, pdf = paid_extract(live, simulator)
    code = document["verification_code"]
    answer = requests.get(live.url(f"/api/v1/verifications/{code.lower().replace('-', '')}"), timeout=30)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["code"] == code and body["valid"] is True and body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert body["parcel"]["key"] == "05987100100090______" and body["scale"] == 1000 and body["size"] == len(pdf)
    assert body["page"] == document["verification_url"]
    assert number not in answer.text and token not in answer.text
    unknown = requests.get(live.url(f"/api/v1/verifications/{codes.formatted(codes.new_code())}"),
                           headers={"Accept-Language": "en"}, timeout=30)
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("application/problem+json")
    assert unknown.json()["code"] == "verification-not-found" and "No extract" in unknown.json()["detail"]
