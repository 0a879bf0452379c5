"""GET /api/v1/fee: the fee the options page shows while the citizen changes the options; product errors in words."""

from __future__ import annotations

import pytest

from gis_service.orders.errors import OrderValidationError

PARCEL = "05987100100090______"


def test_the_fee_of_the_options_as_they_stand(demo_client):
    response = demo_client.get("/api/v1/fee", query_string={"parcel": PARCEL, "product": "karte-amt", "paper": "A2",
                                                            "delivery": "post", "copies": "3", "lang": "de"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["total_cents"] == 8000 and body["total"] == "80,00\u00a0€"
    assert [(i["code"], i["quantity"], i["amount"]) for i in body["items"]] == [("base", 1, "60,00\u00a0€"),
                                                                                ("copies", 2, "20,00\u00a0€")]
    assert body["items"][0]["label"].endswith("DIN A2")
    assert body["announcement"] == "Die Gebühr beträgt jetzt 80,00\u00a0€."
    english = demo_client.get("/api/v1/fee", query_string={"parcel": PARCEL, "product": "karte-online", "lang": "en"}).json
    assert english["total"] == "€15.00" and english["announcement"] == "The fee is now €15.00."


@pytest.mark.parametrize(("query", "field"), [
    ({"product": "karte-amt", "copies": "2"}, "copies"),  # further copies only by post
    ({"product": "karte-online", "paper": "A0"}, "paper"),
    ({"product": "karte-online", "parcel": "Nirgendwo 1"}, "parcel"),
    ({}, "product"),
])
def test_options_the_order_would_refuse_get_422(demo_client, query, field):
    response = demo_client.get("/api/v1/fee", query_string={"parcel": PARCEL, **query})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["field"] == field and response.json["detail"]


def test_an_unknown_product_is_refused_with_the_products_names(demo_app):
    validator = demo_app.extensions["gis_orders"].validator
    with pytest.raises(OrderValidationError) as refused:
        validator.product_of({"product": "karte-0nline"})
    (error,) = refused.value.errors
    assert "„Auszug aus der Liegenschaftskarte (Sofort-Download)“" in error.message("de")
    assert "“Extract of the cadastral map (instant download)”" in error.message("en")
    assert "karte-online" not in error.message("de") and "karte-online" not in error.message("en")
