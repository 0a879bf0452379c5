"""Flur boundaries and Flur numbers on the map face: the ALKIS pattern, one copy of a shared boundary, label placement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely
from render_synth import CENTRE, parcel

from cadastre.model import Flur, MapFeatures
from gis_testing import across_line, assert_flur_pattern, flur_band_mask
from renderers import style
from renderers.layout import MM_PER_INCH, make_layout
from renderers.labels import plan_labels
from renderers.map import draw_map_face

X, Y = CENTRE


def two_fluren(*, strip: bool = False) -> MapFeatures:
    """Flur 1 west and Flur 2 east of x = X, 80 × 120 m each, two parcels each; with `strip`, a Flur
    9 that shows only as a 2 m strip along the top edge of an A4 face at 1:1000."""
    west = [shapely.box(X - 80, Y - 60, X - 40, Y + 60), shapely.box(X - 40, Y - 60, X, Y + 60)]
    east = [shapely.box(X, Y - 60, X + 30, Y + 60), shapely.box(X + 30, Y - 60, X + 80, Y + 60)]
    parcels = [parcel(g, n) for n, g in enumerate(west + east, start=1)]
    fluren = [
        Flur("059990", 1, shapely.union_all(west)),
        Flur("059990", 2, shapely.union_all(east)),
    ]
    if strip:
        top = make_layout("A4", "portrait", 1000, 300, CENTRE).bbox[3]
        fluren.append(Flur("059990", 9, shapely.box(X - 80, top - 2, X + 80, top + 50)))
    return MapFeatures(parcels=parcels, fluren=fluren)


def to_face(layout, geometry):
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    return shapely.transform(geometry, lambda c: np.column_stack(((c[:, 0] - minx) / res, (maxy - c[:, 1]) / res)))


def ground_box(layout, box):
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    return shapely.box(minx + box[0] * res, maxy - box[3] * res, minx + box[2] * res, maxy - box[1] * res)


@pytest.fixture(scope="module")
def at_300():
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    features = two_fluren()
    labels = plan_labels(layout, features)
    face = draw_map_face(layout, features)
    return layout, features, labels, face, flur_band_mask(face, labels)


def test_flur_boundary_has_the_alkis_pattern_on_outer_and_shared_boundaries(at_300):
    layout, _, _, _, mask = at_300
    reach = layout.px(style.FLUR_LINE_MM) / 2 + 2
    # The west edge belongs to Flur 1 alone; the shared edge to both Fluren, and drawn twice its
    # two patterns would interleave into longer runs and shorter gaps.
    for x in (X - 80, X):
        line = to_face(layout, shapely.LineString([(x, Y - 55), (x, Y + 55)]))
        assert_flur_pattern(across_line(mask, line, reach), 300)


def test_flur_band_is_one_millimetre_wide_and_lies_on_the_boundary_under_the_parcel_line(at_300):
    layout, _, _, face, mask = at_300
    pixels = np.asarray(face.convert("L"))
    edge_x = layout.to_px(X, Y)[0] - layout.map_face_px[0]
    window = np.arange(round(edge_x) - 10, round(edge_x) + 10)  # the band is 12 px wide
    top, bottom = (layout.to_px(X, y)[1] - layout.map_face_px[1] for y in (Y + 55, Y - 55))
    rows = np.flatnonzero(mask[:, window].any(axis=1))
    rows = rows[(rows > top) & (rows < bottom)]  # not the corners, where the band turns
    assert len(rows) > 0
    widths, centres = [], []
    for row in rows[::7]:
        inked = window[mask[row, window] | (pixels[row, window] < 60)]
        widths.append(inked.max() - inked.min() + 1)
        centres.append((inked.max() + inked.min() + 1) / 2)
        # The parcel boundary stays black on top of the band.
        assert (pixels[row, round(edge_x) - 2 : round(edge_x) + 2] < 60).any()
    assert np.median(widths) * MM_PER_INCH / 300 == pytest.approx(style.FLUR_LINE_MM, abs=0.1)
    assert abs(np.median(centres) - edge_x) <= 1.0
    # Nothing of the band's colour away from the Flur boundaries (x = X - 80, X, X + 80; y = Y ± 60).
    ys, xs = np.nonzero(mask)
    gx, gy = layout.bbox[0] + xs * layout.metres_per_px, layout.bbox[3] - ys * layout.metres_per_px
    outline = shapely.union_all([f.geometry.boundary for f in two_fluren().fluren])
    far = shapely.distance(shapely.points(gx, gy), outline) > (style.FLUR_LINE_MM / 2 + 0.3) * layout.scale / 1000
    assert not far.any()


def test_each_flur_is_named_inside_itself_beside_the_shared_boundary(at_300):
    layout, features, labels, face, _ = at_300
    flur_labels = {label.text: label for label in labels if label.kind == "flur"}
    assert set(flur_labels) == {"Flur 1", "Flur 2"}
    pixels = np.asarray(face.convert("L"))
    for flur in features.fluren:
        label = flur_labels[flur.label]
        box = ground_box(layout, label.box)
        assert flur.geometry.contains(box)
        # beside the shared boundary x = X, facing the other Flur's number across it
        assert box.distance(shapely.LineString([(X, Y - 60), (X, Y + 60)])) < 10 * layout.scale / 1000
        x0, y0, x1, y1 = (round(v) for v in label.box)
        inked = np.flatnonzero((pixels[y0 - 5 : y1 + 5, x0:x1] < 128).any(axis=1))
        # Bold "Flur 1": the ascender of the l reaches a little above the cap height.
        height_mm = (inked.max() - inked.min() + 1) * MM_PER_INCH / 300
        assert style.FLUR_LABEL_MM - 0.1 <= height_mm <= style.FLUR_LABEL_MM * 1.12


def test_flur_numbers_displace_no_parcel_number_and_overlap_no_label(at_300):
    layout, features, labels, _, _ = at_300
    without = plan_labels(layout, dataclasses.replace(features, fluren=[]))
    assert [label for label in labels if label.kind != "flur"] == without
    boxes = [shapely.box(*label.box) for label in labels]
    for i, label in enumerate(labels):
        if label.kind == "flur":
            assert not any(boxes[i].intersects(other) for j, other in enumerate(boxes) if j != i)


def test_a_flur_too_narrow_in_view_gets_a_boundary_but_no_number():
    layout = make_layout("A4", "portrait", 1000, 300, CENTRE)
    features = two_fluren(strip=True)
    labels = plan_labels(layout, features)
    assert {label.text for label in labels if label.kind == "flur"} == {"Flur 1", "Flur 2"}
    mask = flur_band_mask(draw_map_face(layout, features), labels)
    top_row = round(layout.px(2.0 / layout.scale * 1000))  # the strip's lower edge, 2 m below the top
    assert 0.3 <= mask[top_row - 8 : top_row + 8].any(axis=0).mean() <= 0.7


def test_no_fluren_no_flur_boundary(at_300):
    layout, features, _, _, _ = at_300
    bare = dataclasses.replace(features, fluren=[])
    face = draw_map_face(layout, bare)
    assert not flur_band_mask(face, plan_labels(layout, bare)).any()
    assert MapFeatures().fluren == []  # sources that draw their own map (WMS) deliver none


@pytest.mark.parametrize("dpi", [96, 150])
def test_flur_boundary_is_visible_on_screen(dpi):
    # Antialiased below 200 dpi: the band has soft edges, but inside them its own grey; a black
    # line's soft edges on white (127 at half cover) are not taken for it.
    layout = make_layout("A4", "portrait", 1000, dpi, CENTRE)
    face = np.asarray(draw_map_face(layout, two_fluren()).convert("RGB")).astype(int)
    grey = (np.abs(face - np.array(style.FLUR_LINE)).max(axis=2) <= 12) & (np.ptp(face, axis=2) <= 6)
    line = to_face(layout, shapely.LineString([(X - 80, Y - 55), (X - 80, Y + 55)]))
    found = across_line(grey, line, layout.px(style.FLUR_LINE_MM) / 2 + 1)
    assert 0.3 <= found.mean() <= 0.8


def test_in_a_dense_town_the_flur_numbers_face_each_other_near_the_middle(a4_96, town):
    import render_synth

    minx, miny, maxx, maxy = a4_96.bbox
    features = town(a4_96)
    features.fluren = render_synth.two_fluren(CENTRE, maxx - minx, maxy - miny)  # along a street, at 12°
    labels = {label.text: label for label in plan_labels(a4_96, features) if label.kind == "flur"}
    assert set(labels) == {"Flur 3", "Flur 4"}
    shared = features.fluren[0].geometry.boundary.intersection(features.fluren[1].geometry.boundary)
    nearest = shapely.shortest_line(shared, shapely.Point(CENTRE)).coords[0]
    mm = a4_96.scale / 1000  # ground metres per millimetre on paper
    for flur in features.fluren:
        box = ground_box(a4_96, labels[flur.label].box)
        assert flur.geometry.contains(box)
        assert box.distance(shared) < 15 * mm
        # near the stretch of boundary by the middle of the face, not at its far end
        assert box.distance(shapely.Point(nearest)) < style.FLUR_LABEL_DRIFT_MM * mm
