"""The citizen's journey as lived: back and reload never order twice, English to the end, cancelling asks first."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from datetime import timedelta

import pytest
import requests
from order_support import (
    DRAFT_PAGE,
    Mailbox,
    absolute,
    api_order,
    hidden_fields,
    order_body,
    order_state,
    submit_summary,
    token_of,
    unique_email,
    walk_to_summary,
)
from order_support import check_page as check
from sqlalchemy import func, select, update

from gis_service.orders.dataprotection import purge_personal_data
from gis_service.orders.db import utcnow
from gis_service.orders.drafts import idempotency_key
from gis_service.orders.models import Order, SavedDraft

ORDER_PAGE = re.compile(r"/embed/order/([A-Z]+-\d{4}-[0-9A-Z]{6})\?")


def number_in(location: str) -> str:
    found = ORDER_PAGE.search(location)
    assert found, location
    return found.group(1)


def orders_of_draft(live, draft_id: str) -> int:
    with live.orders.factory() as session:
        return session.scalar(select(func.count()).select_from(Order)
                              .where(Order.idempotency_key == idempotency_key(draft_id)))


def draft_stored(live, draft_id: str) -> bool:
    """Whether the draft's row (with its personal data) is still in the database, expired or not."""
    id_hash = hashlib.sha256(draft_id.encode("ascii")).hexdigest()
    with live.orders.factory() as session:
        return session.scalar(select(func.count()).select_from(SavedDraft).where(SavedDraft.id_hash == id_hash)) == 1


def set_draft_age(live, draft_id: str, hours: float) -> None:
    id_hash = hashlib.sha256(draft_id.encode("ascii")).hexdigest()
    with live.orders.factory() as session, session.begin():
        session.execute(update(SavedDraft).where(SavedDraft.id_hash == id_hash).values(
            created_at=utcnow() - timedelta(hours=hours), expires_at=utcnow() - timedelta(hours=hours - 24)))


def test_a_reused_summary_never_makes_a_second_order(quiet):
    email = unique_email("zurueck")
    tab = requests.Session()
    draft_id, summary = walk_to_summary(quiet, tab, email)
    second_tab = requests.Session().get(summary.url, timeout=10)  # the same summary open twice
    assert second_tab.status_code == 200

    ordered = submit_summary(quiet, tab, draft_id, summary.text)
    assert ordered.status_code == 303 and "received=1" in ordered.headers["Location"]
    number = number_in(ordered.headers["Location"])
    received = tab.get(absolute(quiet, ordered.headers["Location"]), timeout=10)  # a reload only GETs it again
    assert received.status_code == 200 and number in received.text

    # back: every page of the draft now leads to the order
    for page in (f"/embed/order/d/{draft_id}/summary", f"/embed/order/d/{draft_id}/contact",
                 f"/embed/order/options?parcel=x&product=karte-online&draft={draft_id}",
                 f"/embed/order?parcel=05987100100090______&draft={draft_id}"):
        back = tab.get(quiet.url(page), allow_redirects=False, timeout=10)
        assert back.status_code == 303 and number_in(back.headers["Location"]) == number, page
    # the summary sent again (after back, from the other tab, twice at once): the same order each time
    again = [submit_summary(quiet, tab, draft_id, summary.text),
             submit_summary(quiet, requests.Session(), draft_id, second_tab.text)]
    assert [number_in(r.headers["Location"]) for r in again] == [number, number]
    assert orders_of_draft(quiet, draft_id) == 1
    order = quiet.service.repository.find(number)
    assert order.contact_email == email and order.status == "submitted"
    assert not draft_stored(quiet, draft_id)  # the order holds the data now, the draft's copy is gone


def test_one_order_when_the_summary_is_sent_many_times_at_once(quiet):
    session = requests.Session()
    draft_id, summary = walk_to_summary(quiet, session, unique_email("gleichzeitig"))
    answers: list[requests.Response] = []

    def send():
        answers.append(submit_summary(quiet, requests.Session(), draft_id, summary.text))

    threads = [threading.Thread(target=send) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [303] * 15, [a.text[:300] for a in answers if a.status_code != 303]
    assert len({number_in(a.headers["Location"]) for a in answers}) == 1
    assert orders_of_draft(quiet, draft_id) == 1


def test_personal_data_never_travel_in_urls(quiet_sqlite):
    live, session = quiet_sqlite, requests.Session()
    seen: list[str] = []
    session.hooks["response"].append(lambda r, *args, **kwargs: seen.extend([r.url, r.headers.get("Location", "")]))
    email = unique_email("url")
    draft_id, summary = walk_to_summary(live, session, email, contact={"phone": "0221 123456"})
    submit_summary(live, session, draft_id, summary.text)
    assert len(seen) >= 10
    for url in seen:
        assert email.split("@")[0] not in url and "Mustermann" not in url and "123456" not in url, url


def test_details_changed_in_another_tab_are_shown_before_ordering(quiet_sqlite):
    live, session = quiet_sqlite, requests.Session()
    draft_id, summary = walk_to_summary(live, session, unique_email("alt"))
    newer = unique_email("neu")
    changed = session.post(live.url(f"/embed/order/d/{draft_id}/contact"),
                           data={"name": "Erika Mustermann", "email": newer}, timeout=10)  # the other tab
    assert changed.status_code == 200 and newer in changed.text
    stale = submit_summary(live, session, draft_id, summary.text)
    assert stale.status_code == 303 and "notice=changed" in stale.headers["Location"]
    assert orders_of_draft(live, draft_id) == 0
    shown = session.get(absolute(live, stale.headers["Location"]), timeout=10)
    assert "Ihre Angaben haben sich geändert" in shown.text and newer in shown.text
    ordered = submit_summary(live, session, draft_id, shown.text)
    assert live.service.repository.find(number_in(ordered.headers["Location"])).contact_email == newer


def test_back_to_the_options_keeps_the_contact_details(quiet_sqlite):
    live, session = quiet_sqlite, requests.Session()
    email = unique_email("optionen")
    draft_id, _ = walk_to_summary(live, session, email)
    contact = session.get(live.url(f"/embed/order/d/{draft_id}/contact"), timeout=10)
    back_link = re.search(r'<a href="([^"]*/embed/order/options\?[^"]*)">Zurück zu den Optionen', contact.text).group(1)
    options = session.get(absolute(live, back_link.replace("&amp;", "&")), timeout=10)
    fields = hidden_fields(options.text)
    assert fields["draft"] == draft_id
    onwards = session.post(live.url("/embed/order/contact"), timeout=10,
                           data={**fields, "paper": "A3", "orientation": "landscape", "scale": "1000"})
    assert DRAFT_PAGE.search(onwards.url).group(1) == draft_id  # the same draft, not a new one
    assert f'value="{email}"' in onwards.text
    summary = session.get(live.url(f"/embed/order/d/{draft_id}/summary"), timeout=10)
    assert "DIN A3, Querformat" in summary.text


def test_an_order_in_english_stays_english_but_the_extract_is_german(live_sqlite, simulator, smtp):
    live, session = live_sqlite, requests.Session()
    email = unique_email("english")
    draft_id, summary = walk_to_summary(live, session, email, lang="en")
    check(summary.text, "en")
    assert "Summary of your order" in summary.text
    ordered = submit_summary(live, session, draft_id, summary.text)
    number, token = number_in(ordered.headers["Location"]), token_of(ordered.headers["Location"])
    assert live.service.repository.find(number).lang == "en"
    received = session.get(absolute(live, ordered.headers["Location"]), timeout=10)
    check(received.text, "en")
    assert "Your order has been received" in received.text and "Pay now" in received.text

    # the payment service is asked in English and shows its page in English
    start = session.get(live.url(f"/embed/order/{number}/pay"), params={"t": token}, allow_redirects=False, timeout=30)
    payment_page = session.get(start.headers["Location"], timeout=10)
    assert '<html lang="en">' in payment_page.text and "<h1>Payment</h1>" in payment_page.text
    assert "Pay (success)" in payment_page.text and "Bezahlen" not in payment_page.text
    back = session.post(start.headers["Location"], data={"action": "success"}, allow_redirects=False, timeout=30)
    assert "lang=en" in back.headers["Location"]
    confirmation = session.get(back.headers["Location"], timeout=60)
    check(confirmation.text, "en")
    assert order_state(live, number, token)["status"] == "completed"
    assert "Completed" in confirmation.text and "Your documents" in confirmation.text

    mail = smtp.wait_for(email, f"Your extract for order {number} is ready", timeout=30)
    body = Mailbox.body(mail)
    assert body.startswith("Dear Erika Mustermann,") and "Kind regards" in body and "Guten Tag" not in body
    status_link = re.search(r"(http://\S+/embed/order/\S+)", body.split("Order status:")[1]).group(1)
    assert "lang=en" in status_link
    assert "Your order" in session.get(status_link, timeout=10).text

    # the official extract stays German
    pdf_link = re.search(r"(http://\S+/files/\S+)", body).group(1)
    assert "Auszug-Liegenschaftskarte" in pdf_link
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(session.get(pdf_link, timeout=30).content))
    assert pdf.metadata.title == f"Auszug aus der Liegenschaftskarte {number}"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_cancelling_asks_first(quiet_sqlite, lang):
    live = quiet_sqlite
    body = api_order(live, order_body(lang=lang)).json()
    number, token = body["order_number"], token_of(body["status_url"])
    status = requests.get(body["status_url"], timeout=10).text
    assert f'<form method="get" action="/embed/order/{number}/cancel">' in status

    # the button (or any POST without the confirmation) only asks
    asked = requests.post(live.url(f"/embed/order/{number}/cancel"), data={"t": token, "lang": lang},
                          allow_redirects=False, timeout=10)
    assert asked.status_code == 303
    assert order_state(live, number, token)["status"] == "submitted"
    question = requests.get(absolute(live, asked.headers["Location"]), timeout=10)
    page = check(question.text, lang)
    assert ("Möchten Sie die Bestellung wirklich stornieren?" if lang == "de"
            else "Do you really want to cancel the order?") in question.text
    assert "field-reason" in page.ids and hidden_fields(question.text)["confirm"] == "yes"
    assert order_state(live, number, token)["status"] == "submitted"

    confirmed = requests.post(live.url(f"/embed/order/{number}/cancel"),
                              data={**hidden_fields(question.text), "reason": "Doppelt bestellt"},
                              allow_redirects=False, timeout=10)
    assert confirmed.status_code == 303
    assert order_state(live, number, token)["status"] == "cancelled"
    assert live.service.repository.find(number).closing_reason == "Doppelt bestellt"
    # asked again about a cancelled order: its status page, nothing to confirm
    late = requests.get(absolute(live, asked.headers["Location"]), allow_redirects=False, timeout=10)
    assert late.status_code == 303 and number_in(late.headers["Location"]) == number


def test_drafts_expire_and_are_purged(quiet_sqlite):
    live, session = quiet_sqlite, requests.Session()
    service, settings = live.service, live.app.extensions["gis_settings"].orders.data_protection
    assert settings.draft_hours == 24
    expired, _ = walk_to_summary(live, session, unique_email("ablauf"))
    fresh, _ = walk_to_summary(live, requests.Session(), unique_email("frisch"))
    set_draft_age(live, expired, 25)
    gone = session.get(live.url(f"/embed/order/d/{expired}/summary"), timeout=10)
    assert gone.status_code == 410 and "24 Stunden" in gone.text
    assert session.post(live.url(f"/embed/order/d/{expired}/submit"), data={"revision": "2"},
                        timeout=10).status_code == 410
    assert orders_of_draft(live, expired) == 0

    # the order tasks delete it (the fresh one stays), and so does the daily purge command
    assert service.run_due()["drafts_purged"] >= 1
    assert not draft_stored(live, expired) and draft_stored(live, fresh)
    set_draft_age(live, fresh, 30)
    assert purge_personal_data(live.orders.factory, settings, None, dry_run=True).drafts_deleted >= 1
    assert draft_stored(live, fresh)
    assert purge_personal_data(live.orders.factory, settings, None).drafts_deleted >= 1
    assert not draft_stored(live, fresh)


def test_a_shortened_period_applies_to_drafts_made_before(quiet_sqlite, monkeypatch):
    live = quiet_sqlite
    draft_id, _ = walk_to_summary(live, requests.Session(), unique_email("kuerzer"))
    monkeypatch.setattr(live.service.drafts, "hours", 1)
    with live.orders.factory() as session, session.begin():
        session.execute(update(SavedDraft).where(SavedDraft.id_hash == hashlib.sha256(draft_id.encode()).hexdigest())
                        .values(created_at=utcnow() - timedelta(hours=2)))
    assert live.service.drafts.load(draft_id) is None
    assert live.service.drafts.purge_expired() >= 1 and not draft_stored(live, draft_id)
