"""The OGC API at /ogc, read by real clients over HTTP: OWSLib, GDAL's OAPIF driver, plain requests."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pytest
import requests
from PIL import Image
from service_support import LiveServer
from shapely.geometry import shape

EXAMPLE = "05987100100090______"
EPSG25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"


@pytest.fixture(scope="module")
def live(any_app):
    server = LiveServer(any_app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ogc(live):
    return live.url + "/ogc"


def test_landing_page_links_carry_the_mount_and_the_real_port(ogc, live):
    body = requests.get(ogc, params={"f": "json"}, timeout=10).json()
    hrefs = [link["href"] for link in body["links"]]
    assert any(h.startswith(f"{live.url}/ogc/collections") for h in hrefs), hrefs
    conformance = requests.get(f"{ogc}/conformance", params={"f": "json"}, timeout=10).json()["conformsTo"]
    assert any("ogcapi-features-1/1.0/conf/core" in c for c in conformance)
    assert any("ogcapi-processes-1" in c for c in conformance)


def test_owslib_lists_the_collection_and_gets_parcels_by_key(ogc):
    from owslib.ogcapi.features import Features

    api = Features(ogc)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert {"flurstuecke", "liegenschaftskarte"} <= set(ids)
    page = api.collection_items("flurstuecke", limit=5)
    assert page["numberReturned"] == 5 and page["numberMatched"] > 5
    assert [f["id"] for f in page["features"]] == sorted(f["id"] for f in page["features"])
    item = api.collection_item("flurstuecke", EXAMPLE)
    assert item["id"] == EXAMPLE and item["properties"]["label"] == "Gemarkung Lindenhagen, Flur 1, Flurstück 90"
    lon, lat = shape(item["geometry"]).centroid.coords[0]
    assert 5 < lon < 16 and 47 < lat < 56  # CRS84 by default
    native = requests.get(f"{ogc}/collections/flurstuecke/items/{EXAMPLE}", params={"crs": EPSG25832}, timeout=10)
    assert native.headers["Content-Crs"] == f"<{EPSG25832}>"
    x, y = shape(native.json()["geometry"]).centroid.coords[0]
    assert 300_000 < x < 900_000 and 5_200_000 < y < 6_200_000
    by_key = api.collection_items("flurstuecke", kennzeichen=EXAMPLE)
    assert [f["id"] for f in by_key["features"]] == [EXAMPLE]
    by_parts = api.collection_items("flurstuecke", gemarkungsnummer="9871", flur="1", zaehler="90")
    assert [f["id"] for f in by_parts["features"]] == [EXAMPLE]


def test_items_by_bbox_with_paging_match_the_json_api(ogc, live):
    bbox = "352750,5703200,352950,5703400"
    api = requests.get(f"{live.url}/api/v1/parcels", params={"bbox": bbox, "limit": 100}, timeout=10).json()
    expected = [f["id"] for f in api["parcels"]]
    seen, url, params = [], f"{ogc}/collections/flurstuecke/items", {"bbox": bbox, "bbox-crs": EPSG25832, "limit": 7, "f": "json"}
    while url:
        page = requests.get(url, params=params, timeout=10).json()
        assert page["numberMatched"] == len(expected)
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        params = None
    assert seen == expected


def test_unknown_key_and_bad_filter(ogc):
    assert requests.get(f"{ogc}/collections/flurstuecke/items/05987100199999______", timeout=10).status_code == 404
    response = requests.get(f"{ogc}/collections/flurstuecke/items", params={"label": "x"}, timeout=10)
    assert response.status_code == 400 and "queryables" in response.json()["description"]


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed (Debian gdal-bin)")
def test_gdal_oapif_lists_the_collection_and_finds_a_parcel_by_key(ogc):
    env = {"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"}
    listing = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{ogc}"], capture_output=True, text=True, timeout=120, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "flurstuecke" in listing.stdout
    found = subprocess.run(
        ["ogrinfo", "-ro", "-al", f"OAPIF:{ogc}", "flurstuecke", "-where", f"kennzeichen = '{EXAMPLE}'"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert found.returncode == 0, found.stderr
    assert f"kennzeichen (String) = {EXAMPLE}" in found.stdout
    assert "Feature Count: 1" in found.stdout or found.stdout.count("OGRFeature(") == 1
    assert "MULTIPOLYGON" in found.stdout


def test_maps_endpoint_is_our_map_through_our_cache(ogc, source_kind):
    params = {"bbox": "352750,5703200,352950,5703400", "bbox-crs": EPSG25832, "width": 300, "height": 300}
    response = requests.get(f"{ogc}/collections/liegenschaftskarte/map", params=params, timeout=20)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (300, 300)
    assert response.headers["X-Map-Source"].startswith("upstream" if source_kind == "upstream" else "local")
    wrong = requests.get(f"{ogc}/collections/liegenschaftskarte/map", params={**params, "width": 99999}, timeout=10)
    assert wrong.status_code == 400


def test_preview_process_returns_the_png(ogc, live):
    inputs = {"parcel": EXAMPLE, "scale": 500, "paper": "A4", "orientation": "landscape", "dpi": 96}
    description = requests.get(f"{ogc}/processes/liegenschaftskarte-vorschau", params={"f": "json"}, timeout=10).json()
    assert set(description["inputs"]) == {"parcel", "scale", "paper", "orientation", "dpi"}
    response = requests.post(f"{ogc}/processes/liegenschaftskarte-vorschau/execution",
                             data=json.dumps({"inputs": inputs}), headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    same = requests.get(f"{live.url}/api/v1/preview.png", params=inputs, timeout=30)
    assert response.content == same.content
    bad = requests.post(f"{ogc}/processes/liegenschaftskarte-vorschau/execution",
                        data=json.dumps({"inputs": {"parcel": EXAMPLE, "scale": 777}}),
                        headers={"Content-Type": "application/json"}, timeout=30)
    assert bad.status_code == 400 and "scale" in bad.json()["description"]


def test_generated_documents_are_in_the_instance_folder(any_app):
    from pathlib import Path

    folder = Path(any_app.instance_path) / "ogc"
    assert (folder / "pygeoapi-config.yml").is_file() and (folder / "pygeoapi-openapi.yml").is_file()
