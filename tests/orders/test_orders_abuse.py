"""Abuse limits of the order process: orders per client address and per recipient, and invoice orders that wait for their address to be confirmed."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import requests
from gis_testing import GENEROUS_RATE_LIMITS
from order_support import (
    Mailbox,
    api_order,
    database_url,
    free_port,
    hidden_fields,
    order_body,
    order_settings,
    start_live_app,
    submit_summary,
    unique_email,
    walk_to_summary,
)
from sqlalchemy import update

from gis_service.orders import lifecycle as lc
from gis_service.orders.db import utcnow
from gis_service.orders.models import Order
from gis_service.orders.queries import SearchFilters

SPAM = "Kaufen Sie jetzt billige Uhren bei spam.example"
ADDRESS = {"street": "Weg 1", "postcode": "59999", "city": "Lindenhagen"}


@pytest.fixture
def make_app(request, tmp_path_factory, postgres, smtp):
    """A live app behind one trusted proxy, worker off, with the given rate limits and order settings."""

    def make(backend: str = "sqlite", rate: dict | None = None, **orders):
        if backend == "postgresql" and postgres.admin_url is None:
            pytest.skip(f"PostgreSQL not reachable: {postgres.reason}")
        instance = tmp_path_factory.mktemp(f"abuse-{backend}")
        port = free_port()
        settings = order_settings(instance=instance, db_url=database_url(backend, postgres, instance), port=port,
                                  simulator=None, smtp=smtp, worker=False, **orders)
        settings["server"]["trusted_proxies"] = 1
        # A prefix of its own per app: a Redis store is shared by every test run.
        settings["limits"] = {"rate": {**GENEROUS_RATE_LIMITS, "key_prefix": f"test-{secrets.token_hex(6)}",
                                       **(rate or {})}}
        live = start_live_app(settings, port)
        request.addfinalizer(live.stop)
        return live

    return make


def invoice_body(email: str, **overrides) -> dict:
    return order_body(product="karte-amt", payment_method="invoice",
                      contact={"name": SPAM, "email": email, "organisation": SPAM, **ADDRESS}, **overrides)


def from_address(address: str) -> dict:
    return {"X-Forwarded-For": address}


def queue_numbers(live, status: str | None = None) -> set[str]:
    orders, _ = live.service.queries.search(SearchFilters(status=status, page_size=500))
    return {order.order_number for order in orders}


def confirmation_link(body: str) -> str:
    return re.search(r"http://\S+/confirm\?\S+", body).group(0)


def assert_too_many(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    if response.headers["Content-Type"].startswith("application/problem+json"):
        assert response.json()["code"] == "too-many-requests"
        assert "Zu viele Anfragen" in response.json()["detail"]


# --- rate limits on orders -----------------------------------------------------------------------------
def test_orders_per_recipient_trip_across_client_addresses(make_app):
    live = make_app(rate={"orders_per_recipient": "2/hour"})
    email = unique_email("opfer")
    # One mailbox in three spellings, from three client addresses: the limit counts the mailbox.
    spellings = [email, email.upper(), email.replace("@", "+werbung@")]
    for index, spelling in enumerate(spellings[:2]):
        assert api_order(live, order_body(contact={"name": "N", "email": spelling}),
                         **from_address(f"10.0.0.{index + 1}")).status_code == 201
    refused = api_order(live, order_body(contact={"name": "N", "email": spellings[2]}), **from_address("10.0.0.3"))
    assert_too_many(refused)
    # Another recipient from the same address still orders.
    assert api_order(live, order_body(), **from_address("10.0.0.3")).status_code == 201


def test_orders_per_client_address_trip_and_only_made_orders_count(make_app):
    live = make_app(rate={"orders_per_address": "2/hour"})
    # Refused bodies make no order and do not count.
    for _ in range(3):
        assert api_order(live, order_body(scale="1:99999"), **from_address("10.1.0.1")).status_code == 422
    # A replay of the same idempotency key returns the order made before: no new order, no count.
    key, body = secrets.token_hex(12), order_body()
    assert api_order(live, body, key=key, **from_address("10.1.0.1")).status_code == 201
    replayed = api_order(live, body, key=key, **from_address("10.1.0.1"))
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert api_order(live, order_body(), **from_address("10.1.0.1")).status_code == 201
    assert_too_many(api_order(live, order_body(), **from_address("10.1.0.1")))
    assert api_order(live, order_body(), **from_address("10.1.0.2")).status_code == 201  # another client
    # The form server sends everyone's orders from one address: with its key it is not limited per address,
    # with a wrong key it is counted (and refused).
    wrong = api_order(live, order_body(), **from_address("10.1.0.1"), **{"X-API-Key": "wrong-key-0123456789"})
    assert wrong.status_code == 429
    for _ in range(3):
        assert api_order(live, order_body(), **from_address("10.1.0.1"),
                         **{"X-API-Key": "formserver-key-0123456789"}).status_code == 201


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_citizen_pages_limit_orders_per_recipient_from_the_draft(make_app, backend):
    """The order pages key the recipient limit on the e-mail address the draft holds (read from the database)."""
    live = make_app(backend, rate={"orders_per_recipient": "1/hour"})
    email = unique_email("seiten")
    for index, spelling in enumerate((email, f" {email.upper()} ")):
        session = requests.Session()
        session.headers.update(from_address(f"10.2.0.{index + 1}"))
        draft_id, summary = walk_to_summary(live, session, spelling)
        response = submit_summary(live, session, draft_id, summary.text)
        if index == 0:
            assert response.status_code == 303 and "received=1" in response.headers["Location"]
        else:
            assert_too_many(response)
            assert response.headers["Content-Type"].startswith("text/html")
            assert "Zu viele Anfragen" in response.text and 'role="alert"' in response.text
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]


# --- invoice orders wait for their address to be confirmed -------------------------------------------
def test_invoice_order_sends_only_a_confirmation_and_waits_outside_the_queue(make_app, smtp: Mailbox):
    live = make_app()
    email = unique_email("rechnung")
    session = requests.Session()
    draft_id, summary = walk_to_summary(live, session, email, product="karte-amt", payment_method="invoice",
                                        delivery="download", contact={"name": SPAM, "organisation": SPAM, **ADDRESS})
    response = submit_summary(live, session, draft_id, summary.text)
    assert response.status_code == 303
    number = re.search(r"/embed/order/([^/?]+)\?", response.headers["Location"]).group(1)
    status_page = session.get(live.url(response.headers["Location"]), timeout=30).text
    assert "Bestätigungslink" in status_page

    live.service.run_due()
    mails = smtp.to(email)
    assert len(mails) == 1
    subject, body = mails[0]["Subject"], Mailbox.body(mails[0])
    assert "bestätigen" in subject and number in subject
    assert SPAM not in subject and SPAM not in body  # nothing the orderer typed
    assert number not in queue_numbers(live, "open") and number not in queue_numbers(live)
    order = live.service.repository.get(number)
    assert order.awaiting_confirmation and order.status == lc.SUBMITTED

    # The status token of the orderer does not confirm; only the link of the mail does.
    status_token = live.service.tokens.for_order(order)
    refused = requests.post(live.url(f"/embed/order/{number}/confirm"), data={"c": status_token},
                            allow_redirects=False, timeout=30)
    assert refused.status_code == 404
    link = confirmation_link(body)
    page = requests.get(link, timeout=30)  # opening the link (a mail scanner does) confirms nothing
    assert page.status_code == 200 and live.service.repository.get(number).awaiting_confirmation
    confirmed = requests.post(live.url(f"/embed/order/{number}/confirm"), data=hidden_fields(page.text),
                              allow_redirects=False, timeout=30)
    assert confirmed.status_code == 303 and "confirmed=1" in confirmed.headers["Location"]
    assert number in queue_numbers(live, "open")
    live.service.run_due()
    received = smtp.wait_for(email, "eingegangen")
    assert number in received["Subject"]
    # A second click confirms nothing twice.
    again = requests.post(live.url(f"/embed/order/{number}/confirm"), data=hidden_fields(page.text),
                          allow_redirects=False, timeout=30)
    assert again.status_code == 303
    live.service.run_due()
    assert len(smtp.to(email)) == 2


def test_unconfirmed_invoice_orders_expire_after_the_configured_hours(make_app, smtp: Mailbox):
    live = make_app(confirmation={"expire_hours": 3})
    email = unique_email("verfall")
    young = api_order(live, invoice_body(email)).json()["order_number"]
    old = api_order(live, invoice_body(email)).json()["order_number"]
    with live.orders.factory() as session, session.begin():
        for number, age in ((young, 2), (old, 4)):
            session.execute(update(Order).where(Order.order_number == number)
                            .values(created_at=utcnow() - timedelta(hours=age)))
    results = live.service.run_due()
    assert results["unconfirmed_expired"] == 1
    assert live.service.repository.get(young).status == lc.SUBMITTED
    expired = live.service.repository.get(old)
    assert expired.status == lc.CANCELLED and "3 Stunden" in expired.closing_reason
    assert old not in queue_numbers(live) and young not in queue_numbers(live)
    # The two confirmations and nothing else (no "cancelled" mail to an unconfirmed address).
    subjects = [m["Subject"] for m in smtp.to(email)]
    assert len(subjects) == 2 and all("bestätigen" in s for s in subjects)
    # Its link now leads to the closed order; confirming answers 410.
    link = live.orders.urls.confirm(old, live.service.tokens.for_confirmation(expired))
    assert requests.get(link, allow_redirects=False, timeout=30).status_code == 303
    late = requests.post(live.url(f"/embed/order/{old}/confirm"),
                         data={"c": live.service.tokens.for_confirmation(expired)}, timeout=30)
    assert late.status_code == 410 and "nicht rechtzeitig" in late.text


def test_form_server_with_an_api_key_may_skip_the_confirmation(make_app, smtp: Mailbox):
    live = make_app(confirmation={"api_key_skips": True})
    with_key, without_key = unique_email("formserver"), unique_email("anonym")
    vouched = api_order(live, invoice_body(with_key), **{"X-API-Key": "formserver-key-0123456789"}).json()
    anonymous = api_order(live, invoice_body(without_key)).json()
    assert vouched["awaiting_confirmation"] is False and anonymous["awaiting_confirmation"] is True
    assert vouched["order_number"] in queue_numbers(live, "open")
    assert anonymous["order_number"] not in queue_numbers(live, "open")
    live.service.run_due()
    assert "eingegangen" in smtp.wait_for(with_key, "eingegangen")["Subject"]
    assert [m["Subject"] for m in smtp.to(without_key)] == [smtp.wait_for(without_key, "bestätigen")["Subject"]]


def test_without_the_setting_an_api_key_does_not_skip_the_confirmation(make_app):
    live = make_app()
    body = api_order(live, invoice_body(unique_email()), **{"X-API-Key": "formserver-key-0123456789"}).json()
    assert body["awaiting_confirmation"] is True
