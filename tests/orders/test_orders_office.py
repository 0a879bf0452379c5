"""Office notifications over a real SMTP server: a mail per order that needs a person, the daily digest, a mail that
failed for good shown in /staff and sent again; the staff history in words, not codes."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
import requests

import catalogues
from order_support import (
    confirmed_order,
    Mailbox,
    api_order,
    database_url,
    free_port,
    order_body,
    order_settings,
    pay_order,
    start_live_app,
    token_of,
    unique_email,
)
from test_orders_staff import Browser, account

from gis_service.orders import lifecycle as lc
from gis_service.orders import staff_words
from gis_service.orders.models import MailMessage, OfficeNotice

MAP_DESK = "karten@amt.example"
DESK = "auftraege@amt.example"
NOTIFY = {"recipients": [DESK], "per_product": {"karte-amt": [MAP_DESK]}}


def _app(request, backend: str, mailbox, max_attempts: int = 15, **extra):
    postgres = request.getfixturevalue("postgres")
    if backend == "postgresql" and postgres.admin_url is None:
        pytest.skip(f"PostgreSQL not reachable: {postgres.reason}")
    instance = request.getfixturevalue("tmp_path_factory").mktemp(f"office-{backend}")
    port = free_port()
    settings = order_settings(instance=instance, db_url=database_url(backend, postgres, instance), port=port,
                              simulator=request.getfixturevalue("simulator"), smtp=mailbox, worker=False, **extra)
    settings["orders"]["smtp"]["max_attempts"] = max_attempts
    live = start_live_app(settings, port)
    request.addfinalizer(live.stop)
    return live


def _office_mails(live, number: str | None = None) -> list[MailMessage]:
    with live.orders.factory() as session:
        query = session.query(MailMessage).filter(MailMessage.audience == "office")
        if number is not None:
            order = live.service.repository.get(number)
            query = query.filter(MailMessage.order_id == order.id)
        return query.all()


def _invoice_order(live, product: str, name: str = "Grete Grün") -> tuple[str, str]:
    email = unique_email()
    body = confirmed_order(live, order_body(product=product, payment_method="invoice",
                                      contact={"name": name, "email": email, "street": "Mühlenweg 12a",
                                               "postcode": "59999", "city": "Lindenhagen"})).json()
    return body["order_number"], email


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_office_mail_when_an_order_needs_a_person(request, backend, smtp, simulator):
    live = _app(request, backend, smtp, office_notifications=NOTIFY)
    map_order, citizen = _invoice_order(live, "karte-amt")
    record_order, _ = _invoice_order(live, "flurstuecksnachweis")
    automatic = api_order(live, order_body()).json()["order_number"]  # online, unpaid: nothing for a person yet

    # Several workers at once: the unique notice is the claim, the office hears of each order once.
    threads = [threading.Thread(target=live.service.office.run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live.service.run_due()
    live.service.run_due()
    assert [m.recipient for m in _office_mails(live, map_order)] == [MAP_DESK]
    assert [m.recipient for m in _office_mails(live, record_order)] == [DESK]
    assert _office_mails(live, automatic) == []

    mail = smtp.wait_for(MAP_DESK, map_order)
    assert mail["Subject"] == f"Auftrag {map_order} braucht eine Bearbeitung"
    body = Mailbox.body(mail)
    assert f"{live.base_url}/staff/orders/{map_order}" in body and "Liegenschaftskarte" in body
    # Number, product and link only: the citizen's name, address and e-mail stay in /staff.
    for private in ("Grete", "Grün", "Mühlenweg", citizen):
        assert private not in body and private not in mail["Subject"]
    assert smtp.wait_for(DESK, record_order)
    assert not any(record_order in m["Subject"] for m in smtp.to(MAP_DESK))

    # A payment gone wrong for good (the amount tampered with at the provider) is news of its own.
    online = api_order(live, order_body(product="flurstuecksnachweis")).json()
    number = online["order_number"]
    start = requests.get(online["payment_url"], allow_redirects=False, timeout=30)
    simulator.change(start.headers["Location"].rsplit("/", 1)[1], grossAmount="0.01")
    requests.get(simulator.pay(start.headers["Location"]), timeout=30)
    live.service.run_due()
    problem = smtp.wait_for(DESK, f"Zahlungsproblem bei Auftrag {number}")
    assert "passt nicht zur Gebühr" in Mailbox.body(problem)
    assert f"{live.base_url}/staff/orders/{number}" in Mailbox.body(problem)


def test_daily_digest_once_a_day(request, smtp, simulator):
    live = _app(request, "sqlite", smtp, office_notifications={**NOTIFY, "mode": "digest", "digest_hour": 7})
    first, _ = _invoice_order(live, "karte-amt")
    second, _ = _invoice_order(live, "flurstuecksnachweis")
    office = live.service.office
    # 06:30 in Berlin (05:30 UTC in January): too early, the notices wait.
    assert office.run(datetime(2031, 1, 10, 5, 30, tzinfo=UTC)) == 0
    assert _office_mails(live) == []
    # 08:00 in Berlin, several workers at once: one digest per recipient, once.
    morning = datetime(2031, 1, 10, 7, 0, tzinfo=UTC)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(office.run(morning))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 2]
    assert office.run(datetime(2031, 1, 10, 15, 0, tzinfo=UTC)) == 0  # the same day again: nothing
    live.service.outbox.send_pending()
    digest = smtp.wait_for(MAP_DESK, "Tagesübersicht 10.01.2031")
    assert first in Mailbox.body(digest) and second not in Mailbox.body(digest)
    assert "1 Meldung" in digest["Subject"]
    other = smtp.wait_for(DESK, "Tagesübersicht 10.01.2031")
    assert second in Mailbox.body(other) and f"{live.base_url}/staff/orders/{second}" in Mailbox.body(other)

    # The next day lists only what came in since.
    third, _ = _invoice_order(live, "flurstuecksnachweis")
    assert office.run(datetime(2031, 1, 11, 7, 0, tzinfo=UTC)) == 1
    live.service.outbox.send_pending()
    next_day = smtp.wait_for(DESK, "Tagesübersicht 11.01.2031")
    assert third in Mailbox.body(next_day) and second not in Mailbox.body(next_day)


def test_failed_for_good_mail_shown_in_staff_and_sent_again(request, simulator):
    port = free_port()  # nobody listens here yet: the SMTP server is down
    live = _app(request, "sqlite", SimpleNamespace(port=port), office_notifications={"recipients": [DESK]},
                max_attempts=1)
    number, citizen = _invoice_order(live, "flurstuecksnachweis")
    live.service.run_due()  # the citizen's mails (address confirmation, receipt) and the office mail fail for good
    with live.orders.factory() as session:
        citizen_mails = session.query(MailMessage).filter_by(recipient=citizen).order_by(MailMessage.id).all()
        assert citizen_mails and all(m.failed and m.attempts == 1 and "Connection" in m.last_error
                                     for m in citizen_mails)
        failed = citizen_mails[-1]

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()  # the server is back
    request.addfinalizer(controller.stop)
    live.service.run_due()
    # The office hears of the failed citizen mail (not of its own failed one: that would fail alike).
    told = mailbox.wait_for(DESK, f"E-Mail zu Auftrag {number} nicht zugestellt")
    assert f"{live.base_url}/staff/outbox" in Mailbox.body(told) and citizen not in Mailbox.body(told)
    assert mailbox.to(citizen) == []  # failed for good stays failed until a person says otherwise

    clerk = Browser(live)
    assert clerk.login(account(live)).status_code == 303
    queue = clerk.get("/staff/").text
    # the citizen's and the office's own first mail
    assert re.search(r'data-count="failed_mails">(\d+)<', queue).group(1) == str(len(citizen_mails) + 1)
    outbox = clerk.get("/staff/outbox?state=failed").text
    masked = citizen[0] + "***@example.org"
    assert masked in outbox and citizen not in outbox and "endgültig fehlgeschlagen" in outbox
    assert "ConnectionRefusedError" in outbox
    detail, _ = clerk.detail(number)
    assert "endgültig fehlgeschlagen" in detail and "Erneut senden" in detail

    assert clerk.post(f"/staff/outbox/{failed.id}/resend", {"back": "order"}, csrf=False).status_code == 400
    again = clerk.post(f"/staff/outbox/{failed.id}/resend", {"back": "order"})
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/staff/orders/{number}")
    live.service.run_due()
    arrived = mailbox.wait_for(citizen, number)
    assert "Bestellung" in arrived["Subject"]
    detail, _ = clerk.detail(number)
    assert "E-Mail erneut gesendet" in detail
    order = live.service.repository.get(number)
    resent = [e for e in order.events if e.action == "mail_resent"]
    assert len(resent) == 1 and resent[0].actor.startswith("staff:")
    # A sent mail cannot be sent again, a mail that does not exist neither: a message, not a 500.
    sent_again = clerk.post(f"/staff/outbox/{failed.id}/resend")
    assert sent_again.status_code == 303 and "bereits zugestellt" in clerk.get("/staff/outbox").text
    assert clerk.post("/staff/outbox/999999/resend").status_code == 303
    assert "gibt es nicht" in clerk.get("/staff/outbox").text
    assert clerk.get("/staff/counts.json?since=x").status_code == 400
    counts = clerk.get("/staff/counts.json").json()
    # the office's own mail and the citizen's mails nobody sent again are still failed
    assert counts["failed_mails"] == len(citizen_mails)


def test_history_and_payments_in_words_not_codes(quiet_sqlite, simulator, clerk):
    live = quiet_sqlite
    body = api_order(live, order_body(product="flurstuecksnachweis")).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    live.service.run_due()
    assert clerk.act(number, "take").status_code == 303
    page, _ = clerk.detail(number)
    history = page[page.index("<h2>Verlauf</h2>"):]
    payments = page[page.index('id="h-fee"'):page.index("<h2>Unterlagen</h2>")]
    order = live.service.repository.get(number)
    codes = {e.actor for e in order.events} | {e.action for e in order.events}
    codes |= {e.to_status for e in order.events if e.to_status} | {(e.details or {}).get("kind") for e in order.events}
    codes.discard(None)
    assert {"citizen", "payment:xbezahldienste", "paid", "mail_queued"} <= codes
    for code in codes:
        assert not re.search(rf"[>\s(]{re.escape(code)}[<\s)]", history), code
    assert "PAYED" not in payments and "bezahlt" in payments
    assert "Kundin/Kunde" in history and "Bezahldienst XBezahldienste" in history
    assert "(Sachbearbeitung)" in history and "automatisch (System)" in history


def test_words_exist_in_german_and_english():
    for action in lc.ACTION_TEXT:
        for lang in ("de", "en"):
            assert staff_words.event_text(action, lang) == catalogues.text(lc.ACTION_TEXT[action], lang)
        assert staff_words.event_text(action, "de") != action  # German words, never the code
    for status in lc.STATUSES:
        assert staff_words.event_text(f"status:{status}", "en") == f"Status: {catalogues.text(lc.STATUS_TEXT[status], 'en')}"
    assert staff_words.actor_text("citizen", "en") == "citizen"
    assert staff_words.actor_text("citizen") == "Kundin/Kunde"
    assert staff_words.actor_text("payment:xbezahldienste") == "Bezahldienst XBezahldienste"
    assert staff_words.actor_text("staff:mmeier", "en") == "mmeier (clerk)"
    assert staff_words.actor_text("api:formserver") == "Formularserver formserver"
    assert staff_words.payment_status_text("PAYED") == "bezahlt"
    assert staff_words.payment_status_text("PAYED", "en") == "paid"
    assert staff_words.mail_kind_text("received") == "Eingangsbestätigung"
    # Something new is named as such, never shown as its code.
    assert staff_words.event_text("brand_new_code") == "sonstiger Eintrag"
    assert staff_words.status_words("weird", "en") == "other entry"


def test_unlock_offered_only_on_a_locked_account(quiet_sqlite):
    live = quiet_sqlite
    accounts = live.orders.accounts
    for user in accounts.list():  # the app is shared: an earlier test may have locked an account on purpose
        accounts.unlock(user.id)
    admin = Browser(live)
    assert admin.login(account(live, "admin")).status_code == 303
    locked = account(live)
    for _ in range(live.orders.settings.orders.staff.max_failed_logins):
        Browser(live).login(locked, "falsches-Passwort-123")
    page = admin.get("/staff/users").text
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<th scope="row">([^<( ]+).*?</th>(.*?)</tr>', page, re.S)}
    assert "Entsperren" in rows[locked] and "gesperrt bis" in rows[locked]
    unlocked = [name for name, row in rows.items() if name != locked]
    assert unlocked and all("Entsperren" not in rows[name] for name in unlocked)


def test_office_notification_settings_are_strict():
    from gis_service.config import ConfigError, load_settings

    for bad in ({"recipients": ["not-an-address"]}, {"per_product": {"unknown-product": [DESK]}},
                {"mode": "sometimes"}, {"digest_hour": 24}, {"per_product": {"karte-amt": []}}, {"cc": [DESK]}):
        with pytest.raises(ConfigError):
            load_settings(None, overrides={"orders": {"office_notifications": bad}})
    settings = load_settings(None, overrides={"orders": {"office_notifications": NOTIFY}})
    assert settings.orders.office_notifications.mode == "single"


@pytest.fixture
def clerk(quiet_sqlite):
    browser = Browser(quiet_sqlite)
    assert browser.login(account(quiet_sqlite)).status_code == 303
    return browser
