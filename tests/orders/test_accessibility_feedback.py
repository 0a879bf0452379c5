"""The accessibility statement and its feedback form over HTTP: contents from configuration, footer links,
feedback stored, mailed through the real SMTP server, listed and marked by staff, hostile input refused with 4xx."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import requests
from order_support import Mailbox, check_page, order_settings, wait_until
from sqlalchemy import select, update

from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import AccessibilityFeedback, MailMessage

STATEMENT = "/embed/barrierefreiheit"
PASSWORD = "Korrekt-Pferd-Batterie-42"
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def make_app(tmp_path, smtp=None, **overrides):
    from gis_service.app import create_app
    from gis_service.config import _merge, load_settings

    settings = order_settings(instance=tmp_path, db_url=f"sqlite:///{tmp_path / 'orders.sqlite3'}", port=8080,
                              simulator=None, smtp=smtp, worker=False)
    return create_app(load_settings(None, overrides=_merge(settings, overrides)))


def form_token(client, lang: str = "de") -> str:
    page = client.get(f"{STATEMENT}?lang={lang}")
    assert page.status_code == 200
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def send(client, token: str | None = None, **fields):
    data = {"form_token": token if token is not None else form_token(client), "lang": "de", **fields}
    return client.post(STATEMENT, data=data)


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    app.extensions["gis_orders"].close()


# --- the statement ------------------------------------------------------------------------------------
def test_statement_states_conformity_limits_date_contact_and_enforcement_from_configuration(tmp_path):
    app = make_app(tmp_path, accessibility={
        "statement_date": "2026-11-02",
        "contact": {"name": "Stadt Beispielstadt, Barrierefreiheit", "email": "barrierefrei@beispielstadt.example",
                    "phone": "0201 123 456"},
        "enforcement": {"email": "ombudsstelle@land.example"},
        "limitations": [{"de": "Alte Kartenblätter sind eingescannt.", "en": "Old map sheets are scanned images."}],
    })
    client = app.test_client()
    german = client.get(STATEMENT).get_data(as_text=True)
    check_page(german, "de")
    assert "teilweise mit den Anforderungen der BITV 2.0" in german
    assert "02.11.2026" in german and "Selbstbewertung" in german
    assert "Stadt Beispielstadt, Barrierefreiheit" in german
    assert 'href="mailto:barrierefrei@beispielstadt.example"' in german and 'href="tel:0201123456"' in german
    # the NRW default for the enforcement body, with the configured e-mail address
    assert "Ombudsstelle für barrierefreie Informationstechnik des Landes NRW" in german
    assert 'href="https://www.lbbp.nrw.de/ombudsstelle"' in german and "ombudsstelle@land.example" in german
    # the known limitations, honestly: the map image, its contrast, the PDF, the payment pages, and the office's own
    for words in ("Screenreader nicht vorlesen", "3:1", "PDF/UA", "Bezahldienstes", "Alte Kartenblätter sind eingescannt."):
        assert words in german
    english = client.get(f"{STATEMENT}?lang=en").get_data(as_text=True)
    check_page(english, "en")
    assert "partially compliant" in english and "2 November 2026" in english
    assert "Old map sheets are scanned images." in english and "Alte Kartenblätter" not in english
    app.extensions["gis_orders"].close()


def test_contact_defaults_to_the_office(app):
    office = app.extensions["gis_settings"].orders.office
    page = app.test_client().get(STATEMENT).get_data(as_text=True)
    assert office.name in page and f'href="mailto:{office.email}"' in page


@pytest.mark.parametrize("path", ["/embed?lang=de", "/embed/preview?parcel=05987100100090______&lang=en",
                                  "/embed/order?parcel=05987100100090______", "/demo/formular", "/nirgendwo",
                                  "/staff/login", f"{STATEMENT}/danke?n=3", "/verify?lang=en",
                                  "/verify/ABCD-EFGH-JKLM"])
def test_every_page_footer_links_the_statement(app, path):
    response = app.test_client().get(path)
    footer = re.search(r"<footer.*?</footer>", response.get_data(as_text=True), re.S)
    assert footer, f"{path} has no footer"
    link = re.search(r'href="([^"]+)"', footer.group(0)).group(1).replace("&amp;", "&")
    assert link.startswith(STATEMENT)
    statement = app.test_client().get(link)
    heading = "Accessibility statement" if "lang=en" in link else "Erklärung zur Barrierefreiheit"
    assert statement.status_code == 200 and f"<h1>{heading}</h1>" in statement.get_data(as_text=True)


def test_the_form_suggests_the_page_the_citizen_came_from_without_a_drafts_key(app):
    client = app.test_client()
    page = client.get("/embed/order/d/" + "A" * 32 + "/contact?lang=de").get_data(as_text=True)
    link = re.search(r'<footer.*?href="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    statement = client.get(link).get_data(as_text=True)
    suggested = re.search(r'id="field-page_url"[^>]*value="([^"]*)"', statement).group(1)
    assert suggested == "/embed/order/d/…/contact" and "A" * 32 not in statement


def test_without_an_order_database_the_statement_stands_and_the_form_is_gone(tmp_path):
    from gis_service.app import create_app
    from gis_service.config import load_settings

    app = create_app(load_settings(None, overrides={"instance_path": str(tmp_path), "orders": {"enabled": False}}))
    client = app.test_client()
    page = client.get(STATEMENT).get_data(as_text=True)
    assert "teilweise" in page and "<textarea" not in page and "oben genannte E-Mail-Adresse" in page
    response = client.post(STATEMENT, data={"message": "Hallo"})
    assert response.status_code == 404


def test_the_form_can_be_switched_off(tmp_path):
    app = make_app(tmp_path, accessibility={"feedback": False})
    client = app.test_client()
    page = client.get(STATEMENT).get_data(as_text=True)
    assert "<textarea" not in page and "oben genannte E-Mail-Adresse" in page
    assert client.post(STATEMENT, data={"message": "Hallo"}).status_code == 404
    app.extensions["gis_orders"].close()


# --- feedback: stored, mailed, listed, marked -----------------------------------------------------------
class Staff:
    def __init__(self, live):
        self.live = live
        self.session = requests.Session()
        self.csrf = ""

    def get(self, path: str) -> requests.Response:
        response = self.session.get(self.live.url(path), timeout=30)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        self.csrf = found.group(1) if found else self.csrf
        return response

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        return self.session.post(self.live.url(path), data={"csrf_token": self.csrf, **(data or {})}, timeout=30,
                                 allow_redirects=False)

    def login(self) -> None:
        name = f"clerk-{secrets.token_hex(3)}"
        self.live.orders.accounts.create(name, PASSWORD, role="clerk")
        self.get("/staff/login")
        assert self.post("/staff/login", {"username": name, "password": PASSWORD}).status_code == 303
        self.get("/staff/")


def test_feedback_is_stored_mailed_and_marked_by_staff(live, smtp):
    citizen = requests.Session()
    statement = citizen.get(live.url(f"{STATEMENT}?lang=en&page=/embed/preview"), timeout=30)
    token = TOKEN.search(statement.text).group(1)
    mark = secrets.token_hex(4)
    message = f"The zoom buttons are not announced ({mark}).\nLine two."
    sent = citizen.post(live.url(STATEMENT), data={"form_token": token, "lang": "en", "message": message,
                                                   "page_url": "/embed/preview", "name": "Ada Reader",
                                                   "email": "ada.reader@example.org"}, allow_redirects=False, timeout=30)
    assert sent.status_code == 303
    thanks = citizen.get(live.url(sent.headers["Location"]), timeout=30)
    check_page(thanks.text, "en")
    number = int(re.search(r"number (\d+)", thanks.text).group(1))

    # the contact (orders.office.email here) gets the message through the outbox and the real SMTP server
    office = live.orders.settings.orders.office.email
    # (the SMTP server is shared by both databases' apps, whose numbers are alike: found by the message)
    mail = wait_until(lambda: next((m for m in smtp.to(office) if mark in Mailbox.body(m)), None),
                      message="the feedback mail")
    assert mail["Subject"] == f"Rückmeldung zur Barrierefreiheit Nr. {number}"
    body = Mailbox.body(mail)
    assert "The zoom buttons are not announced" in body and "Line two." in body and "/embed/preview" in body
    assert f"{live.base_url}/staff/barrierefreiheit" in body
    # who wrote stays in the back office (a mailbox may be shared or forwarded)
    assert "ada.reader@example.org" not in body and "Ada Reader" not in body

    staff = Staff(live)
    staff.login()
    queue = staff.get("/staff/").text
    assert re.search(r"Rückmeldungen Barrierefreiheit <span class=\"count\">\(\d+ neu\)", queue)
    listed = staff.get("/staff/barrierefreiheit").text
    check_page(listed, "de")
    item = re.search(rf'<li id="feedback-{number}".*?</li>\s*(?=<li id="feedback-|</ol>)', listed, re.S).group(0)
    assert "Ada Reader" in item and "ada.reader@example.org" in item and "/embed/preview" in item
    assert "Englisch" in item and ">neu<" in item
    # newest first
    numbers = [int(n) for n in re.findall(r'<li id="feedback-(\d+)"', listed)]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == number

    assert staff.post(f"/staff/barrierefreiheit/{number}/read", {"status": "new"}).status_code == 303
    assert f'id="feedback-{number}"' not in staff.get("/staff/barrierefreiheit").text  # no longer new
    assert f'id="feedback-{number}"' in staff.get("/staff/barrierefreiheit?status=read").text
    answered = staff.post(f"/staff/barrierefreiheit/{number}/answered", {"status": "read"})
    assert answered.status_code == 303 and "status=read" in answered.headers["Location"]
    page = staff.get("/staff/barrierefreiheit?status=answered").text
    assert f"Rückmeldung Nr. {number} als beantwortet vermerkt." in page
    item = re.search(rf'<li id="feedback-{number}".*?</li>\s*(?=<li id="feedback-|</ol>)', page, re.S).group(0)
    assert ">beantwortet<" in item and "Als beantwortet markieren" not in item and "(Sachbearbeitung)" in item
    # marking it again says why not, and an unknown number is a 404
    staff.post(f"/staff/barrierefreiheit/{number}/read", {"status": "answered"})
    assert "ist schon als „beantwortet“ vermerkt" in staff.get("/staff/barrierefreiheit?status=answered").text
    assert staff.post("/staff/barrierefreiheit/99999999/read").status_code == 404
    assert staff.post(f"/staff/barrierefreiheit/{number}/delete").status_code == 404


def test_staff_list_needs_a_login_and_the_csrf_token(live):
    anonymous = requests.Session()
    response = anonymous.get(live.url("/staff/barrierefreiheit"), allow_redirects=False, timeout=30)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    staff = Staff(live)
    staff.login()
    staff.csrf = "forged"
    assert staff.post("/staff/barrierefreiheit/1/read").status_code == 400


def test_answered_feedback_is_deleted_after_the_retention_period(app):
    box = app.extensions["gis_orders"].service.feedback
    client = app.test_client()
    for text in ("Alt und beantwortet", "Neu und beantwortet", "Alt, aber offen"):
        assert send(client, message=text, email="x@example.org").status_code == 303
    old, recent, open_ = (item.id for item in sorted(box.list(), key=lambda item: item.id))
    box.mark(old, "answered", "staff:test")
    box.mark(recent, "answered", "staff:test")
    factory = app.extensions["gis_orders"].factory
    long_ago = utcnow() - timedelta(days=box.keep_days + 1)
    with transaction(factory) as session:
        session.execute(update(AccessibilityFeedback).where(AccessibilityFeedback.id == old)
                        .values(answered_at=long_ago))
        session.execute(update(AccessibilityFeedback).where(AccessibilityFeedback.id == open_)
                        .values(created_at=long_ago))
    mails = {item.id: item.mail_id for item in box.list()}
    assert all(mails.values())
    assert app.extensions["gis_orders"].service.run_due()["feedback_purged"] == 1
    assert sorted(item.id for item in box.list()) == [recent, open_]
    # the mail that carried the old message to the contact went with it; the others stay
    with factory() as session:
        kept = set(session.scalars(select(MailMessage.id).where(MailMessage.id.in_(list(mails.values())))))
    assert kept == {mails[recent], mails[open_]}


# --- hostile and faulty input: 4xx with a message, never 500 ---------------------------------------------
@pytest.mark.parametrize("fields, status, words", [
    ({"message": ""}, 422, "Bitte beschreiben Sie, was nicht barrierefrei ist."),
    ({"message": "   \n  "}, 422, "Bitte beschreiben Sie, was nicht barrierefrei ist."),
    ({"message": "x" * 5001}, 422, "Höchstens 5000 Zeichen (jetzt 5001)."),
    ({"message": "Nullbyte\x00"}, 422, "unzulässige Steuerzeichen"),
    ({"message": "ok", "email": "a@b.de\r\nBcc: victim@example.org"}, 422, "unzulässige Steuerzeichen"),
    ({"message": "ok", "email": "kein-at-zeichen"}, 422, "gültige E-Mail-Adresse"),
    ({"message": "ok", "name": "n" * 201}, 422, "Höchstens 200 Zeichen"),
    ({"message": "ok", "page_url": "javascript:alert(1)"}, 422, "Adresse der Seite"),
    ({"message": "ok", "page_url": "//evil.example/x"}, 422, "Adresse der Seite"),
    ({"message": "ok", "page_url": "/" + "p" * 2000}, 422, "Höchstens 2000 Zeichen"),
    ({"message": "<script>alert(1)</script>"}, 303, None),  # stored as text, shown escaped
])
def test_faulty_feedback_is_refused_with_the_reason_next_to_the_field(app, fields, status, words):
    client = app.test_client()
    response = send(client, **fields)
    assert response.status_code == status
    if words:
        page = response.get_data(as_text=True)
        check_page(page, "de")
        assert words in page and 'id="error-summary"' in page and 'aria-invalid="true"' in page
        assert "<script>alert(1)</script>" not in page


def test_the_form_keeps_what_was_typed_when_it_is_refused(app):
    page = send(app.test_client(), message="Mein Text", email="falsch").get_data(as_text=True)
    assert ">Mein Text</textarea>" in page and 'value="falsch"' in page


def test_stale_forged_or_foreign_forms_are_refused(app):
    client = app.test_client()
    for token in ("", "nonsense", "x" * 500, form_token(client) + "x"):
        response = send(client, token, message="Hallo")
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "Das Formular war zu lange geöffnet oder ist ungültig" in page and ">Hallo</textarea>" in page
    foreign = client.post(STATEMENT, data={"form_token": form_token(client), "message": "Hallo"},
                          headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400 and "fremden Seite" in foreign.get_data(as_text=True)
    # a token of another installation (another secret) does not pass either
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer("another-secret-key-0123456789abcdef", salt="gis-service accessibility feedback")
    assert send(client, other.dumps("feedback"), message="Hallo").status_code == 400
    assert app.extensions["gis_orders"].service.feedback.counts()["new"] == 0


def test_expired_form_token_is_refused(app, monkeypatch):
    import time

    client = app.test_client()
    token = form_token(client)
    later = time.time() + 7 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert send(client, token, message="Hallo").status_code == 400


def test_oversized_and_malformed_bodies(app):
    client = app.test_client()
    big = client.post(STATEMENT, data={"message": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413 and "zu groß" in big.get_data(as_text=True)
    raw = client.post(STATEMENT, data=b"message=%ff%fe%00&form_token=" + form_token(client).encode(),
                      content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 422
    as_json = client.post(STATEMENT, json={"message": "Hallo"})
    assert as_json.status_code == 400  # no form, no token


def test_rate_limit_counts_sent_feedback_per_address(tmp_path):
    app = make_app(tmp_path, limits={"rate": {"feedback_per_address": "2/hour"}})
    client = app.test_client()
    for _ in range(3):
        assert send(client, message="").status_code == 422  # refused forms do not count
    assert send(client, message="eins").status_code == 303
    assert send(client, message="zwei").status_code == 303
    third = send(client, message="drei")
    assert third.status_code == 429 and "Zu viele Anfragen" in third.get_data(as_text=True)
    assert int(third.headers["Retry-After"]) > 0
    assert app.extensions["gis_orders"].service.feedback.counts()["new"] == 2
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gis_accessibility_feedback{state="new"} 2.0' in metrics
    assert 'gis_accessibility_feedback{state="answered"} 0.0' in metrics
    app.extensions["gis_orders"].close()
