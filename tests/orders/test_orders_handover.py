"""Handing over to the form server: Postdata to a real stand-in HTTP server, cacheID redirect, postMessage allow-list."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from order_support import PARCEL, api_order, free_port, order_settings, start_live_app, token_of

FORM_ORIGIN = "https://formulare.example.de"


class FormServer:
    """Stands in for Form-Solutions: POST url-encoded fields → a single-use cacheID."""

    def __init__(self):
        self.received: list[dict[str, list[str]]] = []
        self.fail = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode("utf-8")
                if outer.fail or self.path != "/metaform/Form-Solutions/postdata":
                    self.send_response(500)
                    self.end_headers()
                    return
                assert self.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
                outer.received.append(parse_qs(body, keep_blank_values=True))
                answer = f"cache-{len(outer.received)}-ab12".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def form_server():
    server = FormServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def handover_app(form_server, tmp_path_factory, simulator):
    instance = tmp_path_factory.mktemp("handover")
    port = free_port()
    settings = order_settings(instance=instance, db_url=f"sqlite:///{instance / 'o.sqlite3'}", port=port,
                              simulator=simulator, smtp=None, worker=False)
    settings["orders"]["form_server"] = {
        "postdata_url": f"http://127.0.0.1:{form_server.port}/metaform/Form-Solutions/postdata",
        "form_url": "https://formulare.example.de/metaform/Form-Solutions/sid/assistant/ABC?embedded=true",
        "field_map": {"key": "antrag.flurstueck", "label": "antrag.bezeichnung", "scale": "antrag.massstab",
                      "paper": "antrag.format", "preview_url": "antrag.vorschau", "order_number": "antrag.bestellung"},
        "extra_fields": {"quelle": "gis-service"},
    }
    settings["embed"] = {"allowed_origins": [FORM_ORIGIN]}
    live = start_live_app(settings, port)
    yield live
    live.stop()


def test_selection_posted_to_form_server_and_citizen_redirected(handover_app, form_server):
    selected = requests.post(handover_app.url("/embed/select"),
                             data={"parcel": PARCEL, "scale": "1000", "paper": "A4", "orientation": "portrait"}, timeout=30)
    assert selected.status_code == 200
    assert 'action="/embed/order/handover"' in selected.text and 'target="_top"' in selected.text
    response = requests.post(handover_app.url("/embed/order/handover"),
                             data={"parcel": PARCEL, "scale": "1000", "paper": "A4", "orientation": "portrait"},
                             allow_redirects=False, timeout=30)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "formulare.example.de"
    query = parse_qs(location.query)
    assert query["embedded"] == ["true"] and query["cacheID"] == [f"cache-{len(form_server.received)}-ab12"]
    fields = form_server.received[-1]
    assert fields["antrag.flurstueck"] == [PARCEL]
    assert fields["antrag.massstab"] == ["1000"] and fields["antrag.format"] == ["A4"]
    assert fields["antrag.bezeichnung"][0].startswith("Gemarkung Lindenhagen")
    assert "/api/v1/preview.png?" in fields["antrag.vorschau"][0]
    assert fields["quelle"] == ["gis-service"] and "antrag.bestellung" not in fields


def test_order_number_handed_over_and_failure_is_a_page(handover_app, form_server):
    body = api_order(handover_app).json()
    number, token = body["order_number"], token_of(body["status_url"])
    response = requests.post(handover_app.url("/embed/order/handover"),
                             data={"parcel": PARCEL, "scale": "1000", "paper": "A4", "orientation": "portrait",
                                   "order_number": number, "t": token}, allow_redirects=False, timeout=30)
    assert response.status_code == 303
    assert form_server.received[-1]["antrag.bestellung"] == [number]
    stolen = requests.post(handover_app.url("/embed/order/handover"),
                           data={"parcel": PARCEL, "order_number": number, "t": "wrong"}, timeout=30)
    assert stolen.status_code == 404
    form_server.fail = True
    try:
        failed = requests.post(handover_app.url("/embed/order/handover"), data={"parcel": PARCEL}, timeout=30)
    finally:
        form_server.fail = False
    assert failed.status_code == 502 and "Übergabe an das Formular" in failed.text


def test_post_messages_only_to_allowed_origins(handover_app):
    selected = requests.post(handover_app.url("/embed/select"),
                             data={"parcel": PARCEL, "scale": "1000", "paper": "A4", "orientation": "portrait"}, timeout=30)
    # static/dist/embed.js posts only to the origins named here (the browser tests watch it happen)
    assert re.search(r'name="gis-service-allowed-origins" content="([^"]*)"', selected.text).group(1) == FORM_ORIGIN
    selection = json.loads(re.search(r'id="selection">(.*?)</script>', selected.text).group(1))
    assert selection["key"] == PARCEL
    assert selection["scale"] == 1000 and selection["preview_url"].startswith("http")

    body = api_order(handover_app).json()
    status = requests.get(body["status_url"] + "&received=1", timeout=10).text
    message = json.loads(re.search(r'data-gis-handover>(.*?)</script>', status).group(1))
    assert message == {"type": "gis-service:order-submitted", "order_number": body["order_number"],
                       "status": "submitted", "status_url": body["status_url"]}
    assert f"frame-ancestors 'self' {FORM_ORIGIN}" in requests.get(body["status_url"], timeout=10).headers[
        "Content-Security-Policy"]


def test_no_post_message_without_allowed_origins(quiet_sqlite):
    body = api_order(quiet_sqlite).json()
    status = requests.get(body["status_url"], timeout=10).text
    assert re.search(r'name="gis-service-allowed-origins" content="([^"]*)"', status).group(1) == ""
