"""The real Neuwerk data through MapServer: the core issue's real-data checks on the upstream."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import shapely
from PIL import Image
from pyogrio.raw import read as ogr_read
from service_support import make_app, upstream_settings
from shapely.geometry import shape

import test_realdata_neuwerk as core
from gis_testing import NEUWERK_GPKG, require_shared_data
from gis_service.page_request import PreviewRequest
from gis_service.tile_faces import TileComposedFaces
from gis_service.tile_grid import screen_resolution
from renderers import compose


@pytest.fixture(scope="module")
def neuwerk_rows():
    require_shared_data()
    _, _, geometry, values = ogr_read(NEUWERK_GPKG, layer="flurstueck", columns=["flstkennz", "amtliche_flaeche_m2"])
    return {key: (float(area), geom) for key, area, geom in zip(values[0], values[1], shapely.from_wkb(geometry))}


def neuwerk_settings(instance, url, **more):
    return upstream_settings(instance, url, default_land="02", attribution="© Freie und Hansestadt Hamburg, LGV, dl-de/by-2.0",
                             **more)


@pytest.fixture(scope="module")
def neuwerk_client(tmp_path_factory, neuwerk_upstream_url):
    return make_app(neuwerk_settings(tmp_path_factory.mktemp("neuwerk-up"), neuwerk_upstream_url)).test_client()


@pytest.fixture(scope="module", params=["single GetMap", "composed from tiles"])
def preview_client(request, tmp_path_factory, neuwerk_upstream_url):
    """Previews as one exact GetMap each, and pasted together from the tile grid's cached tiles.

    For the second, the 1:1000 level is seeded over the data first (8 × 8 tiles a metatile, two at
    a time), so that every preview below is composed, none the cold page's single GetMap.
    """
    # seeding asks for large images, two at a time, on a machine that may be busy: time enough for them
    settings = neuwerk_settings(tmp_path_factory.mktemp("neuwerk-previews"), neuwerk_upstream_url,
                                http={"read_timeout": 30.0, "total_timeout": 40.0})
    composed = request.param == "composed from tiles"
    settings = settings.model_copy(update={
        "preview": settings.preview.model_copy(update={"from_tiles": composed}),
        "tiles": settings.tiles.model_copy(update={"metatile_size": 8}),
    })
    app = make_app(settings)
    faces = app.extensions["gis_previews"].pipeline.faces
    assert isinstance(faces, TileComposedFaces) == composed
    if composed:
        z = faces.grid.level_of(screen_resolution(1000))
        minx, miny, maxx, maxy = app.extensions["gis_source"].info().extent
        pad = 250  # a page centred on a parcel at the data's edge reaches beyond it (A4 at 1:1000: 181 × 230 m)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(faces.tiles.seed, faces.tiles.metatiles((minx - pad, miny - pad, maxx + pad, maxy + pad), [z])))
    client = app.test_client()
    client.composed = composed
    client.faces = faces
    return client


def test_every_parcel_comes_through_the_wfs_with_its_official_area(neuwerk_client, neuwerk_rows):
    minx, miny, maxx, maxy = shapely.total_bounds(np.array([g for _, g in neuwerk_rows.values()], dtype=object))
    found, offset = {}, 0
    while True:
        body = neuwerk_client.get("/api/v1/parcels", query_string={
            "bbox": f"{minx - 1},{miny - 1},{maxx + 1},{maxy + 1}", "limit": 100, "offset": offset}).get_json()
        for feature in body["parcels"]:
            found[feature["id"]] = feature
        offset += 100
        if offset >= body["total"]:
            break
    assert len(neuwerk_rows) == 247 and set(found) == set(neuwerk_rows)
    for key, (area, geometry) in neuwerk_rows.items():
        feature = found[key]
        assert feature["properties"]["flaeche_m2"] == pytest.approx(area)
        assert feature["properties"]["flur"] is None
        assert shape(feature["geometry"]).area == pytest.approx(geometry.area, rel=1e-5, abs=0.01)


def test_sample_of_parcels_by_key_and_by_point(neuwerk_client, neuwerk_rows):
    for key in sorted(neuwerk_rows)[::12]:
        assert neuwerk_client.get(f"/api/v1/parcels/{key}").get_json()["properties"]["kennzeichen"] == key
        point = neuwerk_rows[key][1].representative_point()
        body = neuwerk_client.get(f"/api/v1/parcels?x={point.x}&y={point.y}").get_json()
        assert key in [f["id"] for f in body["parcels"]]


def test_label_without_flur_and_several_addresses(neuwerk_client):
    body = neuwerk_client.get("/api/v1/parcels/Gemarkung Neuwerk Flurstück 128").get_json()
    assert body["properties"]["kennzeichen"] == "020125___00128______"
    body = neuwerk_client.get("/api/v1/parcels", query_string={"q": "Insel Neuwerk 11"}).get_json()
    lage = body["parcels"][0]["properties"]["lage"]
    assert "Insel Neuwerk 11" in lage and len(lage) >= 2


def test_preview_is_the_mapserver_image_under_our_highlight(preview_client, neuwerk_rows):
    key = "020125___00128______"
    params = {"parcel": key, "scale": 1000, "paper": "A4", "orientation": "portrait", "dpi": 96}
    description = preview_client.get("/api/v1/preview.json", query_string=params).get_json()
    response = preview_client.get("/api/v1/preview.png", query_string=params)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("upstream")
    page = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB")).astype(int)
    left, top, right, bottom = description["map_face_px"]
    minx, miny, maxx, maxy = description["bbox"]
    res = (maxx - minx) / (right - left)
    r, g, b = compose.highlight_colours()["outline"]
    mask = (np.abs(page[..., 0] - r) < 30) & (np.abs(page[..., 1] - g) < 30) & (np.abs(page[..., 2] - b) < 30)
    ys, xs = np.nonzero(mask[top:bottom, left:right])
    assert len(xs) > 100
    # the highlight's extent is the parcel's projected extent (within the outline's width)
    px_minx, px_maxx = minx + xs.min() * res, minx + (xs.max() + 1) * res
    px_maxy, px_miny = maxy - ys.min() * res, maxy - (ys.max() + 1) * res
    gminx, gminy, gmaxx, gmaxy = neuwerk_rows[key][1].bounds
    tolerance = 3 * res
    assert description["fits"]
    assert abs(px_minx - gminx) < tolerance and abs(px_maxx - gmaxx) < tolerance
    assert abs(px_miny - gminy) < tolerance and abs(px_maxy - gmaxy) < tolerance


# The core issue's real-data checks, word for word, on the upstream (WFS parcels, WMS image).
def test_core_every_parcel_by_key_with_its_official_area(neuwerk_client):
    core.test_every_parcel_is_found_by_key_with_its_official_area(neuwerk_client, core.read_neuwerk_rows())


def test_core_every_parcel_by_a_point_inside_it(neuwerk_client):
    core.test_every_parcel_is_found_by_a_point_inside_it(neuwerk_client, core.read_neuwerk_rows())


def test_core_every_preview_and_its_highlight_where_the_parcel_projects(preview_client):
    rows = core.read_neuwerk_rows()
    if preview_client.composed:  # every one of these previews is pasted together from cached tiles
        pipeline = preview_client.application.extensions["gis_previews"].pipeline
        for key, _, _ in rows:
            layout = pipeline.plan(PreviewRequest(key, 1000, "A4", "portrait", 96, None)).layout
            window = preview_client.faces.window(layout)
            assert window is not None and all(preview_client.faces.available(window.z, *xy) for xy in window.tiles), key
    core.test_every_preview_renders_and_the_highlight_lies_where_the_parcel_projects(preview_client, rows)
