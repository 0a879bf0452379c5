"""The order API: products and fees, idempotent creation, who may read an order, hostile input never gives a 500."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_support import PARCEL, api_order, order_body, token_of

from gis_service.config import ConfigError, ProductConfig, load_settings
from gis_service.orders import xbezahldienste as xbz
from gis_service.orders.csvexport import safe_cell
from gis_service.orders.products import Catalogue, format_money

API_KEY = {"X-API-Key": "formserver-key-0123456789"}


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue(load_settings(None).orders.products)


def test_fees_from_the_configuration(catalogue):
    online, staff, record, owner = (catalogue.get(i) for i in
                                    ("karte-online", "karte-amt", "flurstuecksnachweis", "eigentuemernachweis"))
    assert catalogue.fee(online, paper="A4").total_cents == 1500
    assert catalogue.fee(online, paper="A3").total_cents == 1500
    assert catalogue.fee(staff, paper="A3").total_cents == 3000
    assert catalogue.fee(staff, paper="A0").total_cents == 6000
    fee = catalogue.fee(staff, paper="A2", copies=3, certified=True)
    assert fee.total_cents == 6000 + 2 * 1000
    assert [(i.code, i.quantity, i.amount_cents) for i in fee.items] == [("base", 1, 6000), ("copies", 2, 2000)]
    assert catalogue.fee(record).total_cents == catalogue.fee(owner).total_cents == 3000
    assert owner.requires_justification and owner.fulfilment == "staff"
    assert format_money(1500) == "15,00\u00a0€" and format_money(123456, "en") == "€1,234.56"


def test_configuration_refuses_invoice_for_automatic_products():
    with pytest.raises(ConfigError, match="invoice"):
        load_settings(None, overrides={"orders": {"products": [
            {"id": "x", "name": {"de": "X"}, "fulfilment": "automatic", "fee_cents": 1, "papers": ["A4"],
             "scales": [1000], "payment_methods": ["online", "invoice"]}]}})
    ProductConfig(id="ok", name={"de": "Ok"}, kind="record", fee_cents=100, payment_methods=["invoice"])


def test_amounts_travel_as_exact_decimals():
    assert xbz.cents_to_amount(1500) == "15.00" and xbz.cents_to_amount(7) == "0.07"
    assert xbz.amount_to_cents("15.00") == 1500
    for bad in ("15", "15.0", "15.001", "-1.00", "1e3", 15.0, None, "15,00"):
        with pytest.raises(ValueError):
            xbz.amount_to_cents(bad)


def test_csv_cells_cannot_become_formulas():
    for hostile in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(hostile).startswith("'")
    assert safe_cell("Müller") == "Müller"


def test_products_endpoint(quiet_sqlite):
    body = requests.get(quiet_sqlite.url("/api/v1/products"), timeout=10).json()
    products = {p["id"]: p for p in body["products"]}
    assert products["karte-online"]["fee_cents"] == 1500 and products["karte-online"]["fulfilment"] == "automatic"
    assert products["karte-amt"]["large_paper_fee_cents"] == 6000
    assert products["karte-amt"]["payment_methods"] == ["online", "invoice"]
    assert products["eigentuemernachweis"]["requires_justification"] is True
    assert body["currency"] == "EUR" and body["vat"] == "none"


def test_idempotency(quiet_sqlite):
    live = quiet_sqlite
    body = order_body()
    first = api_order(live, body, key="key-0001-abcdef")
    again = api_order(live, body, key="key-0001-abcdef")
    assert first.status_code == again.status_code == 201
    assert first.json()["order_number"] == again.json()["order_number"]
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = api_order(live, {**body, "scale": 500}, key="key-0001-abcdef")
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency-key-reused"
    missing = requests.post(live.url("/api/v1/orders"), json=body, timeout=10)
    assert missing.status_code == 400 and "Idempotency-Key" in missing.json()["detail"]
    # the same key from another client (API key) is another order
    other = api_order(live, body, key="key-0001-abcdef", **API_KEY)
    assert other.status_code == 201 and other.json()["order_number"] != first.json()["order_number"]


def test_fee_is_computed_on_the_server(quiet_sqlite):
    live = quiet_sqlite
    tampered = api_order(live, order_body(amount_cents=1, fee_cents=1, fee_breakdown=[]))
    assert tampered.status_code == 201 and tampered.json()["amount_cents"] == 1500  # client amounts are ignored
    wrong = api_order(live, order_body(expected_amount_cents=100))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "expected_amount_cents"
    right = api_order(live, order_body(expected_amount_cents=1500))
    assert right.status_code == 201


def test_owner_data_needs_a_justification(quiet_sqlite):
    live = quiet_sqlite
    body = order_body(product="eigentuemernachweis")
    missing = api_order(live, body)
    assert missing.status_code == 422 and [e["field"] for e in missing.json()["errors"]] == ["justification"]
    weak = api_order(live, {**body, "justification": "kaufen"})
    assert weak.status_code == 422
    ok = api_order(live, {**body, "justification": "Ich bin Nachbar und plane eine Grenzbebauung an der gemeinsamen Grenze."})
    assert ok.status_code == 201 and ok.json()["handling"] == "staff"
    order = live.service.repository.find(ok.json()["order_number"])
    assert order.justification.startswith("Ich bin Nachbar")
    assert any(e.action == "justification_given" for e in order.events)
    # other products do not store a justification at all
    plain = api_order(live, order_body(justification="irrelevant, aber persönlich"))
    assert live.service.repository.find(plain.json()["order_number"]).justification is None


def test_postal_address_only_when_needed(quiet_sqlite):
    live = quiet_sqlite
    post = api_order(live, order_body(product="karte-amt", delivery="post"))
    assert post.status_code == 422 and {e["field"] for e in post.json()["errors"]} == {"street", "postcode", "city"}
    download = api_order(live, order_body(contact={"name": "A B", "email": "a@example.org", "street": "Weg 1",
                                                   "postcode": "12345", "city": "Ort"}))
    order = live.service.repository.find(download.json()["order_number"])
    assert order.address_street is None and order.address_city is None  # not needed, not kept


def test_flurbereinigung_parcels_go_to_staff(quiet_sqlite):
    response = api_order(quiet_sqlite, order_body(parcel="05987100400030______", orientation="landscape"))
    assert response.status_code == 201
    body = response.json()
    assert body["handling"] == "staff" and body["amount_cents"] == 1500
    assert "Flurbereinigung" in quiet_sqlite.service.repository.find(body["order_number"]).staff_reason


def test_who_may_read_an_order(quiet_sqlite):
    live = quiet_sqlite
    body = api_order(live).json()
    number, token = body["order_number"], token_of(body["status_url"])
    url = live.url(f"/api/v1/orders/{number}")
    assert requests.get(url, params={"token": token}, timeout=10).status_code == 200
    assert requests.get(url, headers={"X-Order-Token": token}, timeout=10).status_code == 200
    assert requests.get(url, headers=API_KEY, timeout=10).status_code == 200
    assert requests.get(url, headers={"Authorization": "Bearer formserver-key-0123456789"}, timeout=10).status_code == 200
    # nobody else; and a stranger cannot tell whether the number exists
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(live.url("/api/v1/orders/LK-2026-ZZZZZZ"), timeout=10).status_code == 401
    assert requests.get(url, params={"token": "x" * 32}, timeout=10).status_code == 404
    assert requests.get(live.url("/api/v1/orders/LK-2026-ZZZZZZ"), params={"token": token}, timeout=10).status_code == 404
    assert requests.get(url, headers={"X-API-Key": "wrong-key-0123456789"}, timeout=10).status_code == 401
    assert requests.get(live.url("/api/v1/orders/LK-2026-ZZZZZZ"), headers=API_KEY, timeout=10).status_code == 404
    # the status page and downloads behave the same
    assert requests.get(live.url(f"/embed/order/{number}"), timeout=10).status_code == 404
    assert requests.get(live.url(f"/embed/order/{number}"), params={"t": token}, timeout=10).status_code == 200


HOSTILE_BODIES = [
    [], "text", 123, None, {"parcel": None}, {"parcel": ["x"]}, {"parcel": PARCEL, "product": {"$ne": 1}},
    {"parcel": "A" * 100_000, "product": "karte-online"},
    order_body(scale="1:99999"), order_body(scale=True), order_body(paper="A9"), order_body(copies=-1),
    order_body(copies="1e9"), order_body(center="nan,nan"), order_body(center=[1e308, -1e308]),
    order_body(center="352000,5702000,1"), order_body(contact="x"), order_body(contact={"name": "x\r\nBcc: a@b.c", "email": "a@example.org"}),
    order_body(contact={"name": "N", "email": "a@b"}), order_body(contact={"name": "N", "email": "<script>@x.de"}),
    order_body(parcel="'; DROP TABLE orders; --"), order_body(parcel="\x00"),
    order_body(certified="vielleicht"), order_body(product="karte-online", delivery="post"),
    order_body(payment_method="invoice"), order_body(product="karte-amt", copies=3),
]


@pytest.mark.parametrize("payload", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_order_bodies_get_a_4xx_with_a_message(quiet_sqlite, payload):
    response = api_order(quiet_sqlite, payload)
    assert 400 <= response.status_code < 500, response.text
    problem = response.json()
    assert problem["detail"] and problem["status"] == response.status_code


def test_malformed_requests(quiet_sqlite):
    url = quiet_sqlite.url("/api/v1/orders")
    headers = {"Idempotency-Key": "k" * 16}
    assert requests.post(url, data="{not json", headers={**headers, "Content-Type": "application/json"},
                         timeout=10).status_code == 400
    assert requests.post(url, data="a=b", headers=headers, timeout=10).status_code == 415
    assert requests.post(url, data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                         headers={**headers, "Content-Type": "application/json"}, timeout=30).status_code == 413
    assert requests.post(url, json=order_body(), headers={"Idempotency-Key": "short"}, timeout=10).status_code == 400
    assert requests.post(url, json=order_body(), headers={"Idempotency-Key": "ä" * 20}, timeout=10).status_code == 400


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["parcel", "product", "paper", "orientation", "scale", "copies", "delivery",
                                        "certified", "payment_method", "center", "justification", "contact", "lang"]),
                       st.one_of(st.text(max_size=60), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
                                 st.lists(st.integers(), max_size=3),
                                 st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3)),
                       max_size=8))
def test_fuzzed_order_bodies_never_crash(quiet_sqlite, payload):
    response = api_order(quiet_sqlite, payload)
    assert response.status_code in (201, 400, 404, 422), response.text


@pytest.mark.parametrize("path", ["/embed/order?parcel=%00", "/embed/order?parcel=" + "9" * 5000,
                                  "/embed/order/options?product=zzz&parcel=" + PARCEL,
                                  "/embed/order/options?product=karte-amt&parcel=" + PARCEL + "&copies=abc&scale=-1&center=a,b",
                                  "/embed/order/LK-2026-AAAAAA?t=x", "/embed/order/%2e%2e%2fetc?t=x",
                                  "/embed/order/LK-2026-AAAAAA/files/1/x.pdf?t=x", "/embed/order/LK-2026-AAAAAA/pay"])
def test_hostile_page_requests_get_a_4xx_page(quiet_sqlite, path):
    response = requests.get(quiet_sqlite.url(path), timeout=10)
    assert 400 <= response.status_code < 500
    assert "<h1>" in response.text


@pytest.mark.parametrize("path,data", [
    ("/embed/order/summary", {"parcel": PARCEL, "product": "karte-online", "email": "x" * 5000}),
    ("/embed/order/submit", {"form_token": "short"}),
    ("/embed/order/submit", {"form_token": "a" * 30, "parcel": PARCEL, "product": "karte-online"}),
    ("/embed/order/d/short/contact", {"name": "x"}),
    ("/embed/order/d/" + "A" * 32 + "/contact", {"name": "x"}),
    ("/embed/order/d/" + "A" * 32 + "/submit", {"revision": "1"}),
    ("/embed/order/d/%2e%2e%2f" + "A" * 29 + "/submit", {"revision": "1"}),
    ("/embed/order/LK-2026-AAAAAA/cancel", {"t": "x", "confirm": "yes"}),
    ("/embed/order/handover", {"parcel": PARCEL}),
])
def test_hostile_form_posts_get_a_4xx_page(quiet_sqlite, path, data):
    response = requests.post(quiet_sqlite.url(path), data=data, timeout=10, allow_redirects=False)
    assert 400 <= response.status_code < 500, response.status_code
    assert "<h1>" in response.text


@pytest.mark.parametrize("data", [
    {"parcel": PARCEL},
    {"parcel": PARCEL, "product": "karte-online", "paper": "Z9"},
    {"parcel": "x" * 5000, "product": "karte-online", "copies": "abc", "center": "a,b"},
])
def test_invalid_options_lead_to_the_options_page_with_the_errors(quiet_sqlite, data):
    """Post/Redirect/Get for errors too: the answer is the page to GET, which says what is wrong (4xx)."""
    response = requests.post(quiet_sqlite.url("/embed/order/contact"), data=data, timeout=10, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].startswith("/embed/order/options?")
    shown = requests.get(quiet_sqlite.url(response.headers["Location"]), timeout=10)
    assert shown.status_code == 422 and 'id="error-summary"' in shown.text
