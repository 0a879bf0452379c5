"""The tile grid's maths, the tile routes on the demo data (WMTS, TileMatrixSet, map.json), and ETag/304 on every image route."""

from __future__ import annotations

import io
import math
import random
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from gis_service.config import ConfigError, PreviewSettings, TileSettings, load_settings
from gis_service.tile_grid import GRID_ID, TileError, TileGrid, screen_resolution

TILE_URL = "/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/{z}/{y}/{x}.png"
WMTS_NS = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}


@pytest.fixture(scope="module")
def grid() -> TileGrid:
    return TileGrid.from_settings(TileSettings(), PreviewSettings())


# ------------------------------------------------------------------------------------------ grid maths


def test_levels_are_the_offered_scales_at_96_dpi_and_coarser_overviews(grid):
    preview, tiles = PreviewSettings(), TileSettings()
    resolutions = grid.resolutions
    assert resolutions == sorted(resolutions, reverse=True)  # level 0 is the coarsest
    assert len(resolutions) == len(preview.scales) + tiles.overview_levels
    for scale in preview.scales:
        z = grid.level_of(scale * 0.0254 / 96)
        assert z is not None, scale
        assert grid.matrix(z).scale == pytest.approx(scale)
    coarsest_offered = screen_resolution(max(preview.scales))
    for i in range(tiles.overview_levels):
        assert resolutions[tiles.overview_levels - 1 - i] == pytest.approx(coarsest_offered * 2 ** (i + 1))
    # 1:1000 at 96 dpi: 0.26458… m per pixel; OGC's 0.28 mm pixel makes its scale denominator 944.9…
    level = grid.matrix(grid.level_of(screen_resolution(1000)))
    assert level.resolution == pytest.approx(0.2645833333)
    assert level.scale_denominator == pytest.approx(944.94047619)


def test_matrices_cover_the_extent_with_a_fixed_top_left_origin(grid):
    minx, miny, maxx, maxy = grid.extent
    assert grid.origin == (280_000.0, 6_120_000.0) == (minx, maxy)
    for m in grid.matrices:
        assert m.matrix_width * m.tile_ground >= maxx - minx > (m.matrix_width - 1) * m.tile_ground
        assert m.matrix_height * m.tile_ground >= maxy - miny > (m.matrix_height - 1) * m.tile_ground
        assert grid.tile_bbox(m.z, 0, 0) == pytest.approx((minx, maxy - m.tile_ground, minx + m.tile_ground, maxy))


def test_tile_of_a_point_holds_it_and_neighbours_share_edges(grid):
    rng = random.Random(13)
    for _ in range(200):
        z = rng.randrange(len(grid.matrices))
        px, py = rng.uniform(300_000, 900_000), rng.uniform(5_250_000, 6_100_000)
        x, y = grid.tile_at(z, px, py)
        bx0, by0, bx1, by1 = grid.tile_bbox(z, x, y)
        assert bx0 <= px < bx1 and by0 < py <= by1
        right, below = grid.tile_bbox(z, x + 1, y), grid.tile_bbox(z, x, y + 1)
        assert right[0] == pytest.approx(bx1) and below[3] == pytest.approx(by0)


def test_tiles_covering_a_bbox_are_exactly_those_touching_it(grid):
    z = grid.level_of(screen_resolution(1000))
    g = grid.matrix(z).tile_ground
    # a box whose edges lie exactly on tile edges: 3 × 2 tiles, not a row or column more
    x0, y0 = 5000, 7000
    minx, maxy = grid.origin[0] + x0 * g, grid.origin[1] - y0 * g
    exact = (minx, maxy - 2 * g, minx + 3 * g, maxy)
    assert sorted(grid.tiles_covering(z, exact)) == sorted((x, y) for x in range(x0, x0 + 3) for y in range(y0, y0 + 2))
    # nudged by a centimetre: one more column and row on the far sides
    nudged = (exact[0], exact[1] - 0.01, exact[2] + 0.01, exact[3])
    assert len(list(grid.tiles_covering(z, nudged))) == 4 * 3
    # every tile of an arbitrary box touches it, and together they cover it
    box = (352_123.4, 5_702_345.6, 352_987.6, 5_703_001.2)
    tiles = list(grid.tiles_covering(z, box))
    bboxes = np.array([grid.tile_bbox(z, x, y) for x, y in tiles])
    assert (bboxes[:, 0] < box[2]).all() and (bboxes[:, 2] > box[0]).all()
    assert (bboxes[:, 1] < box[3]).all() and (bboxes[:, 3] > box[1]).all()
    assert bboxes[:, 0].min() <= box[0] and bboxes[:, 2].max() >= box[2]
    assert bboxes[:, 1].min() <= box[1] and bboxes[:, 3].max() >= box[3]
    columns = math.ceil(box[2] / g - grid.origin[0] / g) - math.floor(box[0] / g - grid.origin[0] / g)
    assert len({x for x, _ in tiles}) == columns
    # outside the grid: nothing
    assert list(grid.tiles_covering(z, (0, 0, 1000, 1000))) == []


def test_addresses_outside_the_grid_are_tile_errors(grid):
    last = len(grid.matrices) - 1
    m = grid.matrix(last)
    for z, x, y in [(last + 1, 0, 0), (-1, 0, 0), (last, m.matrix_width, 0), (last, 0, m.matrix_height)]:
        with pytest.raises(TileError) as caught:
            grid.check(z, x, y)
        assert caught.value.status == 404
    grid.check(last, m.matrix_width - 1, m.matrix_height - 1)


def test_snap_moves_a_point_onto_the_levels_pixel_corners(grid):
    z = grid.level_of(screen_resolution(500))
    res = grid.matrix(z).resolution
    sx, sy = grid.snap(z, 352_850.123, 5_703_320.987)
    assert abs(sx - 352_850.123) <= res / 2 and abs(sy - 5_703_320.987) <= res / 2
    assert ((sx - grid.origin[0]) / res) == pytest.approx(round((sx - grid.origin[0]) / res), abs=1e-6)
    assert ((grid.origin[1] - sy) / res) == pytest.approx(round((grid.origin[1] - sy) / res), abs=1e-6)


def test_tile_settings_are_checked_at_start(tmp_path):
    with pytest.raises(ConfigError, match="tiles.origin|origin must be"):
        load_settings(None, overrides={"instance_path": str(tmp_path), "tiles": {"origin": [0, 0]}})
    with pytest.raises(ConfigError, match="tiles.metatile_size"):
        load_settings(None, overrides={"instance_path": str(tmp_path), "tiles": {"metatile_size": 0}})
    with pytest.raises(ConfigError, match="4608 px wide"):
        load_settings(None, overrides={"instance_path": str(tmp_path), "tiles": {"metatile_size": 16,
                                                                                 "metatile_buffer_px": 256}})
    custom = load_settings(None, overrides={"instance_path": str(tmp_path), "preview": {"scales": [250, 500, 1000]},
                                            "tiles": {"overview_levels": 2}})
    grid = TileGrid.from_settings(custom.tiles, custom.preview)
    assert [round(m.scale) for m in grid.matrices] == [4000, 2000, 1000, 500, 250]


# ------------------------------------------------------------------------------------------ routes


def _tile_of(client, scale: int, at: tuple[float, float]) -> tuple[int, int, int]:
    from gis_service.tile_grid import TileGrid as Grid

    description = client.get("/tiles/map.json").get_json()
    z = description["scaleLevels"][str(scale)]
    grid = Grid.with_resolutions(description["extent"], description["tileSize"], description["resolutions"])
    return (z, *grid.tile_at(z, *at))


def _centre(client) -> tuple[float, float]:
    minx, miny, maxx, maxy = client.get("/tiles/map.json").get_json()["dataExtent"]
    return (minx + maxx) / 2, (miny + maxy) / 2


def test_map_json_tells_the_picker_the_grid_and_the_url(demo_client):
    body = demo_client.get("/tiles/map.json").get_json()
    assert body["tileMatrixSet"] == GRID_ID and body["crs"] == "EPSG:25832" and body["tileSize"] == 256
    assert body["url"] == TILE_URL
    assert set(body["scaleLevels"]) == {"500", "1000", "2000"}
    for scale, z in body["scaleLevels"].items():
        assert body["resolutions"][z] == pytest.approx(int(scale) * 0.0254 / 96)
    tms = demo_client.get(body["tileMatrixSetUrl"]).get_json()
    assert tms["id"] == GRID_ID and tms["crs"].endswith("/EPSG/0/25832")
    assert [m["cellSize"] for m in tms["tileMatrices"]] == body["resolutions"]
    assert all(m["pointOfOrigin"] == body["origin"] and m["cornerOfOrigin"] == "topLeft" for m in tms["tileMatrices"])
    listing = demo_client.get("/tiles/tileMatrixSets").get_json()
    assert [item["id"] for item in listing["tileMatrixSets"]] == [GRID_ID]


def test_capabilities_describe_the_layer_and_the_grid(demo_client):
    response = demo_client.get("/wmts/1.0.0/WMTSCapabilities.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    layer = root.find("w:Contents/w:Layer", WMTS_NS)
    assert layer.findtext("ows:Identifier", namespaces=WMTS_NS) == "liegenschaftskarte"
    template = layer.find("w:ResourceURL", WMTS_NS).get("template")
    assert template.endswith("/wmts/1.0.0/liegenschaftskarte/default/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png")
    matrices = root.findall("w:Contents/w:TileMatrixSet/w:TileMatrix", WMTS_NS)
    body = demo_client.get("/tiles/map.json").get_json()
    assert len(matrices) == len(body["resolutions"])
    for matrix, resolution in zip(matrices, body["resolutions"]):
        assert float(matrix.findtext("w:ScaleDenominator", namespaces=WMTS_NS)) * 0.00028 == pytest.approx(resolution)
        assert matrix.findtext("w:TopLeftCorner", namespaces=WMTS_NS).split() == ["280000.0", "6120000.0"]


def test_a_tile_is_the_map_of_its_square(demo_client):
    z, x, y = _tile_of(demo_client, 1000, _centre(demo_client))
    response = demo_client.get(TILE_URL.format(z=z, x=x, y=y))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Map-Source"].startswith("local; date=")
    assert response.headers["Cache-Control"] == f"public, max-age={TileSettings().ttl_seconds}"
    image = np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB"))
    assert image.shape == (256, 256, 3)
    assert (image.sum(axis=2) < 300).mean() > 0.005  # lines and labels, not a blank square
    # far from the data: a blank tile, made without drawing anything
    far = demo_client.get(TILE_URL.format(z=z, x=10, y=10))
    assert far.status_code == 200 and far.headers["X-Map-Source"] == "blank"
    assert (np.asarray(Image.open(io.BytesIO(far.data)).convert("RGB")) == 255).all()


@pytest.mark.parametrize("path, status, code", [
    ("/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/5/x/1.png", 400, "invalid-parameter"),
    ("/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/5/1/-1.png", 400, "invalid-parameter"),
    ("/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/5/1/99999999999.png", 400, "invalid-parameter"),
    ("/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/99/1/1.png", 404, "tile-out-of-range"),
    ("/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/5/99999/1.png", 404, "tile-out-of-range"),
    ("/wmts/1.0.0/liegenschaftskarte/default/GoogleMapsCompatible/5/1/1.png", 404, "unknown-tile-matrix-set"),
    ("/tiles/tileMatrixSets/WebMercatorQuad", 404, "unknown-tile-matrix-set"),
])
def test_bad_tile_addresses_are_problems_not_errors(demo_client, path, status, code):
    for headers in ({}, {"Accept": "text/html"}, {"Accept-Language": "en"}):
        response = demo_client.get(path, headers=headers)
        assert response.status_code == status, response.data[:200]
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == code


def test_tiles_can_be_switched_off(tmp_path):
    from gis_service.app import create_app

    app = create_app(load_settings(None, overrides={"instance_path": str(tmp_path), "tiles": {"enabled": False}}))
    client = app.test_client()
    assert client.get("/tiles/map.json").status_code == 404
    assert client.get(TILE_URL.format(z=5, x=1, y=1)).status_code == 404


# ------------------------------------------------------------------------------------------ ETag and 304


def _image_routes(client) -> list[str]:
    parcel = client.get("/api/v1/parcels?gemarkung=Lindenhagen&flur=1&limit=1").get_json()["parcels"][0]["id"]
    z, x, y = _tile_of(client, 1000, _centre(client))
    cx, cy = _centre(client)
    bbox = f"{cx - 100:.0f},{cy - 100:.0f},{cx + 100:.0f},{cy + 100:.0f}"
    return [
        TILE_URL.format(z=z, x=x, y=y),
        f"/api/v1/map.png?bbox={bbox}&width=256&height=256",
        f"/api/v1/preview.png?parcel={parcel}",
        f"/api/v1/preview.pdf?parcel={parcel}",
        f"/api/v1/preview.tif?parcel={parcel}",
        f"/ogc/collections/liegenschaftskarte/map?bbox={bbox}&width=256&height=256"
        "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25832",
    ]


def test_every_image_route_answers_304_to_its_own_etag(demo_client):
    for url in _image_routes(demo_client):
        first = demo_client.get(url)
        assert first.status_code == 200, (url, first.data[:200])
        tag = first.headers.get("ETag")
        assert tag and tag.startswith('"') and first.headers["Cache-Control"].startswith("public, max-age="), url
        again = demo_client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.data == b"" and again.headers["ETag"] == tag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
        other = demo_client.get(url, headers={"If-None-Match": '"20000101-0123456789abcdef"'})
        assert other.status_code == 200 and other.data, url


def test_the_etag_names_the_data_currency(demo_client, tmp_path):
    from gis_service.app import create_app

    url = _image_routes(demo_client)[0]
    tag = demo_client.get(url).headers["ETag"]
    currency = demo_client.application.extensions["gis_source"].info().data_currency
    assert tag.startswith(f'"{currency.replace("-", "")}-')
    # the same pixels under another Datenstand are another version: the old tag no longer matches
    other = create_app(load_settings(None, overrides={"instance_path": str(tmp_path),
                                                      "source": {"type": "local", "data_currency": "2031-01-01"}})).test_client()
    response = other.get(url, headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["ETag"].startswith('"20310101-')


# ------------------------------------------------------------------------------------------ seeding


def _seed(config, *args):
    import subprocess
    import sys

    from gis_testing import REPO

    return subprocess.run([sys.executable, "-m", "gis_service.cli", "seed", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def test_seed_fills_the_cache_and_a_second_run_skips_it(tmp_path, demo_client):
    import re as regex

    config = tmp_path / "config.yaml"
    config.write_text(f"instance_path: {tmp_path / 'instance'}\n", encoding="utf-8")
    cx, cy = _centre(demo_client)
    bbox = f"{cx - 150:.0f},{cy - 150:.0f},{cx + 150:.0f},{cy + 150:.0f}"
    first = _seed(config, "--bbox", bbox, "--levels", "4-5", "--workers", "2")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    total = int(regex.match(r"seed: (\d+) metatiles", lines[0]).group(1))
    assert total >= 2
    assert all("\r" not in line for line in lines)  # not a terminal: plain lines
    assert f"{total}/{total} metatiles ({total} made, 0 already cached" in lines[-1]
    # the tiles are in the instance's cache: the app on that instance serves them without drawing
    from gis_service.app import create_app

    app = create_app(load_settings(config))
    service = app.extensions["gis_tiles"]
    z = service.grid.level_of(screen_resolution(1000))
    assert all(service.cached(z, x, y) for x, y in service.grid.tiles_covering(z, tuple(map(float, bbox.split(",")))))
    again = _seed(config, "--bbox", bbox, "--levels", "4-5")
    assert again.returncode == 0 and f"{total}/{total} metatiles (0 made, {total} already cached" in again.stdout


@pytest.mark.parametrize("args, message", [
    (["--levels", "12"], "outside the levels"),
    (["--levels", "a-b"], "not a level"),
    (["--bbox", "1,2,3"], "bbox"),
    (["--workers", "50"], "invalid choice"),
])
def test_seed_refuses_bad_arguments(tmp_path, args, message):
    config = tmp_path / "config.yaml"
    config.write_text(f"instance_path: {tmp_path / 'instance'}\n", encoding="utf-8")
    done = _seed(config, *args)
    assert done.returncode == 2 and message in done.stderr


# ------------------------------------------------------------------------------------------ the lock


def test_disk_lock_is_one_holder_across_cache_objects_and_freed_on_release(tmp_path):
    from gis_service.cache import DiskCache

    one, other = (DiskCache(tmp_path, 1024 * 1024, ttl=60, stale=60) for _ in range(2))
    held = one.try_lock("metatile 5/0/0", 30)
    assert held is not None
    assert other.try_lock("metatile 5/0/0", 30) is None and one.try_lock("metatile 5/0/0", 30) is None
    neighbour = other.try_lock("metatile 5/4/0", 30)
    assert neighbour is not None  # another name is another lock
    neighbour.release()
    held.release()
    again = other.try_lock("metatile 5/0/0", 30)
    assert again is not None
    again.release()
    # lock files are no cache entries: eviction and size never count them
    assert one.size() == 0


# ------------------------------------------------------------------------------------------ seams (local drawing)


def test_local_metatiles_keep_their_labels_inside_so_no_seam_cuts_one(demo_client, monkeypatch):
    """The local drawing places labels for the metatile without its buffer: no label ink reaches the
    buffer or the metatile's edge, so a neighbour drawn apart can never show half of one. Drawn for the
    whole buffered extent instead (as a page is), labels run across that edge."""
    from renderers.layout import make_view

    app = demo_client.application
    service, faces = app.extensions["gis_tiles"], app.extensions["gis_services"].faces
    grid, buffer = service.grid, service.settings.metatile_buffer_px
    z, x, y = _tile_of(demo_client, 1000, (352_850.0, 5_703_320.0))
    meta = service.metatile(z, x, y)
    side = meta.columns * 256
    view = make_view(grid.block_bbox(z, meta.x0, meta.y0, meta.columns, meta.rows, buffer),
                     side + 2 * buffer, side + 2 * buffer)
    core = grid.block_bbox(z, meta.x0, meta.y0, meta.columns, meta.rows)

    def pixels(**kwargs) -> np.ndarray:
        return np.asarray(faces.render(view, **kwargs).image).astype(int)

    with monkeypatch.context() as patch:  # the same drawing without any label: where labels are is the difference
        patch.setattr("renderers.map.plan_labels", lambda *_: [])
        bare = pixels()

    def ink_outside_core(drawn: np.ndarray) -> int:
        ink = np.abs(drawn - bare).sum(axis=2) > 0
        inside = np.zeros_like(ink)
        inside[buffer + 1:buffer + side - 1, buffer + 1:buffer + side - 1] = True
        assert ink[inside].sum() > 1000  # labels were drawn at all
        return int(ink[~inside].sum())

    tiled = pixels(labels_within=core)
    assert ink_outside_core(tiled) == 0
    assert ink_outside_core(pixels()) > 100  # a page's placement runs labels across the edge
    # and the tiles are cut from exactly that drawing
    tile = demo_client.get(TILE_URL.format(z=z, x=meta.x0 + 1, y=meta.y0 + 2))
    cut = tiled[buffer + 2 * 256:buffer + 3 * 256, buffer + 256:buffer + 2 * 256]
    assert (np.asarray(Image.open(io.BytesIO(tile.data)).convert("RGB")).astype(int) == cut).all()


def test_tiles_of_the_real_data_of_neuwerk(neuwerk_client):
    body = neuwerk_client.get("/tiles/map.json").get_json()
    minx, miny, maxx, maxy = body["dataExtent"]
    grid_minx, grid_miny, grid_maxx, grid_maxy = body["extent"]
    assert grid_minx < minx < maxx < grid_maxx and grid_miny < miny < maxy < grid_maxy
    root = ET.fromstring(neuwerk_client.get("/wmts/1.0.0/WMTSCapabilities.xml").data)
    lower = root.findtext("w:Contents/w:Layer/ows:WGS84BoundingBox/ows:LowerCorner", namespaces=WMTS_NS).split()
    lon, lat = float(lower[0]), float(lower[1])
    assert 8.3 < lon < 8.6 and 53.8 < lat < 54.0  # the island in the Elbe estuary
    z, x, y = _tile_of(neuwerk_client, 1000, ((minx + maxx) / 2, (miny + maxy) / 2))
    response = neuwerk_client.get(TILE_URL.format(z=z, x=x, y=y))
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("local")
    pixels = np.asarray(Image.open(io.BytesIO(response.data)).convert("L"))
    assert (pixels < 128).mean() > 0.001  # parcel lines of the island


def test_capabilities_name_the_public_address_behind_the_reverse_proxy(tmp_path):
    from gis_service.app import create_app

    app = create_app(load_settings(None, overrides={"instance_path": str(tmp_path), "server": {"trusted_proxies": 1}}))
    response = app.test_client().get("/wmts/1.0.0/WMTSCapabilities.xml", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "karte.example.de", "X-Forwarded-For": "203.0.113.9"})
    template = ET.fromstring(response.data).find("w:Contents/w:Layer/w:ResourceURL", WMTS_NS).get("template")
    assert template.startswith("https://karte.example.de/wmts/1.0.0/liegenschaftskarte/default/")


def test_a_cache_folder_without_room_for_lock_files_still_locks_within_the_process(tmp_path):
    import os

    from gis_service.cache import DiskCache

    cache = DiskCache(tmp_path, 1024 * 1024, ttl=60, stale=60)
    (tmp_path / ".locks").write_text("not a folder")  # as good as unwritable, also for root
    held = cache.try_lock("metatile 5/0/0", 30)
    assert held is not None and cache.try_lock("metatile 5/0/0", 30) is None
    held.release()
    assert os.path.isfile(tmp_path / ".locks")


def test_a_held_preview_pdf_is_answered_before_it_is_made(demo_client, monkeypatch):
    parcel = demo_client.get("/api/v1/parcels?gemarkung=Lindenhagen&flur=1&limit=1").get_json()["parcels"][0]["id"]
    url = f"/api/v1/preview.pdf?parcel={parcel}&scale=500"
    tag = demo_client.get(url).headers["ETag"]
    previews = demo_client.application.extensions["gis_previews"]
    with monkeypatch.context() as patch:  # nothing may be rendered for a client that has the version
        patch.setattr(type(previews), "pdf", lambda *_: pytest.fail("the PDF was made again"))
        again = demo_client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag and again.data == b""
    # another scale is another version
    other = demo_client.get(f"/api/v1/preview.pdf?parcel={parcel}&scale=1000", headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["ETag"] != tag
