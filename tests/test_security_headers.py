"""One Content-Security-Policy on every HTML page; proxies trusted only when configured; HSTS and hosts from public_base_url."""

from __future__ import annotations

import re

import pytest
from flask import request

from gis_service.app import create_app
from gis_service.config import load_settings

PARCEL = "05987100100090______"  # Mühlenweg 12a in the demo Gemarkung Lindenhagen
PAYMENT = "https://pay.example.org"
FORMS = "https://forms.example.org"


def make_app(tmp_path, server=None, **orders):
    settings = load_settings(None, overrides={
        "instance_path": str(tmp_path), "server": server or {},
        "embed": {"allowed_origins": ["https://gemeinde.example"]},
        "orders": {"database_url": f"sqlite:///{tmp_path / 'o.sqlite3'}", "worker": {"enabled": False},
                   "payment": {"base_url": f"{PAYMENT}/api"},
                   "form_server": {"postdata_url": f"{FORMS}/postdata", "form_url": f"{FORMS}/form"}, **orders}})
    app = create_app(settings)

    @app.get("/_scheme")
    def scheme():  # what the app believes about the request
        return f"{request.scheme} {request.host} {request.remote_addr}"

    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("headers"))
    yield app
    app.extensions["gis_orders"].close()


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {item.split(" ", 1)[0]: item.split(" ", 1)[1] for item in policy.split("; ")}


def html_pages(app):
    """Every GET route without parameters, and the order and error pages that need some."""
    paths = [rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and rule.rule not in ("/_scheme",)]
    return [*paths, f"/embed/order?parcel={PARCEL}", f"/embed/order/options?parcel={PARCEL}&product=karte-amt",
            f"/embed/preview?key={PARCEL}", "/embed/search?q=M%C3%BChlenweg", "/embed/nowhere", "/staff/nowhere",
            "/staff/orders/LK-0000-0000", "/embed/order/d/" + "x" * 32 + "/contact"]


def test_every_html_page_carries_the_policy(app):
    client = app.test_client()
    seen = 0
    for path in html_pages(app):
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        seen += 1
        policy = directives(response)
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'", path
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
        assert policy["form-action"] == f"'self' {PAYMENT} {FORMS}", path
        expected = "'self' https://gemeinde.example" if path.startswith("/embed") else "'none'"
        assert policy["frame-ancestors"] == expected, path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], path
        # the policy would block them in the browser: styles and scripts come from files only
        assert "<style" not in response.text and " style=" not in response.text, path
    assert seen >= 10
    # the demo host page keeps the frame of the picker
    assert directives(client.get("/demo/formular"))["frame-src"].startswith("'self'")
    # no HSTS over plain http
    assert "Strict-Transport-Security" not in client.get("/embed").headers


def test_forwarded_proto_only_from_trusted_proxies(tmp_path):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "localhost"}
    plain = make_app(tmp_path / "plain")
    assert plain.test_client().get("/_scheme", headers=forwarded).text == "http localhost 127.0.0.1"
    proxied = make_app(tmp_path / "proxied", server={"trusted_proxies": 1})
    assert proxied.test_client().get("/_scheme", headers=forwarded).text == "https localhost 203.0.113.7"
    for app in (plain, proxied):
        app.extensions["gis_orders"].close()


def test_https_public_base_url_brings_hsts_secure_cookies_and_trusted_hosts(tmp_path):
    app = make_app(tmp_path, server={"trusted_proxies": 1}, public_base_url="https://kataster.example.org")
    client = app.test_client()
    page = client.get("/staff/login", base_url="https://kataster.example.org")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in page.headers["Set-Cookie"]
    assert client.get("/embed", base_url="http://127.0.0.1").status_code == 200  # loopback: demo and tests
    assert client.get("/embed", base_url="http://evil.example").status_code == 400
    assert client.get("/embed", headers={"X-Forwarded-Host": "evil.example"}).status_code == 400
    app.extensions["gis_orders"].close()


def test_cookie_secure_can_still_be_switched_off(tmp_path):
    app = make_app(tmp_path, public_base_url="https://kataster.example.org", staff={"cookie_secure": False})
    page = app.test_client().get("/staff/login", base_url="https://kataster.example.org")
    assert "Secure" not in page.headers["Set-Cookie"] and re.search("HttpOnly", page.headers["Set-Cookie"])
    app.extensions["gis_orders"].close()
