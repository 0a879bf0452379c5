"""One server under two loopback names: the demo started as 127.0.0.1 comes back from the payment into its form."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from gis_service.web.origins import loopback_twin, server_origins

PARCEL = "05987100100090______"


@pytest.mark.parametrize(("origin", "twin"), [
    ("http://127.0.0.1:8080", "http://localhost:8080"),
    ("http://localhost:8080", "http://127.0.0.1:8080"),
    ("https://localhost", "https://127.0.0.1"),
    ("http://LOCALHOST:8080/", "http://127.0.0.1:8080"),
])
def test_loopback_names_are_twins(origin, twin):
    assert loopback_twin(origin.lower()) == twin


@pytest.mark.parametrize("origin", ["https://formulare.example.de", "http://10.0.0.1:8080", "http://localhost.evil.example",
                                    "http://127.0.0.2:8080", "ftp://localhost", "http://localhost:99999", "http://[",
                                    "http://localhost:8080/form"])
def test_other_origins_have_no_twin(origin):
    assert loopback_twin(origin) is None


def test_server_origins_add_the_twin_only_on_loopback():
    assert server_origins("http://127.0.0.1:8080/") == {"http://127.0.0.1:8080", "http://localhost:8080"}
    assert server_origins("https://kataster.example.de/") == {"https://kataster.example.de"}


def _order(client) -> dict:
    response = client.post("/api/v1/orders", json={"parcel": PARCEL, "product": "karte-online",
                                                   "contact": {"name": "Erika Mustermann", "email": "e@example.org"}},
                           headers={"Idempotency-Key": "loopback-0123456789"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.json


def test_paying_from_127_moves_to_the_public_name_first(demo_client):
    """The payment returns to orders.public_base_url (http://localhost:8080 by default); the way back is kept there."""
    order = _order(demo_client)
    pay = order["payment_url"].removeprefix("http://localhost:8080")
    back = quote("http://127.0.0.1:8080/demo/formular", safe="")
    response = demo_client.get(f"{pay}&return_to={back}", base_url="http://127.0.0.1:8080")
    assert response.status_code == 303
    assert response.headers["Location"] == f"http://localhost:8080{pay}&return_to={back}"
    assert "gis_payment_return" not in response.headers.get("Set-Cookie", "")


def test_the_demo_frames_a_returned_page_under_its_own_name(demo_client):
    page = "http://localhost:8080/embed/order/LK-2026-ABC123?t=x&lang=de&from=payment"
    html = demo_client.get(f"/demo/formular?gis_service_page={quote(page, safe='')}",
                           base_url="http://127.0.0.1:8080").get_data(as_text=True)
    src = re.search(r'<iframe[^>]*\ssrc="([^"]*)"', html)[1]
    assert src == "http://127.0.0.1:8080/embed/order/LK-2026-ABC123?t=x&amp;lang=de&amp;from=payment"
    # another port is another server: not framed
    other = "http://localhost:8081/embed/order/LK-2026-ABC123?t=x"
    html = demo_client.get(f"/demo/formular?gis_service_page={quote(other, safe='')}",
                           base_url="http://127.0.0.1:8080").get_data(as_text=True)
    assert re.search(r'<iframe[^>]*\ssrc="([^"]*)"', html)[1] == "/embed/?lang=de"


def test_the_demo_names_order_states_in_words(demo_client):
    texts = demo_client.get("/demo/formular?lang=en").get_data(as_text=True)
    assert '"completed": "Completed"' in texts and '"awaiting_payment": "Awaiting payment"' in texts
    assert '"completed": "Erledigt"' in demo_client.get("/demo/formular").get_data(as_text=True)
