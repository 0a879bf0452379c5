"""When the upstream fails or hangs: the last good image with its date, else the fallback, else 503 in time."""

from __future__ import annotations

import io
import re
import threading
import time

import numpy as np
import pytest
from PIL import Image
from service_support import SwitchableProxy, make_app, upstream_settings

from renderers.compose import NOTE_COLOUR

EXAMPLE = "05987100100090______"
BUDGET = 1.5  # request_timeout of the apps below
MARGIN = 1.0  # our own work after the budget: composing and encoding a page at 96 dpi
PARAMS = {"parcel": EXAMPLE, "scale": 1000, "paper": "A4", "orientation": "portrait", "dpi": 96}
FAST_HTTP = {"connect_timeout": 0.5, "read_timeout": 1.0, "total_timeout": 1.5, "retries": 1,
             "failure_threshold": 1000}


def note_pixels(png: bytes, description: dict) -> int:
    """How many pixels of the title-block note colour lie below the map face."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    below = pixels[description["map_face_px"][3]:]
    return int((np.abs(below - np.array(NOTE_COLOUR)).sum(axis=2) < 40).sum())


def timed(client, url, **kwargs):
    start = time.monotonic()
    response = client.get(url, **kwargs)
    return response, time.monotonic() - start


@pytest.fixture
def proxy(demo_upstream_url):
    server = SwitchableProxy(demo_upstream_url)
    yield server
    server.stop()


@pytest.fixture
def proxied_app(proxy, tmp_path):
    """Upstream behind the switchable proxy; cache TTL 0, so every request asks the upstream first."""
    settings = upstream_settings(tmp_path, proxy.url, http=FAST_HTTP, request_timeout=BUDGET, retry_after=45,
                                 cache={"ttl_seconds": 0, "stale_seconds": 3600})
    return make_app(settings)


@pytest.mark.parametrize("mode", ["hang", "error500", "html"])
def test_upstream_down_serves_the_cached_image_with_its_date(proxy, proxied_app, mode):
    client = proxied_app.test_client()
    description = client.get("/api/v1/preview.json", query_string=PARAMS).get_json()
    good = client.get("/api/v1/preview.png", query_string=PARAMS)
    assert good.status_code == 200 and good.headers["X-Map-Source"].startswith("upstream; date=")
    assert note_pixels(good.data, description) == 0

    proxy.mode = mode
    response, elapsed = timed(client, "/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 200
    assert elapsed < BUDGET + MARGIN, f"{mode}: {elapsed:.2f} s"
    source = response.headers["X-Map-Source"]
    assert re.fullmatch(r"cache; date=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", source), source
    assert response.headers["Cache-Control"] == "no-store"
    assert note_pixels(response.data, description) > 50  # "Kartenbild vom … aus dem Zwischenspeicher"
    # the face itself is the cached upstream image, unchanged
    left, top, right, bottom = description["map_face_px"]
    face_then = np.asarray(Image.open(io.BytesIO(good.data)).convert("RGB"))[top:bottom, left:right]
    face_now = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB"))[top:bottom, left:right]
    assert (face_then != face_now).any(axis=2).mean() < 0.001


def test_no_cache_no_fallback_is_503_with_retry_after_in_time(proxy, proxied_app):
    client = proxied_app.test_client()
    assert client.get("/api/v1/parcels/" + EXAMPLE).status_code == 200  # the parcel is known, its map is not
    proxy.mode = "hang"
    response, elapsed = timed(client, "/api/v1/preview.png", query_string={**PARAMS, "scale": 500})
    assert response.status_code == 503
    assert elapsed < BUDGET + MARGIN, f"{elapsed:.2f} s"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert response.mimetype == "application/problem+json" and body["code"] == "upstream-unavailable"
    assert "Kartendienst" in body["detail"] and "nicht erreichbar" in body["detail"]
    english = client.get("/api/v1/preview.png", query_string={**PARAMS, "scale": 500},
                         headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 503 and "cannot be reached" in english.get_json()["detail"]
    # the embedded page says it in words, as an HTML page with the same status
    page = client.get("/embed/preview", query_string={"parcel": "05987100100091______"})
    assert page.status_code == 503 and "Retry-After" in page.headers
    assert "nicht erreichbar" in page.get_data(as_text=True)


def test_parcel_search_on_a_dead_upstream_is_503_problem_json(proxy, proxied_app):
    client = proxied_app.test_client()
    proxy.mode = "hang"
    for url in ("/api/v1/parcels?q=Mühlenweg 12a", "/api/v1/parcels/05987100100091______",
                "/api/v1/parcels?x=352850&y=5703320"):
        response, elapsed = timed(client, url)
        assert response.status_code == 503, url
        assert elapsed < BUDGET + MARGIN, f"{url}: {elapsed:.2f} s"
        assert response.mimetype == "application/problem+json"
        assert int(response.headers["Retry-After"]) > 0
        assert "Flurstücksdaten" in response.get_json()["detail"]


def test_hanging_upstream_holds_no_worker_beyond_the_deadline(proxy, proxied_app):
    client = proxied_app.test_client()
    assert client.get("/api/v1/preview.png", query_string=PARAMS).status_code == 200
    proxy.mode = "hang"
    results: list[tuple[int, float]] = []

    def one(scale: int) -> None:
        response, elapsed = timed(proxied_app.test_client(), "/api/v1/preview.png", query_string={**PARAMS, "scale": scale})
        results.append((response.status_code, elapsed))

    threads = [threading.Thread(target=one, args=(scale,)) for scale in (1000, 1000, 500, 2000, 1000, 500)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BUDGET + MARGIN + 5)
    assert len(results) == len(threads)
    assert all(elapsed < BUDGET + MARGIN + 0.5 for _, elapsed in results), results
    assert sorted({status for status, _ in results}) == [200, 503]  # cached 1:1000, nothing else
    # healthz and the search page answer at once from what is known
    response, elapsed = timed(client, "/healthz")
    assert response.status_code == 200 and elapsed < BUDGET + MARGIN


def test_circuit_breaker_answers_at_once_and_says_when_to_retry(demo_upstream_url, tmp_path):
    proxy = SwitchableProxy(demo_upstream_url)
    try:
        settings = upstream_settings(tmp_path, proxy.url, request_timeout=BUDGET, cache={"ttl_seconds": 0},
                                     http={**FAST_HTTP, "failure_threshold": 2, "reset_timeout": 120, "retries": 0})
        client = make_app(settings).test_client()
        assert client.get("/api/v1/parcels/" + EXAMPLE).status_code == 200
        proxy.mode = "error500"
        for _ in range(3):
            client.get("/api/v1/preview.png", query_string={**PARAMS, "scale": 500})
        response, elapsed = timed(client, "/api/v1/preview.png", query_string={**PARAMS, "scale": 500})
        assert response.status_code == 503 and elapsed < 0.5
        assert 60 < int(response.headers["Retry-After"]) <= 120  # until the breaker probes again
    finally:
        proxy.stop()


# ------------------------------------------------------------------------------ the fallback dataset

WMS_FAULTS = ["hang", "error500", "html", "service-exception", "truncated-png", "wrong-size", "not-png"]


@pytest.mark.parametrize("fault", WMS_FAULTS)
def test_broken_wms_without_cache_draws_the_fallback_labelled(faults, fault, demo_upstream_url, tmp_path):
    from gis_service.config import DEMO_DATASET

    settings = upstream_settings(tmp_path, faults.url(f"wms/{fault}"), demo_upstream_url, layers=["test"],
                                 fallback=DEMO_DATASET, http=FAST_HTTP, request_timeout=BUDGET)
    client = make_app(settings).test_client()
    description = client.get("/api/v1/preview.json", query_string=PARAMS).get_json()
    response, elapsed = timed(client, "/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert elapsed < BUDGET + MARGIN + 0.5, f"{fault}: {elapsed:.2f} s"
    assert response.headers["X-Map-Source"].startswith("fallback"), response.headers["X-Map-Source"]
    assert response.headers["Cache-Control"] == "no-store"
    assert note_pixels(response.data, description) > 50  # "Ersatzdarstellung aus dem lokalen Datenbestand"
    # a stand-in is never cached as the real thing: the next request asks the upstream again
    before = faults.hits.get(f"wms/{fault}", 0)
    client.get("/api/v1/preview.png", query_string=PARAMS)
    assert faults.hits.get(f"wms/{fault}", 0) > before


def test_dead_wfs_with_fallback_answers_searches_from_it(faults, demo_upstream_url, tmp_path):
    from gis_service.config import DEMO_DATASET

    settings = upstream_settings(tmp_path, demo_upstream_url, faults.url("wfs/error500"), fallback=DEMO_DATASET,
                                 http=FAST_HTTP, request_timeout=BUDGET)
    client = make_app(settings).test_client()
    response = client.get("/api/v1/parcels", query_string={"q": "Mühlenweg 12a"})
    assert response.status_code == 200 and response.headers["X-Data-Source"] == "fallback"
    assert response.get_json()["parcels"][0]["id"] == EXAMPLE
    # the map still comes from the (healthy) WMS, the highlight from the fallback's geometry
    preview = client.get("/api/v1/preview.png", query_string=PARAMS)
    assert preview.status_code == 200 and preview.headers["X-Map-Source"].startswith("upstream")


def test_map_png_on_a_dead_wms(faults, demo_upstream_url, tmp_path):
    from gis_service.config import DEMO_DATASET

    url = "/api/v1/map.png?bbox=352750,5703200,352950,5703400&width=256&height=256"
    without = make_app(upstream_settings(tmp_path / "a", faults.url("wms/error500"), demo_upstream_url,
                                         layers=["test"], http=FAST_HTTP)).test_client()
    response = without.get(url)
    assert response.status_code == 503 and "Retry-After" in response.headers
    with_fallback = make_app(upstream_settings(tmp_path / "b", faults.url("wms/error500"), demo_upstream_url,
                                               layers=["test"], fallback=DEMO_DATASET, http=FAST_HTTP)).test_client()
    response = with_fallback.get(url)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("fallback")
    assert response.headers["Cache-Control"] == "no-store"


def test_after_a_restart_the_disk_cache_still_answers_for_a_dead_upstream(proxy, tmp_path):
    settings = upstream_settings(tmp_path, proxy.url, http=FAST_HTTP, request_timeout=BUDGET)
    before = make_app(settings).test_client().get("/api/v1/preview.png", query_string=PARAMS)
    assert before.status_code == 200
    proxy.mode = "hang"
    restarted = make_app(upstream_settings(tmp_path, proxy.url, http=FAST_HTTP, request_timeout=BUDGET,
                                           cache={"ttl_seconds": 0})).test_client()
    response, elapsed = timed(restarted, "/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("cache; date=")
    assert elapsed < BUDGET + MARGIN  # parcel and image from the disk, service information from nowhere


def test_ogc_api_on_a_dead_upstream_is_503_with_retry_after(proxy, proxied_app):
    client = proxied_app.test_client()
    proxy.mode = "error500"
    for url in (f"/ogc/collections/flurstuecke/items/{EXAMPLE}", "/ogc/collections/flurstuecke/items?limit=5",
                "/ogc/collections/liegenschaftskarte/map?bbox=352750,5703200,352950,5703400"
                "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25832&width=100&height=100"):
        response = client.get(url)
        assert response.status_code == 503, (url, response.data[:200])
        assert int(response.headers["Retry-After"]) > 0
