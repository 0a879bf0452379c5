"""The HTML routes (embed, order pages, staff login, demo) fed random query strings and form bodies: never a 5xx."""

from __future__ import annotations

import os
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

PARCEL = "05987100100090______"
# Examples per test; more by hand (GIS_FUZZ_EXAMPLES) for a longer hunt.
EXAMPLES = int(os.environ.get("GIS_FUZZ_EXAMPLES", "800"))
# The names the pages read, so random values reach the parsing behind them rather than stopping at "missing".
NAMES = ["q", "parcel", "key", "scale", "paper", "orientation", "dpi", "center", "centre", "lang", "product",
         "partial_ok", "copies", "delivery", "certified", "payment_method", "draft", "name", "email", "phone",
         "organisation", "street", "postcode", "city", "country", "justification", "revision",
         "expected_amount_cents", "t", "token", "received", "from", "return_to", "confirm", "reason", "order_number",
         "username", "password", "csrf_token", "next", "gis_service_page", "x", "y", "crs", "bbox", "check", "notice",
         "message", "page", "page_url", "form_token"]
# Values that broke parsers elsewhere: Unicode digits, huge and odd numbers, separators, controls.
TRICKY = ["²", "٣", "１０００", "1e309", "nan", "inf", "-0", "0", "99999999999999999999", "1000", "A4", "portrait",
          "landscape", PARCEL, "1,2", "1,2,3,4", "\u00a0", "ä", "€", "%", "\x00", "\r\n", "../..", "<script>", "yes",
          "karte-online", "karte-amt", "en", "de", "1", "javascript:alert(1)", "//evil.example"]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40), st.integers().map(str))
fields = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=12)), values), max_size=8)


@pytest.fixture(scope="module")
def pages(quiet_orders_app):
    """A client and the concrete paths of every HTML route, with a real order, its token and a real draft."""
    client = quiet_orders_app.test_client()
    created = client.post("/api/v1/orders", headers={"Idempotency-Key": secrets.token_hex(12)}, json={
        "parcel": PARCEL, "product": "karte-online", "paper": "A4", "orientation": "portrait", "scale": 1000,
        "contact": {"name": "Erika Mustermann", "email": "erika@example.org"}})
    assert created.status_code == 201, created.json
    number = created.json["order_number"]
    token = parse_qs(urlsplit(created.json["status_url"]).query)["t"][0]
    started = client.post("/embed/order/contact", data={"parcel": PARCEL, "product": "karte-online", "paper": "A4",
                                                        "orientation": "portrait", "scale": "1000"})
    draft = urlsplit(started.headers.get("Location", "/embed/order/d/unknown/contact")).path.split("/")[4]
    get = ["/embed", "/embed/", "/embed/preview", "/demo/formular", "/embed/order", "/embed/order/",
           "/embed/order/options", f"/embed/order/d/{draft}/contact", f"/embed/order/d/{draft}/summary",
           f"/embed/order/{number}", f"/embed/order/{number}/pay", f"/embed/order/{number}/payment-return",
           f"/embed/order/{number}/cancel", f"/embed/order/{number}/files/1/auszug.pdf", "/staff/login",
           "/embed/order/NO-SUCH/cancel", f"/embed/order/{number}/confirm", "/embed/barrierefreiheit",
           "/embed/barrierefreiheit/danke"]
    post = ["/embed/select", f"/embed/order/{number}/cancel", "/embed/order/handover", "/embed/order/contact",
            f"/embed/order/d/{draft}/contact", f"/embed/order/d/{draft}/submit", "/embed/order/submit",
            "/embed/order/summary", "/staff/login", f"/embed/order/{number}/confirm", "/embed/barrierefreiheit"]
    # The staff login form's CSRF token, so with_token also gets past the CSRF check to the login itself.
    page = client.get("/staff/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client, get, post, token, csrf


def test_fuzz_covers_every_html_route(quiet_orders_app, pages):
    _, get, post, _, _ = pages
    adapter = quiet_orders_app.url_map.bind("localhost")
    covered = {adapter.match(path, method=method)[0] for method, paths in (("GET", get), ("POST", post))
               for path in paths}
    wanted = {rule.endpoint for rule in quiet_orders_app.url_map.iter_rules()
              if rule.rule.startswith(("/embed", "/demo")) or rule.rule == "/staff/login"}
    assert wanted <= covered, wanted - covered


def _assert_not_5xx(response, where: str) -> None:
    if response.status_code == 503 and where.split("?")[0].split(" [")[0].endswith("/pay"):
        return  # the payment provider is unreachable on purpose here; its 503 is the page's truthful answer
    assert response.status_code < 500, f"{where}: {response.status_code}\n{response.get_data(as_text=True)[:400]}"


@given(data=st.data(), query=fields, with_token=st.booleans())
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_html_get_routes_never_fail(pages, data, query, with_token):
    client, get, _, token, _ = pages
    path = data.draw(st.sampled_from(get))
    query = [*query, ("t", token)] if with_token else query
    _assert_not_5xx(client.get(path, query_string=query), f"GET {path} {query!r}")


@given(data=st.data(), form=fields, query=fields, with_token=st.booleans())
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_html_post_routes_never_fail(pages, data, form, query, with_token):
    client, _, post, token, csrf = pages
    path = data.draw(st.sampled_from(post))
    form = [*form, ("t", token), ("csrf_token", csrf)] if with_token else form
    # Forms are sent as the browser would: url-encoded UTF-8; control characters included.
    _assert_not_5xx(client.post(path, data=MultiDict(form), query_string=query), f"POST {path} {form!r} ?{query!r}")
