"""Previews composed from tiles (demo data, local drawing): aligned to grid pixels, exact scale, the same map as one face, other dpi untouched."""

from __future__ import annotations

import random
import time
from dataclasses import replace

import numpy as np
import pytest

from gis_service.page_request import PreviewRequest
from gis_service.tile_faces import TileComposedFaces
from renderers.layout import Layout

EXAMPLE = "05987100100090______"


@pytest.fixture(scope="module")
def pipeline(demo_app):
    return demo_app.extensions["gis_previews"].pipeline


@pytest.fixture(scope="module")
def faces(pipeline) -> TileComposedFaces:
    assert isinstance(pipeline.faces, TileComposedFaces), "previews are composed from tiles by default"
    return pipeline.faces


def plan_at(pipeline, scale: int, dpi: int = 96, centre=None, paper="A4", orientation="portrait"):
    return pipeline.plan(PreviewRequest(EXAMPLE, scale, paper, orientation, dpi, centre))


def grid_pixel(faces: TileComposedFaces, layout: Layout) -> tuple[float, float]:
    """The face's top-left corner in pixels of its grid level, counted from the grid's origin."""
    z = faces.level(layout)
    res = faces.grid.matrix(z).resolution
    ox, oy = faces.grid.origin
    return (layout.bbox[0] - ox) / res, (oy - layout.bbox[3]) / res


def test_a_preview_at_a_grid_level_starts_on_a_grid_pixel_with_its_scale_exact(pipeline, faces):
    rng = random.Random(3)
    parcel = pipeline.parcels.get(EXAMPLE)
    cx, cy = parcel.geometry.centroid.coords[0]
    for _ in range(40):
        scale = rng.choice(pipeline.settings.scales)
        asked = (cx + rng.uniform(-80, 80), cy + rng.uniform(-80, 80))
        layout = plan_at(pipeline, scale, centre=asked, paper=rng.choice(["A4", "A3"]),
                         orientation=rng.choice(["portrait", "landscape"])).layout
        assert faces.level(layout) is not None, scale
        col, row = grid_pixel(faces, layout)
        assert abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6, (col, row)
        res = layout.metres_per_px
        width, height = layout.map_face_size_px
        minx, miny, maxx, maxy = layout.bbox
        # the scale: ground per pixel is exactly scale × 25.4 mm / 96, the same in both directions
        assert (maxx - minx) / width == pytest.approx(res, rel=1e-9)
        assert (maxy - miny) / height == pytest.approx(res, rel=1e-9)
        assert res == pytest.approx(scale * 0.0254 / 96, rel=1e-12)
        # the print area moved by under half a pixel from where it was asked for
        assert abs(layout.centre[0] - asked[0]) <= res / 2 + 1e-9
        assert abs(layout.centre[1] - asked[1]) <= res / 2 + 1e-9


def matching(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a.astype(int) - b.astype(int)).sum(axis=2) < 24).mean())


def test_the_composed_face_is_the_map_of_its_extent_to_the_pixel(pipeline, faces):
    """Pasted from tiles that were drawn per metatile, the face shows what one drawing of the same extent shows:
    the line work agrees pixel for pixel (labels may sit elsewhere), and agrees worse one pixel off."""
    for scale in pipeline.settings.scales:
        layout = plan_at(pipeline, scale).layout
        composed = np.asarray(faces.face(layout).image)
        single = np.asarray(faces.faces.face(layout).image)  # the provider below: one drawing of exactly this extent
        assert composed.shape == single.shape
        here = matching(composed, single)
        assert here > 0.93, f"1:{scale}: only {here:.1%} of the pixels agree"
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            shifted = np.roll(single, (dy, dx), axis=(0, 1))
            assert matching(composed, shifted) < here - 0.02, f"1:{scale}: agrees as well shifted by {dx},{dy}"


def test_other_resolutions_and_the_official_extract_are_one_exact_face(demo_app, pipeline, faces):
    # the official extract's dpi (150 … 600) is never a 96-dpi grid level; nor is a zoomed viewer's 192 dpi
    extract_dpi = demo_app.extensions["gis_settings"].orders.extract.dpi
    for dpi in (extract_dpi, 192, 110):
        layout = plan_at(pipeline, 1000, dpi=dpi).layout
        assert faces.window(layout) is None, dpi
        assert faces.align(layout) == layout
        face = faces.face(layout)
        assert np.array_equal(np.asarray(face.image), np.asarray(faces.faces.face(layout).image))
    # a page that was not aligned (asked for outside the pipeline) is not resampled either
    layout = plan_at(pipeline, 1000).layout
    minx, miny, maxx, maxy = layout.bbox
    off = replace(layout, bbox=(minx + 0.1, miny, maxx + 0.1, maxy))
    assert faces.window(off) is None


def test_a_cold_preview_is_one_exact_face_and_the_map_around_it_is_made_after_it(demo_app, demo_client):
    previews = demo_app.extensions["gis_previews"]
    faces = previews.pipeline.faces
    # 1:2000 A3 landscape: a level and an area no other test of this module has touched
    query = {"parcel": EXAMPLE, "scale": "2000", "paper": "A3", "orientation": "landscape", "dpi": "96"}
    plan = previews.plan_from_args(query)
    z = faces.level(plan.layout)
    res = faces.grid.matrix(z).resolution
    margin = faces.ahead_px * res
    assert margin == pytest.approx(previews.settings.prefetch_margin_mm / 1000 * 2000, rel=0.01)
    minx, miny, maxx, maxy = plan.layout.bbox
    around = list(faces.grid.tiles_covering(z, (minx - margin, miny - margin, maxx + margin, maxy + margin)))
    assert not all(faces.available(z, x, y) for x, y in around)

    cold = demo_client.get("/api/v1/preview.png", query_string=query)
    assert cold.status_code == 200
    deadline = time.monotonic() + 60
    while not all(faces.available(z, x, y) for x, y in around):
        assert time.monotonic() < deadline, "the tiles around the print area were not made ahead"
        time.sleep(0.1)
    # now a print area moved within that margin is composed from them
    moved = previews.plan_from_args({**query, "center": f"{plan.layout.centre[0] + margin * 0.9},{plan.layout.centre[1]}"})
    window = faces.window(moved.layout)
    assert window is not None and all(faces.available(z, x, y) for x, y in window.tiles)
