"""Previews composed from tiles on the MapServer upstream: moving the print area costs the upstream nothing, an outage shows dated tiles."""

from __future__ import annotations

import re
import time

import pytest
from service_support import SwitchableProxy, make_app, upstream_settings

EXAMPLE = "05987100100090______"
QUERY = {"parcel": EXAMPLE, "scale": "1000", "paper": "A4", "orientation": "portrait", "dpi": "96"}


def wait_until_made(faces, layout, seconds: float = 60) -> None:
    """Until every tile under the layout's face is in the cache (current or not)."""
    window = faces.window(layout)
    assert window is not None
    tiles = faces.tiles
    deadline = time.monotonic() + seconds
    while not all(not tiles.has_data(window.z, *xy) or tiles.cache.get(tiles.key(window.z, *xy)) is not None
                  for xy in window.tiles):
        assert time.monotonic() < deadline, "the tiles were not made in the background"
        time.sleep(0.1)


def test_moving_the_print_area_asks_the_upstream_nothing(mapserver, demo_upstream_url, tmp_path):
    app = make_app(upstream_settings(tmp_path, demo_upstream_url))
    client = app.test_client()
    previews = app.extensions["gis_previews"]
    faces = previews.pipeline.faces
    plan = previews.plan_from_args(QUERY)
    cold = client.get("/api/v1/preview.png", query_string=QUERY)
    assert cold.status_code == 200 and cold.headers["X-Map-Source"].startswith("upstream; date=")
    # a cold page is one exact GetMap of its own extent (kept under its own key), not the metatiles around it
    assert faces.faces.cache.get(faces.faces.key(plan.layout)) is not None

    # the chosen parcel's surroundings are made in the background; then five moves of 10 mm (10 m) ask nothing
    centre = plan.layout.centre
    moves = [(10, 0), (20, 0), (20, 10), (10, 10), (10, -10)]
    for dx, dy in moves:
        wait_until_made(faces, previews.plan_from_args({**QUERY, "center": f"{centre[0] + dx},{centre[1] + dy}"}).layout)
    hits = mapserver.hits("demo")
    for dx, dy in moves:
        moved = client.get("/api/v1/preview.png", query_string={**QUERY, "center": f"{centre[0] + dx},{centre[1] + dy}"})
        assert moved.status_code == 200
        assert moved.headers["X-Map-Source"].startswith("upstream; date=")
    assert mapserver.hits("demo") == hits


@pytest.mark.parametrize("mode", ["error500", "hang"])
def test_upstream_down_a_moved_print_area_is_composed_from_kept_tiles_with_their_date(demo_upstream_url, tmp_path,
                                                                                       mode):
    proxy = SwitchableProxy(demo_upstream_url)
    try:
        # a request waits 1.5 s for the upstream; the background (making tiles) as long as a GetMap may take
        app = make_app(upstream_settings(tmp_path, proxy.url, request_timeout=1.5,
                                         http={"read_timeout": 10.0, "total_timeout": 12.0, "failure_threshold": 1000},
                                         cache={"ttl_seconds": 1, "stale_seconds": 3600}))
        client = app.test_client()
        previews = app.extensions["gis_previews"]
        faces = previews.pipeline.faces
        plan = previews.plan_from_args(QUERY)
        moved = {**QUERY, "center": f"{plan.layout.centre[0] + 30},{plan.layout.centre[1]}"}
        assert faces.prefetch(previews.plan_from_args(moved).layout, 0)
        wait_until_made(faces, previews.plan_from_args(moved).layout)
        time.sleep(1.1)  # the tiles are no longer current, only kept for an outage

        proxy.mode = mode
        started = time.monotonic()
        response = client.get("/api/v1/preview.png", query_string=moved)
        assert time.monotonic() - started < 1.5 + 1.5
        assert response.status_code == 200
        source = response.headers["X-Map-Source"]
        assert re.fullmatch(r"cache; date=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", source), source
        assert response.headers["Cache-Control"] == "no-store"
        # a page of a moved print area that nobody had asked for before, and no tile was there for it: 503
        far = {**QUERY, "center": f"{plan.layout.centre[0] + 900},{plan.layout.centre[1]}"}
        assert client.get("/api/v1/preview.png", query_string=far).status_code == 503
    finally:
        proxy.stop()


def test_a_composed_face_is_mapservers_map_of_the_same_extent_to_the_pixel(mapserver, demo_upstream_url, tmp_path):
    """Tiles cut from metatiles and pasted together show what one GetMap of the page's own extent shows:
    the line work agrees pixel for pixel (labels may be placed elsewhere), and agrees worse one pixel off."""
    import numpy as np

    app = make_app(upstream_settings(tmp_path, demo_upstream_url, http={"read_timeout": 20.0, "total_timeout": 30.0}))
    previews = app.extensions["gis_previews"]
    faces = previews.pipeline.faces
    for scale in ("500", "2000"):
        layout = previews.plan_from_args({**QUERY, "scale": scale}).layout
        for meta in faces.tiles.metatiles(layout.bbox, [faces.level(layout)]):
            faces.tiles.seed(meta)
        window = faces.window(layout)
        assert all(faces.available(window.z, *xy) for xy in window.tiles)
        composed = np.asarray(faces.face(layout).image).astype(int)
        single = np.asarray(faces.faces.render(layout).image).astype(int)  # one GetMap of exactly this extent

        def agree(other):
            return float((np.abs(composed - other).sum(axis=2) < 24).mean())

        here = agree(single)
        assert here > 0.97, f"1:{scale}: only {here:.1%} of the pixels agree"
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            assert agree(np.roll(single, (dy, dx), axis=(0, 1))) < here - 0.02, f"1:{scale}: as good shifted {dx},{dy}"
