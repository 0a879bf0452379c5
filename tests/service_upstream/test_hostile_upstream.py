"""A hostile upstream (image bombs, endless or entity-laden XML) is a fault: stale image, fallback or 503, bounded memory."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from service_support import SwitchableProxy, make_app, upstream_settings
from upstream_fakes import png_bomb
from test_faults import BUDGET, EXAMPLE, FAST_HTTP, MARGIN, PARAMS, note_pixels, timed

from gis_service.config import DEMO_DATASET
from gis_service.wiring import image_pixel_limit

HERE = Path(__file__).resolve().parent
# Pillow warns when it opens the 13000×13000 header (before the service refuses it).
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


@pytest.fixture(scope="module", autouse=True)
def bomb_made():
    """Made once before the first request, so that no answer waits for it."""
    png_bomb()


def refusal_logged(caplog, kind: str) -> bool:
    return any(f"[{kind}]" in record.getMessage() for record in caplog.records)


# ---------------------------------------------------------------------------- the image bomb


def test_an_image_bomb_after_a_good_image_serves_the_cached_one(demo_upstream_url, tmp_path, caplog):
    proxy = SwitchableProxy(demo_upstream_url)
    try:
        settings = upstream_settings(tmp_path, proxy.url, http=FAST_HTTP, request_timeout=BUDGET,
                                     cache={"ttl_seconds": 0, "stale_seconds": 3600})
        client = make_app(settings).test_client()
        assert client.get("/api/v1/preview.json", query_string=PARAMS).status_code == 200
        good = client.get("/api/v1/preview.png", query_string=PARAMS)
        assert good.status_code == 200 and good.headers["X-Map-Source"].startswith("upstream")
        proxy.mode = "bomb"
        with caplog.at_level(logging.WARNING):
            response, elapsed = timed(client, "/api/v1/preview.png", query_string=PARAMS)
        assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("cache; date=")
        assert response.headers["Cache-Control"] == "no-store"
        assert elapsed < BUDGET + MARGIN
        assert refusal_logged(caplog, "too-large")
    finally:
        proxy.stop()


def test_an_image_bomb_without_cache_draws_the_fallback_or_answers_503(faults, demo_upstream_url, tmp_path, caplog):
    bomb = faults.url("wms-large/bomb")
    with_fallback = make_app(upstream_settings(tmp_path / "a", bomb, demo_upstream_url, layers=["test"],
                                               fallback=DEMO_DATASET, http=FAST_HTTP, request_timeout=BUDGET))
    client = with_fallback.test_client()
    description = client.get("/api/v1/preview.json", query_string=PARAMS).get_json()
    with caplog.at_level(logging.WARNING):
        response, elapsed = timed(client, "/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("fallback")
    assert note_pixels(response.data, description) > 50 and elapsed < BUDGET + MARGIN + 0.5
    assert refusal_logged(caplog, "too-large")

    without = make_app(upstream_settings(tmp_path / "b", bomb, demo_upstream_url, layers=["test"], http=FAST_HTTP,
                                         request_timeout=BUDGET)).test_client()
    response, elapsed = timed(without, "/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/problem+json" and response.get_json()["code"] == "upstream-unavailable"
    assert elapsed < BUDGET + MARGIN + 0.5
    map_png = without.get("/api/v1/map.png?bbox=352750,5703200,352950,5703400&width=256&height=256")
    assert map_png.status_code == 503


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from Linux /proc")
@pytest.mark.timeout(600)
@pytest.mark.parametrize("fallback", [False, True], ids=["503", "fallback"])
def test_eight_concurrent_previews_against_a_bomb_stay_within_500_mib(faults, demo_upstream_url, tmp_path, fallback):
    # A fresh process, so that nothing this test session allocated blurs the figure.
    command = [sys.executable, str(HERE / "memory_probe.py"), "--wms", faults.url("wms-large/bomb"),
               "--wfs", demo_upstream_url, "--instance", str(tmp_path)]
    if fallback:
        command += ["--fallback", str(DEMO_DATASET)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(figures)
    statuses = {status for status, _ in figures["answers"]}
    assert len(figures["answers"]) == 8 and statuses == ({200} if fallback else {503}), figures["answers"]
    if fallback:
        assert all(source.startswith("fallback") for _, source in figures["answers"])
    assert figures["growth_mib"] < 500, figures  # unguarded, decoding the bombs alone took some 1.2 GiB


# ---------------------------------------------------------------------------- XML the service refuses

WFS_FAULTS = {
    "endless-gml": "too-large",
    "gzip-bomb": "too-large",
    "billion-laughs": "unsafe-xml",
    "external-entity": "unsafe-xml",
    "entity-capabilities": "unsafe-xml",
}


@pytest.mark.parametrize("fault", list(WFS_FAULTS))
def test_hostile_wfs_answers_are_faults_answered_from_the_fallback_or_503(faults, demo_upstream_url, tmp_path,
                                                                         caplog, fault):
    http = {**FAST_HTTP, "max_body_mb": {"getfeature": 1}}
    with_fallback = make_app(upstream_settings(tmp_path / "a", demo_upstream_url, faults.url(f"wfs/{fault}"),
                                               fallback=DEMO_DATASET, http=http, request_timeout=BUDGET))
    client = with_fallback.test_client()
    with caplog.at_level(logging.WARNING):
        response, elapsed = timed(client, "/api/v1/parcels", query_string={"q": "Mühlenweg 12a"})
    assert response.status_code == 200 and response.headers["X-Data-Source"] == "fallback"
    assert response.get_json()["parcels"][0]["id"] == EXAMPLE
    assert elapsed < BUDGET + MARGIN
    assert refusal_logged(caplog, WFS_FAULTS[fault])

    without = make_app(upstream_settings(tmp_path / "b", demo_upstream_url, faults.url(f"wfs/{fault}"), http=http,
                                         request_timeout=BUDGET)).test_client()
    for url in ("/api/v1/parcels/" + EXAMPLE, "/api/v1/parcels?q=Mühlenweg 12a"):
        response, elapsed = timed(without, url)
        assert response.status_code == 503, (url, response.data[:200])
        assert response.mimetype == "application/problem+json" and int(response.headers["Retry-After"]) > 0
        assert elapsed < BUDGET + MARGIN


def test_wms_capabilities_with_an_entity_are_a_fault(faults, demo_upstream_url, tmp_path, caplog):
    settings = upstream_settings(tmp_path, faults.url("wms-large/entity-capabilities"), demo_upstream_url,
                                 layers=["test"], fallback=DEMO_DATASET, http=FAST_HTTP, request_timeout=BUDGET)
    client = make_app(settings).test_client()
    with caplog.at_level(logging.WARNING):
        response = client.get("/api/v1/preview.png", query_string=PARAMS)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("fallback")
    assert refusal_logged(caplog, "unsafe-xml")


# ---------------------------------------------------------------------------- configuration


def test_limits_come_from_the_configuration(demo_upstream_url, tmp_path):
    settings = upstream_settings(tmp_path, demo_upstream_url, http={"max_body_mb": {"getmap": 5}},
                                 wms={"url": demo_upstream_url, "max_image_pixels": 3_000_000})
    source = make_app(settings).extensions["gis_source"]
    assert Image.MAX_IMAGE_PIXELS == 3_000_000
    assert source.wms.session.body_limits["getmap"] == 5 * 1024 * 1024
    assert source.wfs.client.session.body_limits["getfeature"] == 32 * 1024 * 1024
    defaults = upstream_settings(tmp_path, demo_upstream_url)
    assert defaults.source.http.max_body_mb.model_dump() == {"getmap": 32, "getfeature": 32, "capabilities": 8}
    assert image_pixel_limit(defaults) == 2 * 3508 * 4961  # A3 at 300 dpi (preview.max_dpi, orders.extract.dpi), twice
    make_app(defaults)
    assert Image.MAX_IMAGE_PIXELS == 2 * 3508 * 4961
