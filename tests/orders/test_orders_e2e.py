"""End to end over HTTP: citizen pages → simulator payment → PDF delivered and e-mailed; failures of every kind."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import requests
from order_support import (
    PARCEL,
    Mailbox,
    absolute,
    api_order,
    hidden_fields,
    order_body,
    order_state,
    pay_order,
    submit_summary,
    token_of,
    unique_email,
    wait_status,
    wait_until,
    walk_to_summary,
)
from sqlalchemy import select, update

from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.models import Order, OrderEvent
from gis_service.orders.queries import SearchFilters


def citizen_orders(live, email: str, product: str = "karte-online", parcel: str = PARCEL, **options) -> requests.Response:
    """Walk the citizen pages as a browser without JavaScript does; returns the answer to 'zahlungspflichtig bestellen'."""
    s = requests.Session()
    page = s.get(live.url("/embed/order"), params={"parcel": parcel, "scale": 1000, "paper": "A4"}, timeout=10)
    assert page.status_code == 200 and 'name="product"' in page.text
    draft_id, summary = walk_to_summary(live, s, email, product=product, parcel=parcel, **options)
    assert "Summe" in summary.text and "zahlungspflichtig bestellen" in summary.text
    fields = hidden_fields(summary.text)
    assert fields["revision"] and fields["expected_amount_cents"]
    first = submit_summary(live, s, draft_id, summary.text)
    # A double click / reload sends the same form again: still one order.
    second = submit_summary(live, s, draft_id, summary.text)
    assert first.status_code == second.status_code == 303
    assert number_and_token(first.headers["Location"]) == number_and_token(second.headers["Location"])
    return first


def number_and_token(location: str) -> tuple[str, str]:
    number = re.search(r"/embed/order/([A-Z]+-\d{4}-[0-9A-Z]{6})", location).group(1)
    return number, token_of(location)


def events(live, number: str) -> list[OrderEvent]:
    with live.orders.factory() as session:
        order_id = session.scalar(select(Order.id).where(Order.order_number == number))
        return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def test_order_pay_download_and_mail(live, simulator, smtp):
    email = unique_email()
    submitted = citizen_orders(live, email)
    number, token = number_and_token(submitted.headers["Location"])
    received = requests.get(absolute(live, submitted.headers["Location"]), timeout=10)
    assert "Ihre Bestellung ist eingegangen" in received.text and number in received.text
    assert order_state(live, number, token)["status"] == "submitted"

    back = pay_order(live, simulator, number, token)
    assert back.status_code == 303
    # back from paying, the citizen sees the finished extract at once, not "wird gerade erstellt"
    state = order_state(live, number, token)
    assert state["status"] == "completed", state["status"]
    status_page = requests.get(absolute(live, back.headers["Location"]), timeout=10)
    assert status_page.status_code == 200
    assert state["payment"]["status"] == "PAYED" and state["payment"]["reference"].startswith("KZ-")
    assert len(state["documents"]) == 1
    pdf = requests.get(state["documents"][0]["url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert "Erledigt" in status_page.text or "herunterladen" in requests.get(state["status_url"], timeout=10).text

    mail = smtp.wait_for(email, "ist fertig")
    body = Mailbox.body(mail)
    link = re.search(r"(http://\S+/files/\S+)", body).group(1)
    assert requests.get(link, timeout=10).content == pdf.content
    assert number in mail["Subject"]

    # one order, one payment, one 'paid' transition, no matter how many messages came
    assert len(simulator.for_reference(number)) == 1
    assert [e.to_status for e in events(live, number) if e.to_status] == [
        "submitted", "awaiting_payment", "paid", "in_progress", "completed"]
    # the download needs the private token
    assert requests.get(state["documents"][0]["url"].split("?")[0], timeout=10).status_code == 404


def test_api_order_and_form_server_status(live, simulator):
    response = api_order(live)
    assert response.status_code == 201
    body = response.json()
    for key in ("order_number", "status", "amount_cents", "currency", "fee_breakdown", "payment_url", "status_url"):
        assert key in body
    assert body["amount_cents"] == 1500 and body["currency"] == "EUR" and body["status"] == "submitted"
    number = body["order_number"]
    as_form_server = requests.get(live.url(f"/api/v1/orders/{number}"),
                                  headers={"X-API-Key": "formserver-key-0123456789"}, timeout=10)
    assert as_form_server.status_code == 200 and as_form_server.json()["order_number"] == number
    # the payment_url sends the citizen to the provider's page
    start = requests.get(body["payment_url"], allow_redirects=False, timeout=30)
    assert start.status_code == 303 and start.headers["Location"].startswith(simulator.base_url)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_payment_failed_then_retried(live, simulator):
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    back = pay_order(live, simulator, number, token, action="failure")
    page = requests.get(absolute(live, back.headers["Location"]), timeout=10)
    assert "fehlgeschlagen" in page.text
    state = order_state(live, number, token)
    assert state["status"] == "awaiting_payment" and state["payment"]["status"] == "FAILED"
    pay_order(live, simulator, number, token)  # a second try with a new transaction succeeds
    wait_status(live, number, token, "completed")
    assert len(simulator.for_reference(number)) == 2


@pytest.mark.parametrize("backend", ["sqlite"])
def test_payment_cancelled_then_order_cancelled_then_late_payment_refunded(live, simulator, smtp):
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    back = pay_order(live, simulator, number, token, action="cancel")
    assert "abgebrochen" in requests.get(absolute(live, back.headers["Location"]), timeout=10).text
    assert order_state(live, number, token)["payment"]["status"] == "CANCELED"
    cancelled = requests.post(live.url(f"/embed/order/{number}/cancel"), data={"t": token, "confirm": "yes"},
                              allow_redirects=False, timeout=10)
    assert cancelled.status_code == 303
    assert order_state(live, number, token)["status"] == "cancelled"

    # The provider later reports the (cancelled) transaction as paid after all: money goes back.
    transaction = simulator.for_reference(number)[0]
    simulator.change(transaction["transactionId"], status="PAYED", paymentReference="KZ-LATE-1")
    assert simulator.notify(transaction["transactionId"]) == 200
    wait_until(lambda: simulator.transaction(transaction["transactionId"])["refunds"], 20, message="refund")
    assert order_state(live, number, token)["status"] == "cancelled"
    actions = [e.action for e in events(live, number)]
    assert "refund_needed" in actions and "refunded" in actions


@pytest.mark.parametrize("backend", ["sqlite"])
def test_abandoned_payment_is_cancelled_after_the_deadline(quiet, simulator):
    body = api_order(quiet).json()
    number, token = body["order_number"], token_of(body["status_url"])
    start = requests.get(body["payment_url"], allow_redirects=False, timeout=30)
    assert start.status_code == 303  # the citizen went to the payment page and never came back
    service = quiet.service
    assert service.payments.abandon_unpaid() == 0  # not yet due
    created = service.repository.find(number).created_at
    with quiet.orders.factory() as session, session.begin():
        session.execute(update(Order).where(Order.order_number == number)
                        .values(created_at=created - timedelta(days=1, minutes=1)))
    assert service.payments.abandon_unpaid() == 1
    state = order_state(quiet, number, token)
    assert state["status"] == "cancelled"
    # had the citizen paid meanwhile, the provider would have been asked first
    assert service.repository.find(number).closing_reason.startswith("Die Zahlung wurde nicht")


def test_notification_duplicated_and_early(live, simulator):
    simulator.config(notify_mode="sync", notify_duplicates=3)
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    back = pay_order(live, simulator, number, token, follow_return=False)
    # notified (three times) before the browser returns: already paid
    state = wait_status(live, number, token, "completed")
    assert state["payment"]["status"] == "PAYED"
    final = requests.get(back, allow_redirects=True, timeout=30)
    assert final.status_code == 200 and "herunterladen" in final.text
    paid_events = [e for e in events(live, number) if e.to_status == "paid"]
    assert len(paid_events) == 1
    assert len(simulator.for_reference(number)[0]["notifications"]) == 3


@pytest.mark.parametrize("backend", ["sqlite"])
def test_notification_late_after_browser_return(live, simulator):
    simulator.config(notify_mode="none")
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    back = pay_order(live, simulator, number, token)
    assert back.status_code == 303
    wait_status(live, number, token, "completed")  # the return asked the provider server to server
    transaction = simulator.for_reference(number)[0]["transactionId"]
    assert simulator.notify(transaction) == 200  # the notification comes long after
    time.sleep(0.3)
    assert len([e for e in events(live, number) if e.to_status == "paid"]) == 1
    assert order_state(live, number, token)["status"] == "completed"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_lost_notification_and_no_return_are_reconciled(quiet, simulator):
    simulator.config(notify_mode="none")
    body = api_order(quiet).json()
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(quiet, simulator, number, token, follow_return=False)  # paid, but the browser never comes back
    assert order_state(quiet, number, token)["status"] == "awaiting_payment"
    results = quiet.service.run_due(startup=True)
    assert results["reconciled"] >= 1 and results["produced"] >= 1
    assert order_state(quiet, number, token)["status"] == "completed"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_forged_and_malformed_notifications_are_refused(live, simulator):
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    simulator.config(notify_mode="none")
    pay_order(live, simulator, number, token, follow_return=False)
    transaction = simulator.for_reference(number)[0]["transactionId"]
    payload = f'{{"transactionId": "{transaction}", "status": "PAYED"}}'.encode()
    now = str(int(time.time()))
    url = live.url("/api/v1/payments/notify")
    forged = {xbz.HEADER_ORIGINATOR: "gis-service-test", xbz.HEADER_TIMESTAMP: now,
              xbz.HEADER_SIGNATURE: xbz.sign("wrong-secret", xbz.notification_message("gis-service-test", now, payload))}
    assert requests.post(url, data=payload, headers=forged, timeout=10).status_code == 401
    assert requests.post(url, data=payload, timeout=10).status_code == 401
    old = str(int(time.time()) - 3 * 24 * 3600)
    replay = {xbz.HEADER_ORIGINATOR: "gis-service-test", xbz.HEADER_TIMESTAMP: old,
              xbz.HEADER_SIGNATURE: xbz.sign("test-secret-" + "x" * 20, xbz.notification_message("gis-service-test", old, payload))}
    assert requests.post(url, data=payload, headers=replay, timeout=10).status_code == 401
    assert requests.post(url, data=b"x" * 20000, headers=forged, timeout=10).status_code == 413
    assert requests.post(url, data=b"\xff\x00garbage", headers=forged, timeout=10).status_code == 401
    assert order_state(live, number, token)["status"] == "awaiting_payment"  # nothing forged got through


@pytest.mark.parametrize("backend", ["sqlite"])
def test_amount_tampered_at_the_provider_is_not_paid(live, simulator):
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    start = requests.get(body["payment_url"], allow_redirects=False, timeout=30)
    transaction = start.headers["Location"].rsplit("/", 1)[1]
    simulator.change(transaction, grossAmount="0.01")  # e.g. a manipulated payment request
    back = simulator.pay(start.headers["Location"])
    requests.get(back, timeout=30)
    state = order_state(live, number, token)
    assert state["status"] == "awaiting_payment" and state["payment"]["status"] == "MISMATCH"
    order = live.service.repository.find(number)
    assert order.attention and "Betrag" in order.staff_reason
    assert not order.documents


def test_staff_made_product_paid_online_goes_to_staff(live, simulator, smtp):
    email = unique_email()
    body = api_order(live, order_body(product="karte-amt", paper="A2", delivery="post", copies=2,
                                      contact={"name": "Max Muster", "email": email, "street": "Am Markt 2",
                                               "postcode": "59999", "city": "Lindenhagen"})).json()
    assert body["amount_cents"] == 6000 + 1000
    number, token = body["order_number"], token_of(body["status_url"])
    pay_order(live, simulator, number, token)
    state = wait_status(live, number, token, "paid")
    assert state["handling"] == "staff" and not state["documents"]
    smtp.wait_for(email, "Zahlung")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_failed_production_goes_to_staff_and_citizen_is_told(quiet, simulator, smtp, monkeypatch):
    email = unique_email()
    body = api_order(quiet, order_body(contact={"name": "Fritz Fehler", "email": email})).json()
    number, token = body["order_number"], token_of(body["status_url"])

    def broken(spec):
        raise RuntimeError("Kartendienst antwortet nicht")

    monkeypatch.setattr(quiet.service.issuer.producer, "page", broken)
    back = pay_order(quiet, simulator, number, token)  # the return tries to produce at once
    page = requests.get(absolute(quiet, back.headers["Location"]), timeout=10).text
    assert "konnte nicht sofort erstellt werden" in page
    order = quiet.service.repository.find(number)
    assert order.status == "in_progress" and order.handling == "staff" and order.attention
    assert "Kartendienst antwortet nicht" in order.staff_reason
    assert any(e.action == "production_failed" for e in order.events)
    quiet.service.outbox.send_pending()
    assert "folgt" in smtp.wait_for(email, "folgt")["Subject"]
    # the worker leaves it to the staff now
    monkeypatch.undo()
    assert quiet.service.production.resume() == 0
    assert number in [o.order_number for o in quiet.service.queries.search(SearchFilters(status="open", q=number))[0]]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_payment_service_down_shows_a_message(quiet, monkeypatch):
    body = api_order(quiet).json()
    monkeypatch.setattr(quiet.service.payments.provider, "base_url", "http://127.0.0.1:9")
    response = requests.get(body["payment_url"], allow_redirects=False, timeout=30)
    assert response.status_code == 503 and "Bezahldienst ist gerade nicht erreichbar" in response.text
    assert order_state(quiet, body["order_number"], token_of(body["status_url"]))["status"] == "submitted"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_mail_is_retried_when_smtp_is_down(quiet, smtp, monkeypatch):
    email = unique_email()
    api_order(quiet, order_body(product="karte-amt", payment_method="invoice",
                                contact={"name": "Ines Invoice", "email": email, "street": "Weg 1", "postcode": "59999",
                                         "city": "Lindenhagen"}))
    monkeypatch.setattr(quiet.service.outbox.mailer.settings, "port", 9)
    quiet.service.outbox.send_pending()
    from gis_service.orders.models import MailMessage

    with quiet.orders.factory() as session:
        message = session.scalar(select(MailMessage).where(MailMessage.recipient == email))
        assert message.sent_at is None and message.attempts == 1 and message.last_error
        assert message.next_attempt_at > message.created_at
    monkeypatch.undo()
    with quiet.orders.factory() as session, session.begin():
        session.execute(update(MailMessage).where(MailMessage.recipient == email)
                        .values(next_attempt_at=message.created_at))
    quiet.service.outbox.send_pending()
    # An invoice order's first mail asks to confirm the address (orders/confirmation.py).
    assert "bestätigen" in smtp.wait_for(email, "bestätigen")["Subject"]
