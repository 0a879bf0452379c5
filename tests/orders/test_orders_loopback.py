"""The demo opened as http://127.0.0.1:<port> with the default public name http://localhost:<port>: back from the payment into the form."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import requests
from order_support import api_order, database_url, free_port, order_settings, start_live_app


def test_back_from_the_payment_into_the_form_started_as_127(tmp_path_factory, postgres, simulator):
    port = free_port()
    instance = tmp_path_factory.mktemp("loopback")
    settings = order_settings(instance=instance, db_url=database_url("sqlite", postgres, instance), port=port,
                              simulator=simulator, smtp=None, worker=False, public_base_url=None,
                              payment={"target": "_top"})
    live = start_live_app(settings, port)  # listens on 127.0.0.1; the default public name is localhost
    try:
        citizen = requests.Session()
        form = f"http://127.0.0.1:{port}/demo/formular"
        order = api_order(live).json()
        assert order["payment_url"].startswith(f"http://localhost:{port}/")
        # "pay" in the form's iframe, which the citizen opened under 127.0.0.1
        pay = order["payment_url"].replace(f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        moved = citizen.get(f"{pay}&return_to={quote(form, safe='')}", allow_redirects=False, timeout=30)
        assert moved.status_code == 303 and moved.headers["Location"].startswith(f"http://localhost:{port}/")
        started = citizen.get(moved.headers["Location"], allow_redirects=False, timeout=30)
        assert started.status_code == 303 and started.headers["Location"].startswith(simulator.base_url)
        back = citizen.get(simulator.pay(started.headers["Location"]), allow_redirects=False, timeout=60)
        # to the form it came from, with our page for its iframe
        assert back.status_code == 303
        location = back.headers["Location"]
        assert location.startswith(f"{form}?gis_service_page="), location
        page = unquote(location.split("gis_service_page=", 1)[1])
        html = citizen.get(location, timeout=30).text
        framed = re.search(r'<iframe[^>]*\ssrc="([^"]*)"', html)[1].replace("&amp;", "&")
        assert framed == page.replace(f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        status = citizen.get(framed, timeout=30).text
        assert order["order_number"] in status and re.search(r'data-status="(paid|in_progress|completed)"', status)
    finally:
        live.stop()
