"""WmsClient against MapServer 8 (sizes, dpi, tiling, axis order) and against a misbehaving server."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from wms_clients.http import UpstreamError, UpstreamSession
from wms_clients.wms import WmsClient, plan_tiles

pytestmark = pytest.mark.mapserver
CADASTRAL_LAYERS = ["adv_alkis_tatsaechliche_nutzung", "adv_alkis_flurstuecke", "adv_alkis_gebaeude"]


def wms(url: str, layers=None, **options) -> WmsClient:
    session = UpstreamSession("mapserver", read_timeout=30, total_timeout=60)
    return WmsClient(url, layers or CADASTRAL_LAYERS, session, **options)


def dark_pixels(image) -> int:
    return int((np.asarray(image.convert("L")) < 128).sum())


def differing(a, b) -> np.ndarray:
    """Per pixel: does any channel differ?"""
    return (np.asarray(a, dtype=np.int16) != np.asarray(b, dtype=np.int16)).any(axis=2)


# ---------------------------------------------------------------------------- tile maths


@pytest.mark.parametrize(
    "width,height,max_w,max_h,buffer",
    [(3508, 4961, 4096, 4096, 0), (1600, 1600, 600, 600, 0), (1001, 999, 256, 300, 16), (10, 10, 64, 64, 8)],
)
def test_tiles_cover_the_image_exactly_once(width, height, max_w, max_h, buffer):
    tiles = plan_tiles(width, height, max_w, max_h, buffer)
    cover = np.zeros((height, width), dtype=np.int32)
    for tile in tiles:
        cover[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
        assert tile.x1 - tile.x0 + 2 * tile.buffer <= max_w
        assert tile.y1 - tile.y0 + 2 * tile.buffer <= max_h
    assert (cover == 1).all()


# ---------------------------------------------------------------------------- MapServer


def test_capabilities_are_read_validated_and_cached(wms_target, mapserver):
    url, _ = wms_target
    client = wms(url)
    caps = client.capabilities()
    assert {"adv_alkis_tatsaechliche_nutzung", "adv_alkis_flurstuecke", "adv_alkis_gebaeude"} <= set(caps.layers)
    assert (caps.max_width, caps.max_height) == (4096, 4096)
    assert "EPSG:25832" in caps.crs_options("adv_alkis_flurstuecke")
    assert caps.title.startswith("ALKIS")
    calls = client.session.stats.attempts
    assert client.capabilities() is caps  # cached
    assert client.session.stats.attempts == calls


def test_missing_layers_are_named(wms_target):
    url, _ = wms_target
    with pytest.raises(UpstreamError) as caught:
        wms(url, ["adv_alkis_flurstuecke", "adv_alkis_nope", "also_missing"]).capabilities()
    assert caught.value.kind == "bad-response"
    assert "adv_alkis_nope, also_missing" in caught.value.message
    assert "adv_alkis_flurstuecke" not in caught.value.message.split("offers")[0]


@pytest.mark.parametrize("dpi", [96, 300])
def test_getmap_has_exactly_the_asked_size(wms_target, dpi):
    url, bbox = wms_target
    side = round(400 / 1000 * 1000 / 25.4 * dpi)  # 400 m at 1:1000 = 400 mm of paper
    image = wms(url).get_map(bbox, side, side + 7, dpi=dpi)
    assert image.size == (side, side + 7)
    assert image.mode == "RGBA"
    assert dark_pixels(image) > 1000  # parcel lines and labels are there


def test_map_resolution_scales_line_widths(wms_target):
    url, bbox = wms_target
    at96 = wms(url, ["flurstueck_grenze"]).get_map(bbox, 800, 800, dpi=96)
    big = round(800 * 300 / 96)
    at300 = wms(url, ["flurstueck_grenze"]).get_map(bbox, big, big, dpi=300)
    unscaled = wms(url, ["flurstueck_grenze"], dpi_param=None).get_map(bbox, big, big, dpi=300)
    # Line length grows ×3.125 with the pixel size; with MAP_RESOLUTION the width does too.
    assert dark_pixels(at300) / dark_pixels(at96) > 6.5
    assert dark_pixels(unscaled) / dark_pixels(at96) < 4.5


def test_dpi_parameter_forms(faults):
    bbox = (0.0, 0.0, 100.0, 100.0)
    forms = {"map_resolution": ("MAP_RESOLUTION", "300"), "dpi": ("DPI", "300"), "format_options": ("FORMAT_OPTIONS", "dpi:300")}
    for dpi_param, (name, value) in forms.items():
        WmsClient(faults.url("wms/echo"), ["test"], dpi_param=dpi_param).get_map(bbox, 50, 50, dpi=300)
        assert faults.requests[-1][1][name] == value


def assert_seamless(single, tiled, edges_x=(), edges_y=()) -> None:
    """Tiled equals single but for MapServer's own rounding, and nothing happens at tile edges.

    Rounding flips a few pixels where a line runs almost along a pixel boundary (the synthetic
    demo data is full of axis-parallel lines); a seam or a gap would instead flip a whole
    column or row at a tile edge, and a misplaced tile everything in it.
    """
    diff = differing(single, tiled)
    assert diff.sum() <= 0.005 * max(dark_pixels(single), 1)
    for edge in edges_x:
        assert diff[:, edge - 1 : edge + 1].mean() < 0.02
    for edge in edges_y:
        assert diff[edge - 1 : edge + 1, :].mean() < 0.02


def test_tiles_stitch_without_seams(wms_target, mapserver):
    url, bbox = wms_target
    layers = ["flurstueck_grenze_aliased"]  # binary pixels: comparable exactly
    single = wms(url, layers).get_map(bbox, 1600, 1600)
    name = url.rsplit("/", 1)[1]
    before = mapserver.hits(name)
    tiled = wms(url, layers, tile_size=600).get_map(bbox, 1600, 1600)
    assert mapserver.hits(name) - before == 1 + 9  # capabilities + 3×3 tiles
    assert_seamless(single, tiled, (533, 1067), (533, 1067))


def test_tiles_with_a_buffer_stitch_too(wms_target):
    url, bbox = wms_target
    layers = ["flurstueck_grenze_aliased"]
    single = wms(url, layers).get_map(bbox, 1200, 1000)
    tiled = wms(url, layers, tile_size=500, tile_buffer=24).get_map(bbox, 1200, 1000)
    assert_seamless(single, tiled, (400, 800), (333, 667))


def test_antialiased_style_tiles_differ_only_by_antialiasing(wms_target):
    url, bbox = wms_target
    single = wms(url, ["flurstueck_grenze"]).get_map(bbox, 1600, 1600)
    tiled = wms(url, ["flurstueck_grenze"], tile_size=600).get_map(bbox, 1600, 1600)
    delta = np.abs(np.asarray(single, dtype=np.int16) - np.asarray(tiled, dtype=np.int16)).max(axis=2)
    assert (delta > 0).mean() < 0.002
    assert delta.mean() < 0.05


def test_a3_at_300_dpi_is_split_under_the_server_maximum(wms_target, mapserver):
    url, (minx, miny, _, _) = wms_target
    width, height = 3508, 4961  # A3 portrait at 300 dpi
    # 1:1000 → 297 × 420 m
    bbox = (minx, miny, minx + width * 25.4 / 300, miny + height * 25.4 / 300)
    name = url.rsplit("/", 1)[1]
    client = wms(url, ["flurstueck_grenze_aliased"])
    client.capabilities()
    before = mapserver.hits(name)
    image = client.get_map(bbox, width, height, dpi=300)
    assert image.size == (width, height)
    assert mapserver.hits(name) - before == 2  # MaxHeight 4096 → two tiles
    smaller_tiles = wms(url, ["flurstueck_grenze_aliased"], tile_size=2000).get_map(bbox, width, height, dpi=300)
    assert_seamless(image, smaller_tiles, (1754,), (1654, 2480, 3307))


def test_epsg_4326_bbox_goes_lat_lon_on_the_wire(wms_target, faults):
    url, bbox = wms_target
    to_wgs84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    lon0, lat0, lon1, lat1 = to_wgs84.transform_bounds(*bbox)
    image = wms(url, ["flurstueck_grenze"], crs="EPSG:4326").get_map((lon0, lat0, lon1, lat1), 600, 600)
    assert dark_pixels(image) > 1000  # the right place: parcel lines drawn
    # Forcing x/y order (a server-specific override) asks MapServer for a spot in the sea.
    wrong = wms(url, ["flurstueck_grenze"], crs="EPSG:4326", axis_order="xy").get_map((lon0, lat0, lon1, lat1), 600, 600)
    assert dark_pixels(wrong) == 0

    WmsClient(faults.url("wms/echo"), ["test"], crs="EPSG:4326").get_map((lon0, lat0, lon1, lat1), 10, 10)
    query = faults.requests[-1][1]
    assert [float(v) for v in query["BBOX"].split(",")] == pytest.approx([lat0, lon0, lat1, lon1])
    assert query["CRS"] == "EPSG:4326" and query["VERSION"] == "1.3.0"
    WmsClient(faults.url("wms/echo"), ["test"], crs="EPSG:3857").get_map((1.0, 2.0, 3.0, 4.0), 10, 10)
    assert faults.requests[-1][1]["BBOX"] == "1,2,3,4"


def test_demo_dataset_is_served_under_the_same_names(demo_url):
    client = wms(demo_url)
    assert {"adv_alkis_flurstuecke", "adv_alkis_gebaeude"} <= set(client.capabilities().layers)
    image = client.get_map((352900.0, 5703300.0, 353300.0, 5703700.0), 500, 500)
    colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 10  # land use fill, buildings, lines, labels


# ---------------------------------------------------------------------------- faults


def fault_wms(faults, fault: str, **options) -> WmsClient:
    session = UpstreamSession("faults", read_timeout=2, total_timeout=3, retries=0)
    return WmsClient(faults.url(f"wms/{fault}"), ["test", "other"], session, **options)


@pytest.mark.parametrize(
    "fault,kind,said",
    [
        ("service-exception", "exception-report", "Invalid layer(s) given in the LAYERS parameter"),
        ("html", "bad-response", "502 Proxy Error"),
        ("truncated-png", "bad-response", None),
        ("wrong-size", "bad-response", None),
        ("not-png", "bad-response", None),
        ("error500", "unavailable", "database connection lost"),
    ],
)
def test_every_bad_answer_becomes_a_clear_upstream_error(faults, fault, kind, said):
    with pytest.raises(UpstreamError) as caught:
        fault_wms(faults, fault).get_map((0.0, 0.0, 100.0, 100.0), 64, 64)
    error = caught.value
    assert error.kind == kind
    if said:
        assert said in error.server_message
    expected = {
        "truncated-png": "truncated or corrupt",
        "wrong-size": "33×64 pixels instead of 64×64",
        "not-png": "not image/png",
    }.get(fault)
    if expected:
        assert expected in error.message


def test_a_hanging_getmap_returns_within_the_deadline(faults):
    import time

    session = UpstreamSession("faults", read_timeout=0.5, total_timeout=1.0)
    client = WmsClient(faults.url("wms/hang"), ["test"], session)
    client.capabilities()
    start = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get_map((0.0, 0.0, 100.0, 100.0), 64, 64)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - start < 1.3


def test_server_maximum_from_capabilities_drives_tiling(faults):
    client = fault_wms(faults, "echo")
    image = client.get_map((0.0, 0.0, 1000.0, 600.0), 500, 300)
    assert image.size == (500, 300)
    getmaps = [q for path, q, _ in faults.requests if q.get("REQUEST") == "GetMap"]
    assert len(getmaps) == 2 * 2  # MaxWidth/MaxHeight 256
    assert all(int(q["WIDTH"]) <= 256 and int(q["HEIGHT"]) <= 256 for q in getmaps)


def test_stale_capabilities_survive_an_outage(faults, refused_url):
    client = fault_wms(faults, "echo", capabilities_ttl=0.0)
    caps = client.capabilities()
    client.url = refused_url  # the server goes away
    assert client.capabilities() is caps
