"""Page composition: the highlight lies where the parcel projects, frame, ticks, watermark, title block."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import render_synth
import shapely
from PIL import Image
from render_synth import ATTRIBUTION, CENTRE, render_page

from cadastre.model import MapFeatures
from renderers import style
from renderers.compose import (
    TitleBlock,
    compose_page,
    format_coordinate,
    german_date,
    highlight_colours,
    highlight_outline_px,
    scale_bar_length,
    tick_interval,
)
from renderers.export import to_png
from renderers.layout import make_layout
from renderers.map import draw_map_face


def outline_mask(image: Image.Image) -> np.ndarray:
    colour = np.array(highlight_colours()["outline"], dtype=int)
    arr = np.asarray(image.convert("RGB"), dtype=int)
    return np.all(np.abs(arr - colour) <= 24, axis=2)


def projected_boundary(layout, geometry) -> shapely.MultiLineString:
    """The parcel boundary in page pixel coordinates (pixel edges at integers)."""
    lines = []
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        xy = np.array([layout.to_px(x, y) for x, y in ring.coords])
        lines.append(shapely.LineString(xy))
    return shapely.MultiLineString(lines)


def png_roundtrip(page: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(to_png(page))).convert("RGB")


def assert_highlight_where_parcel_projects(layout, page: Image.Image, geometry) -> int:
    """Sample the projected boundary: the outline's centre across it must be within 1 px; and no
    outline-coloured pixel may lie away from the boundary. Returns the number of samples."""
    mask = outline_mask(page)
    left, top, right, bottom = layout.map_face_px
    outline_w = highlight_outline_px(layout)
    boundary = projected_boundary(layout, geometry)
    corners = shapely.MultiPoint(shapely.get_coordinates(boundary))
    face = shapely.box(left + outline_w, top + outline_w, right - outline_w, bottom - outline_w)
    samples = 0
    for line in boundary.geoms:
        for d in np.arange(0, line.length, 2.0):
            p = line.interpolate(d)
            if not face.contains(p) or p.distance(corners) < 2 * outline_w:
                continue  # corners are rounded by the joins; the face edge cuts the outline
            ahead = line.interpolate(min(d + 0.5, line.length))
            behind = line.interpolate(max(d - 0.5, 0))
            tx, ty = ahead.x - behind.x, ahead.y - behind.y
            norm = math.hypot(tx, ty)
            nx, ny = -ty / norm, tx / norm
            offsets = np.arange(-6, 6.01, 0.25)
            xs = np.floor(p.x + offsets * nx).astype(int)
            ys = np.floor(p.y + offsets * ny).astype(int)
            inked = np.flatnonzero(mask[ys, xs])
            assert len(inked), f"no highlight at {p.x:.1f}, {p.y:.1f}"
            # The band drawn across this boundary is the run of outline pixels nearest to it; a
            # run further out belongs to another stretch of boundary close by.
            runs = np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1)
            centre = offsets[min(runs, key=lambda run: np.abs(offsets[run]).min())].mean()
            assert abs(centre) <= 1.0, f"highlight off by {centre:.2f} px at {p.x:.1f}, {p.y:.1f}"
            samples += 1
    ys, xs = np.nonzero(mask)
    centres = shapely.points(xs + 0.5, ys + 0.5)
    distance = shapely.distance(centres, boundary)
    assert distance.max() <= outline_w / 2 + 1.5, "highlight-coloured pixels away from the parcel boundary"
    assert (xs >= left).all() and (xs < right).all() and (ys >= top).all() and (ys < bottom).all()
    return samples


@pytest.mark.parametrize("with_nenner", [True, False])
def test_highlight_lies_where_the_parcel_projects_at_96_dpi(a4_96, town, title_for, with_nenner):
    features = town(a4_96)
    parcel = render_synth.pick_parcel(features, CENTRE, with_nenner=with_nenner)
    page = render_page(
        a4_96, features, parcel=parcel, title=title_for(parcel, a4_96), attribution=ATTRIBUTION
    )
    samples = assert_highlight_where_parcel_projects(a4_96, png_roundtrip(page), parcel.geometry)
    assert samples > 20


def test_highlight_of_an_odd_parcel_with_a_hole_off_centre(a4_96, title_for):
    x, y = CENTRE
    # Rotated, with a courtyard hole, at a sub-pixel offset, away from the page centre.
    outer = shapely.affinity.rotate(
        shapely.box(x + 13.37, y - 71.1, x + 58.2, y - 30.05), 23, origin="centroid"
    )
    hole = shapely.affinity.rotate(shapely.box(x + 28, y - 58, x + 42, y - 44), 23, origin=outer.centroid)
    geometry = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    parcel = render_synth.parcel(geometry, 77, 1)
    features = MapFeatures(parcels=[parcel])
    page = render_page(
        a4_96, features, parcel=parcel, title=title_for(parcel, a4_96), attribution=ATTRIBUTION
    )
    assert assert_highlight_where_parcel_projects(a4_96, png_roundtrip(page), geometry) > 40


def test_highlight_is_clipped_to_the_map_face(a4_96, title_for):
    minx, miny, maxx, maxy = a4_96.bbox
    geometry = shapely.box(minx - 25, miny + 40, minx + 30, miny + 90)  # half outside, left
    parcel = render_synth.parcel(geometry, 5)
    page = png_roundtrip(
        render_page(
            a4_96,
            MapFeatures(parcels=[parcel]),
            parcel=parcel,
            title=title_for(parcel, a4_96),
            attribution="x",
        )
    )
    assert assert_highlight_where_parcel_projects(a4_96, page, geometry) > 10
    left, top, right, bottom = a4_96.map_face_px
    mask = outline_mask(page)
    assert not mask[:, :left].any()  # nothing over the frame or the labels
    # No outline along the cut at the face edge: only where the parcel's top and bottom cross it.
    column = mask[top:bottom, left]
    assert 0 < column.sum() <= 2 * 4


def test_highlight_fills_with_tint_and_hatching_inside_only(a4_96, simple_features, title_for):
    parcel = simple_features.parcels[1]  # 41, a 40 m square north-east of the centre
    page = np.asarray(
        png_roundtrip(
            render_page(
                a4_96,
                simple_features,
                parcel=parcel,
                title=title_for(parcel, a4_96),
                attribution="x",
                watermark=None,
            )
        ),
        dtype=int,
    )

    def region(geometry, inset_m):
        minx, miny, maxx, maxy = geometry.buffer(-inset_m).bounds
        (x0, y1), (x1, y0) = a4_96.to_px(minx, miny), a4_96.to_px(maxx, maxy)
        return page[math.ceil(y0) : math.floor(y1), math.ceil(x0) : math.floor(x1)]

    inside = region(parcel.geometry, 3)
    warm = inside[:, :, 0] - inside[:, :, 2]
    light_tint = ((warm > 15) & (warm < 60)).mean()
    hatch = (warm >= 60).mean()
    assert light_tint > 0.5  # the translucent fill
    assert 0.05 < hatch < 0.5  # diagonal hatching, not a solid fill
    neighbour = region(simple_features.parcels[3].geometry, 3)  # 43, not chosen
    assert np.abs(neighbour[:, :, 0] - neighbour[:, :, 2]).max() == 0


def test_without_parcel_there_is_no_highlight(a4_96, simple_features):
    title = TitleBlock(
        gemarkung="Übungsfeld", flur=None, flurstueck="–", scale=1000, paper="A4", orientation="Hochformat"
    )
    page = render_page(a4_96, simple_features, parcel=None, title=title, attribution=ATTRIBUTION)
    assert not outline_mask(page).any()


def test_highlight_colour_is_used_by_nothing_else(a4_96, town, title_for):
    features = town(a4_96)
    parcel = render_synth.pick_parcel(features, CENTRE)
    title = title_for(parcel, a4_96)
    page = compose_page(
        a4_96, draw_map_face(a4_96, features), parcel=None, title=title, attribution=ATTRIBUTION
    )
    assert not outline_mask(page).any()


def test_highlight_colours_meet_wcag_non_text_contrast():
    def luminance(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    outline = highlight_colours()["outline"]
    assert (1.05) / (luminance(outline) + 0.05) >= 3.0  # against the white map background
    assert highlight_colours()["halo"] == (255, 255, 255)


def test_page_is_the_paper_and_the_face_sits_in_its_frame(a4_96, simple_features):
    face = draw_map_face(a4_96, simple_features)
    title = TitleBlock(
        gemarkung="X", flur=1, flurstueck="1", scale=1000, paper="A4", orientation="Hochformat"
    )
    page = compose_page(a4_96, face, parcel=None, title=title, attribution="x", watermark=None)
    assert page.size == a4_96.image_px and page.mode == "RGB"
    left, top, right, bottom = a4_96.map_face_px
    # The face is pasted unchanged, but for the short inner coordinate ticks along its edge.
    inner = math.ceil(a4_96.px(style.TICK_INNER_MM))
    inset = (left + inner, top + inner, right - inner, bottom - inner)
    assert np.array_equal(
        np.asarray(page.crop(inset)),
        np.asarray(face.crop((inner, inner, right - left - inner, bottom - top - inner))),
    )
    arr = np.asarray(page.convert("L"))
    frame = max(1, round(a4_96.px(style.FRAME_MM)))
    middle = (top + bottom) // 2 + 3
    assert (arr[middle, left - frame : left] < 60).all()
    assert (arr[middle, right : right + frame] < 60).all()
    assert (arr[top - frame : top, (left + right) // 2 + 3] < 60).all()
    assert (arr[bottom : bottom + frame, (left + right) // 2 + 3] < 60).all()


def test_face_of_the_wrong_size_is_refused(a4_96):
    title = TitleBlock(
        gemarkung="X", flur=1, flurstueck="1", scale=1000, paper="A4", orientation="Hochformat"
    )
    with pytest.raises(ValueError):
        compose_page(a4_96, Image.new("RGB", (10, 10)), parcel=None, title=title, attribution="x")


@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
@pytest.mark.parametrize("scale", [250, 500, 1000, 2000, 5000])
def test_tick_interval_gives_three_to_eight_ticks_a_side(paper, orientation, scale):
    layout = make_layout(paper, orientation, scale, 96, CENTRE)
    step = tick_interval(layout)
    assert step in style.NICE_TICK_INTERVALS_M
    minx, miny, maxx, maxy = layout.bbox
    for lo, hi in ((minx, maxx), (miny, maxy)):
        count = math.floor(hi / step) - math.ceil(lo / step) + 1
        assert 3 <= count <= 8, (step, count)


def test_coordinate_labels_are_grouped_in_thousands():
    assert format_coordinate("E", 353200) == "E 353 200"
    assert format_coordinate("N", 5703400.0) == "N 5 703 400"


def test_ticks_are_drawn_at_their_coordinates(a4_96):
    title = TitleBlock(
        gemarkung="X", flur=1, flurstueck="1", scale=1000, paper="A4", orientation="Hochformat"
    )
    face = Image.new("RGB", a4_96.map_face_size_px, "white")
    page = np.asarray(
        compose_page(a4_96, face, parcel=None, title=title, attribution="x", watermark=None).convert("L")
    )
    left, top, right, bottom = a4_96.map_face_px
    step = tick_interval(a4_96)
    minx, _, maxx, maxy = a4_96.bbox
    frame = max(1, round(a4_96.px(style.FRAME_MM)))
    row = page[top - frame - 2]  # just above the frame: only the ticks are dark there
    dark = np.flatnonzero(row < 128)
    expected = [a4_96.to_px(e, maxy)[0] for e in range(math.ceil(minx / step) * step, int(maxx) + 1, step)]
    groups = np.split(dark, np.flatnonzero(np.diff(dark) > 1) + 1)
    centres = [g.mean() + 0.5 for g in groups if len(g)]
    assert len(centres) == len(expected)
    for got, want in zip(centres, expected):
        assert abs(got - want) <= 1.0


def test_watermark_is_light_and_across_the_face(a4_96):
    title = TitleBlock(
        gemarkung="X", flur=1, flurstueck="1", scale=1000, paper="A4", orientation="Hochformat"
    )
    face = Image.new("RGB", a4_96.map_face_size_px, "white")
    page = compose_page(a4_96, face, parcel=None, title=title, attribution="x")
    inner = math.ceil(a4_96.px(style.TICK_INNER_MM))  # leave out the inner coordinate ticks
    left, top, right, bottom = a4_96.map_face_px
    inside = np.asarray(page.crop((left + inner, top + inner, right - inner, bottom - inner)).convert("L"))
    marked = inside < 250
    assert inside.min() >= 190  # light: never hides the map
    assert marked.mean() > 0.015
    ys, xs = np.nonzero(marked)
    width, height = a4_96.map_face_size_px
    assert xs.max() - xs.min() > 0.6 * width and ys.max() - ys.min() > 0.6 * height  # diagonal
    # Rising from bottom-left to top-right.
    assert np.corrcoef(xs, ys)[0, 1] < -0.8
    official = compose_page(a4_96, face, parcel=None, title=title, attribution="x", watermark=None)
    assert np.asarray(official.crop((left + inner, top + inner, right - inner, bottom - inner))).min() == 255


def test_title_block_stays_inside_its_box_with_an_official_extract(a4_96, simple_features):
    title = TitleBlock(
        gemarkung="Großenbaum-Rüttenscheid",
        flur=39,
        flurstueck="1234/5678",
        scale=1000,
        paper="A4",
        orientation="Hochformat",
        data_currency="2024-05-01",
        order_number="2024-000123",
        office_lines=(
            "Stadt Musterstadt",
            "Amt für Geoinformation, Liegenschaftskataster und Vermessung",
            "Musterweg 1, 12345 Musterstadt",
        ),
        created="2024-06-01T10:00:00",
    )
    face = draw_map_face(a4_96, simple_features)
    page = compose_page(
        a4_96,
        face,
        parcel=None,
        title=title,
        attribution=ATTRIBUTION * 3,
        watermark=None,
        heading="Auszug aus der Liegenschaftskarte",
    )
    arr = np.asarray(page.convert("L"))
    left, top, right, bottom = a4_96.title_block_px
    assert (arr[bottom:, :] == 255).all()  # nothing below the title block
    assert (arr[top:bottom, right:] == 255).all()
    block = arr[top:bottom, left:right]
    assert (block < 128).mean() > 0.02


def test_heading_and_attribution_are_printed(a4_96):
    title = TitleBlock(
        gemarkung="X", flur=1, flurstueck="1", scale=1000, paper="A4", orientation="Hochformat"
    )
    face = Image.new("RGB", a4_96.map_face_size_px, "white")

    def block(**kwargs):
        page = compose_page(a4_96, face, parcel=None, title=title, watermark=None, **kwargs)
        return np.asarray(page.crop(a4_96.title_block_px).convert("L"))

    base = block(attribution="© A", heading="H")
    assert not np.array_equal(base, block(attribution="© A, dl-de/by-2-0", heading="H"))
    assert not np.array_equal(base, block(attribution="© A", heading="Auszug aus der Liegenschaftskarte"))


def test_scale_bar_uses_a_nice_length():
    layout = make_layout("A4", "portrait", 1000, 96, CENTRE)
    assert scale_bar_length(layout, 30.0) == (25, 5)
    assert scale_bar_length(layout, 60.0) == (50, 5)
    assert scale_bar_length(layout, 22.0) == (20, 4)
    assert scale_bar_length(make_layout("A3", "landscape", 500, 96, CENTRE), 30.0) == (10, 5)


def test_dates_are_printed_the_german_way():
    assert german_date("2024-05-01") == "01.05.2024"
    assert german_date("2024-05-01T12:00:00Z") == "01.05.2024"
    assert german_date("Mai 2024") == "Mai 2024"


def test_title_block_for_a_parcel():
    layout = make_layout("A3", "landscape", 500, 96, CENTRE)
    parcel = render_synth.parcel(render_synth.square(*CENTRE, 10), 40, 4)
    title = TitleBlock.for_parcel(parcel, layout)
    assert (title.gemarkung, title.flur, title.flurstueck) == ("Übungsfeld", 3, "40/4")
    assert (title.scale, title.paper, title.orientation) == (500, "A3", "Querformat")
    assert title.data_currency == "2024-05-01"
    assert "EPSG:25832" in title.crs


@pytest.mark.parametrize("dpi,count", [(96, 12), (72, 4), (150, 4)])
def test_highlight_position_holds_for_random_rotated_parcels(dpi, count, title_for):
    import random

    rng = random.Random(dpi)
    layout = make_layout("A4", "portrait", 1000, dpi, CENTRE)
    for _ in range(count):
        x = CENTRE[0] + rng.uniform(-60, 60)
        y = CENTRE[1] + rng.uniform(-80, 80)
        geometry = shapely.affinity.rotate(
            shapely.box(x, y, x + rng.uniform(8, 40), y + rng.uniform(8, 40)), rng.uniform(0, 90)
        )
        parcel = render_synth.parcel(geometry, 5)
        page = render_page(
            layout,
            MapFeatures(parcels=[parcel]),
            parcel=parcel,
            title=title_for(parcel, layout),
            attribution="x",
        )
        assert assert_highlight_where_parcel_projects(layout, png_roundtrip(page), geometry) > 5
