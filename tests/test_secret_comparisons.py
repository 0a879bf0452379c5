"""Secrets are compared byte-wise: a non-ASCII token, signature or CSRF field is refused, never a 500."""

from __future__ import annotations

import secrets
import time

from gis_service.orders import xbezahldienste as xbz

HOSTILE = ["ä" * 32, "€", "\u00a0" + "a" * 31, "x\u0000"]
API_KEY = {"X-API-Key": "formserver-key-0123456789"}


def test_payment_signature_with_non_ascii_is_refused():
    for value in [*HOSTILE, "\ud800x"]:  # a lone surrogate cannot travel over HTTP, but may reach the function
        assert xbz.verify("secret", b"message", value) is False
    assert xbz.verify("secret", b"message", xbz.sign("secret", b"message").upper()) is True


def test_order_token_with_non_ascii_is_refused(quiet_orders_app):
    client = quiet_orders_app.test_client()
    created = client.post("/api/v1/orders", headers={"Idempotency-Key": secrets.token_hex(12)}, json={
        "parcel": "05987100100090______", "product": "karte-online", "paper": "A4", "orientation": "portrait",
        "scale": 1000, "contact": {"name": "Erika Mustermann", "email": "erika@example.org"}})
    assert created.status_code == 201, created.json
    number = created.json["order_number"]
    for value in HOSTILE:
        for answer in (client.get(f"/api/v1/orders/{number}", query_string={"token": value}),
                       client.get(f"/embed/order/{number}", query_string={"token": value})):
            assert answer.status_code == 404, (value, answer.status_code)
    assert client.get(f"/api/v1/orders/{number}", headers=API_KEY).status_code == 200


def test_payment_notification_with_non_ascii_signature_is_refused(quiet_orders_app):
    client = quiet_orders_app.test_client()
    for value in HOSTILE:
        answer = client.post("/api/v1/payments/notify", data=b'{"transactionId": "x"}', headers={
            "Content-Type": "application/json", xbz.HEADER_ORIGINATOR: "contract",
            xbz.HEADER_TIMESTAMP: str(int(time.time())), xbz.HEADER_SIGNATURE: value})
        assert answer.status_code == 401 and answer.mimetype == "application/problem+json"


def test_staff_csrf_field_with_non_ascii_is_refused(quiet_orders_app):
    client = quiet_orders_app.test_client()
    assert client.get("/staff/login").status_code == 200
    for value in HOSTILE:
        answer = client.post("/staff/login", data={"csrf_token": value, "username": "a", "password": "b"})
        assert answer.status_code == 400, (value, answer.status_code)
