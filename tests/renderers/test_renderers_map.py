"""Map face: size, exact scale, line widths and label sizes in millimetres, label placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from render_synth import CENTRE
from shapely.geometry import LineString

from cadastre.model import MapFeatures, Street
from renderers import style
from renderers.layout import MM_PER_INCH, make_layout
from renderers.labels import plan_labels, upright_angle
from renderers.map import draw_map_face


def dark_bbox(image, box, threshold=128):
    """(left, top, right, bottom) of pixels darker than `threshold` inside `box`, exclusive."""
    crop = np.asarray(image.convert("L").crop(box))
    ys, xs = np.nonzero(crop < threshold)
    assert len(xs), "no dark pixels where a label was expected"
    return box[0] + xs.min(), box[1] + ys.min(), box[0] + xs.max() + 1, box[1] + ys.max() + 1


@pytest.mark.parametrize(
    "paper,orientation,scale,dpi",
    [("A4", "portrait", 1000, 96), ("A4", "landscape", 500, 150), ("A3", "portrait", 2000, 300)],
)
def test_map_face_has_the_layout_size(simple_features, paper, orientation, scale, dpi):
    layout = make_layout(paper, orientation, scale, dpi, CENTRE)
    face = draw_map_face(layout, simple_features)
    assert face.mode == "RGB"
    assert face.size == layout.map_face_size_px


@pytest.mark.parametrize(
    "paper,orientation,scale,dpi",
    list(itertools.product(["A4", "A3"], ["portrait", "landscape"], [500, 1000, 2000], [72, 96, 300])),
)
def test_ground_width_over_paper_width_is_the_scale(paper, orientation, scale, dpi):
    layout = make_layout(paper, orientation, scale, dpi, CENTRE)
    minx, miny, maxx, maxy = layout.bbox
    width_px, height_px = layout.map_face_size_px
    paper_w_m = width_px / dpi * MM_PER_INCH / 1000
    paper_h_m = height_px / dpi * MM_PER_INCH / 1000
    assert (maxx - minx) / paper_w_m == pytest.approx(scale, rel=1e-3)
    assert (maxy - miny) / paper_h_m == pytest.approx(scale, rel=1e-3)


def test_empty_features_give_a_white_face(a4_96):
    face = draw_map_face(a4_96, MapFeatures())
    assert np.asarray(face).min() == 255


def test_features_far_outside_are_clipped_away(a4_96, simple_features):
    far = MapFeatures(
        parcels=[
            type(p)(kennzeichen=p.kennzeichen, geometry=shapely.affinity.translate(p.geometry, 10_000, 0))
            for p in simple_features.parcels
        ]
    )
    assert np.asarray(draw_map_face(a4_96, far)).min() == 255


def test_parcel_line_is_a_quarter_millimetre_at_300_dpi():
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    x, y = CENTRE
    # One parcel whose left edge is a long vertical line through the middle of the face.
    from render_synth import parcel

    features = MapFeatures(parcels=[parcel(shapely.box(x + 0.3, y - 60, x + 80, y + 60), 9)])
    face = np.asarray(draw_map_face(layout, features).convert("L"))
    row = face[face.shape[0] // 2 - 200]
    expected = layout.to_px(x + 0.3, y)[0] - layout.map_face_px[0]
    near = np.arange(round(expected) - 20, round(expected) + 20)
    dark = near[row[near] < 128]
    width_mm = len(dark) * MM_PER_INCH / 300
    assert width_mm == pytest.approx(style.PARCEL_LINE_MM, abs=0.09)
    # ... and it lies where its coordinate projects.
    assert abs(dark.mean() + 0.5 - expected) <= 1.0


def test_lines_are_at_least_one_pixel_at_96_dpi(a4_96, simple_features):
    face = np.asarray(draw_map_face(a4_96, simple_features).convert("L"))
    x = round(a4_96.to_px(CENTRE[0], CENTRE[1])[0]) - a4_96.map_face_px[0]
    column = face[:, x - 2 : x + 3].min(axis=1)
    top = round(a4_96.to_px(CENTRE[0], CENTRE[1] + 30)[1]) - a4_96.map_face_px[1]
    bottom = round(a4_96.to_px(CENTRE[0], CENTRE[1] + 10)[1]) - a4_96.map_face_px[1]
    # The shared boundary of parcels 40/4 and 41 is dark all along.
    assert column[top:bottom].max() < 110


def test_parcel_number_is_2_2_mm_tall_at_300_dpi(simple_features):
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    face = draw_map_face(layout, simple_features)
    labels = {label.text: label for label in plan_labels(layout, simple_features)}
    label = labels["41"]
    x0, y0, x1, y1 = label.box
    pad = 15
    left, top, right, bottom = dark_bbox(
        face, (round(x0) - pad, round(y0) - pad, round(x1) + pad, round(y1) + pad)
    )
    height_mm = (bottom - top) * MM_PER_INCH / 300
    assert height_mm == pytest.approx(style.PARCEL_LABEL_MM, abs=0.15)
    assert 1.0 < (right - left) * MM_PER_INCH / 300 < 5.0  # two digits


def test_fraction_label_has_zaehler_over_line_over_nenner(simple_features):
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    face = np.asarray(draw_map_face(layout, simple_features).convert("L"))
    label = {label.text: label for label in plan_labels(layout, simple_features)}["40/4"]
    assert label.lines == ("40", "4")
    x0, y0, x1, y1 = (round(v) for v in label.box)
    crop = face[y0 - 10 : y1 + 10, x0 - 10 : x1 + 10] < 128
    rows = crop.sum(axis=1)
    inked = np.flatnonzero(rows)
    # Three bands of ink from top to bottom: Zähler, the fraction line (one wide dark band), Nenner.
    bands = np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1)
    assert len(bands) == 3
    line_band = bands[1]
    assert rows[line_band].max() >= 0.9 * (x1 - x0)
    for band in (bands[0], bands[2]):
        assert len(band) * MM_PER_INCH / 300 == pytest.approx(style.PARCEL_LABEL_MM, abs=0.15)


def test_sliver_gets_no_label_but_its_neighbours_do(a4_96, simple_features):
    texts = {label.text for label in plan_labels(a4_96, simple_features) if label.kind == "parcel"}
    assert {"40/4", "41", "42", "43"} <= texts
    assert "44" not in texts


def test_labels_are_inside_their_parcels_and_the_face(a4_96, town):
    features = town(a4_96)
    labels = plan_labels(a4_96, features)
    width, height = a4_96.map_face_size_px
    by_number = {p.kennzeichen.nummer: p for p in features.parcels}
    res = a4_96.metres_per_px
    minx, _, _, maxy = a4_96.bbox
    assert sum(label.kind == "parcel" for label in labels) > 100
    for label in labels:
        x0, y0, x1, y1 = label.box
        assert x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height
        if label.kind == "parcel":
            ground = shapely.box(minx + x0 * res, maxy - y1 * res, minx + x1 * res, maxy - y0 * res)
            assert by_number[label.text].geometry.contains(ground)


def test_labels_do_not_overlap(a4_96, town):
    labels = plan_labels(a4_96, town(a4_96))
    kinds = {label.kind for label in labels}
    assert kinds == {"parcel", "house_number", "street"}
    shapes = []
    for label in labels:
        w, h = label.size
        shape = shapely.affinity.rotate(
            shapely.box(
                label.centre[0] - w / 2,
                label.centre[1] - h / 2,
                label.centre[0] + w / 2,
                label.centre[1] + h / 2,
            ),
            -label.angle,  # image y points down, so counter-clockwise on screen is clockwise here
            origin=label.centre,
        )
        shapes.append(shape)
    tree = shapely.STRtree(shapes)
    a, b = tree.query(shapes, predicate="intersects")
    overlapping = [(labels[i].text, labels[j].text) for i, j in zip(a, b) if i < j]
    assert overlapping == []


@pytest.mark.parametrize(
    "dx,dy,expected",
    [(1, 0, 0), (-1, 0, 0), (0, -1, 90), (0, 1, 90), (1, -1, 45), (-1, 1, 45), (1, 1, -45), (-1, -1, -45)],
)
def test_street_names_are_never_upside_down(dx, dy, expected):
    assert upright_angle(dx, dy) == pytest.approx(expected)


def test_street_name_follows_the_street_and_repeats_on_long_streets(a4_96):
    x, y = CENTRE
    # A street drawn from north-east to south-west (the "wrong" way) across the whole face.
    street = Street(line=LineString([(x + 60, y + 120), (x - 60, y - 120)]), name="Große Bäckergasse")
    labels = [label for label in plan_labels(a4_96, MapFeatures(streets=[street])) if label.kind == "street"]
    assert len(labels) >= 2
    expected = np.degrees(np.arctan2(240, 120))  # the direction in the map, turned upright
    for label in labels:
        assert label.angle == pytest.approx(expected, abs=0.5)
        gx, gy = a4_96.to_ground(
            label.centre[0] + a4_96.map_face_px[0], label.centre[1] + a4_96.map_face_px[1]
        )
        assert street.line.distance(shapely.Point(gx, gy)) < 0.5
    spacing = min(
        np.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1])
        for a, b in itertools.combinations(labels, 2)
    )
    assert spacing >= a4_96.px(style.STREET_REPEAT_MM) - 1


def test_street_name_moves_aside_when_the_road_parcels_number_sits_in_the_middle(a4_96):
    from render_synth import parcel

    x, y = CENTRE
    # A road parcel across the face; its number is placed first, at the middle of the street line.
    road = parcel(shapely.box(x - 100, y - 4, x + 100, y + 4), 656)
    street = Street(line=LineString([(x - 100, y), (x + 100, y)]), name="Mühlenweg")
    labels = plan_labels(a4_96, MapFeatures(parcels=[road], streets=[street]))
    assert [label.kind for label in labels].count("parcel") == 1
    assert [label.kind for label in labels].count("street") >= 1


def test_street_name_is_drawn_along_the_street(a4_96):
    x, y = CENTRE
    street = Street(line=LineString([(x - 80, y), (x + 80, y)]), name="Müllerstraße")
    face = np.asarray(draw_map_face(a4_96, MapFeatures(streets=[street])).convert("L"))
    rows = np.flatnonzero((face < 128).any(axis=1))
    centre_row = a4_96.to_px(x, y)[1] - a4_96.map_face_px[1]
    cap = a4_96.px(style.STREET_NAME_MM)
    assert len(rows) > 0
    # Ink sits on the line, from umlaut dots above the cap height to the descender below.
    assert rows.min() >= centre_row - cap
    assert rows.max() <= centre_row + cap
    assert rows.max() - rows.min() >= cap * 0.9


def test_house_number_is_drawn_at_its_address(a4_96, simple_features):
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    label = next(label for label in plan_labels(layout, simple_features) if label.kind == "house_number")
    assert label.text == "12a"
    address = simple_features.addresses[0].point
    px, py = layout.to_px(address.x, address.y)
    assert label.centre[0] == pytest.approx(px - layout.map_face_px[0], abs=0.5)
    assert label.centre[1] == pytest.approx(py - layout.map_face_px[1], abs=0.5)
    face = draw_map_face(layout, simple_features)
    x0, y0, x1, y1 = (round(v) for v in label.box)
    top, bottom = dark_bbox(face, (x0 - 6, y0 - 6, x1 + 6, y1 + 6))[1::2]
    assert (bottom - top) * MM_PER_INCH / 300 == pytest.approx(style.HOUSE_NUMBER_MM, abs=0.15)


def test_supersampling_is_used_below_200_dpi_only(a4_96, simple_features):
    from renderers.map import supersample_factor

    assert supersample_factor(a4_96) == 2
    assert supersample_factor(make_layout("A4", "portrait", 1000, 300, CENTRE)) == 1
    # Antialiased: the preview has intermediate greys on oblique edges; the 1× one does not.
    smooth = np.asarray(draw_map_face(a4_96, simple_features).convert("L"))
    assert ((smooth > 20) & (smooth < 235)).any()


def test_building_with_a_courtyard_and_a_multipart_parcel(a4_96):
    from render_synth import parcel

    from cadastre.model import Building

    x, y = CENTRE
    courtyard = shapely.Polygon(
        shapely.box(x - 30, y - 30, x + 30, y + 30).exterior.coords,
        [shapely.box(x - 15, y - 15, x + 15, y + 15).exterior.coords],
    )
    two_parts = shapely.MultiPolygon(
        [shapely.box(x + 40, y, x + 70, y + 30), shapely.box(x + 40, y - 50, x + 70, y - 20)]
    )
    features = MapFeatures(parcels=[parcel(two_parts, 88, 1)], buildings=[Building(geometry=courtyard)])
    face = np.asarray(draw_map_face(a4_96, features).convert("L"))

    def pixel(gx, gy):
        px, py = a4_96.to_px(gx, gy)
        return face[int(py) - a4_96.map_face_px[1], int(px) - a4_96.map_face_px[0]]

    assert pixel(x, y) == 255  # the courtyard stays open
    assert pixel(x - 22, y) == style.BUILDING_FILL[0]
    labels = [label for label in plan_labels(a4_96, features) if label.kind == "parcel"]
    assert [label.text for label in labels] == ["88/1"]
    res, (minx, _, _, maxy) = a4_96.metres_per_px, a4_96.bbox
    gx, gy = minx + labels[0].centre[0] * res, maxy - labels[0].centre[1] * res
    assert two_parts.contains(shapely.Point(gx, gy))


def test_map_face_at_300_dpi_is_drawn_without_supersampling_and_stays_fast(town):
    import time

    layout = make_layout("A3", "portrait", 1000, 300, CENTRE)
    features = town(layout)
    start = time.perf_counter()
    face = draw_map_face(layout, features)
    assert face.size == layout.map_face_size_px
    assert time.perf_counter() - start < 5.0  # generous: the budget (1.5 s per page) is in bench/


def test_house_numbers_only_at_large_scales(simple_features):
    at_1000 = plan_labels(make_layout("A4", "portrait", 1000, 96, CENTRE), simple_features)
    at_5000 = plan_labels(make_layout("A4", "portrait", 5000, 96, CENTRE), simple_features)
    assert any(label.kind == "house_number" for label in at_1000)
    assert not any(label.kind == "house_number" for label in at_5000)
    assert style.HOUSE_NUMBERS_UP_TO_SCALE < 5000
