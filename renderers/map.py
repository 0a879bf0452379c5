"""Draws a map face from vector features (parcels, Fluren, buildings, addresses, streets) in an ALKIS-like style."""

from __future__ import annotations

import numpy as np
import shapely
from PIL import Image, ImageDraw

from cadastre.model import BBox, Flur, MapFeatures, Parcel
from renderers import style
from renderers.labels import draw_labels, plan_labels
from renderers.layout import Layout, face_xy, make_view

# Face pixel coordinates below are "edge" coordinates: (0, 0) is the top-left corner of the
# top-left pixel, as in Layout.to_px. Pillow truncates drawing coordinates to whole pixels, so
# everything handed to ImageDraw is first floored to the pixel that contains the point (whose
# centre is the nearest one): truncating x - 0.5 instead would shift lines by up to a pixel.


def supersample_factor(layout: Layout) -> int:
    return 2 if layout.dpi < style.SUPERSAMPLE_BELOW_DPI else 1


def draw_map_face(layout: Layout, features: MapFeatures, *, supersample: int | None = None,
                  labels_within: BBox | None = None) -> Image.Image:
    """The map face of `layout` (RGB, layout.map_face_size_px) showing `features`.

    Geometry is drawn at `supersample` times the size and reduced (antialiasing; by default 2
    below 200 dpi, 1 above), labels at the output size, where FreeType antialiases them itself.
    `labels_within` (ground, on whole pixels of the face) keeps every label inside that part:
    a metatile places its labels inside its own tiles, so that none crosses into a neighbour
    drawn apart, whose labels are placed for its own extent.
    """
    ss = supersample if supersample is not None else supersample_factor(layout)
    width, height = layout.map_face_size_px
    image = Image.new("RGB", (width * ss, height * ss), style.WHITE)
    draw = ImageDraw.Draw(image)
    _draw_buildings(draw, layout, features, ss)
    _draw_flur_boundaries(draw, layout, features.fluren, ss)
    _draw_parcel_lines(draw, layout, features.parcels, ss)
    if ss > 1:
        image = image.reduce(ss)
    if labels_within is None:
        draw_labels(image, layout, plan_labels(layout, features))
        return image
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    left, top = round((labels_within[0] - minx) / res), round((maxy - labels_within[3]) / res)
    right, bottom = round((labels_within[2] - minx) / res), round((maxy - labels_within[1]) / res)
    part = make_view(labels_within, right - left, bottom - top, dpi=layout.dpi)
    piece = image.crop((left, top, right, bottom))
    draw_labels(piece, part, plan_labels(part, features))
    image.paste(piece, (left, top))
    return image


# --- geometry -----------------------------------------------------------------------------------


def _line_px(layout: Layout, mm: float, ss: int) -> int:
    return max(style.MIN_LINE_PX * ss, round(layout.px(mm) * ss))


def _to_draw(coords: np.ndarray, layout: Layout, ss: int) -> np.ndarray:
    """Ground coordinates (n, 2) → whole-pixel Pillow drawing coordinates on the (supersampled) face."""
    minx, _, _, maxy = layout.bbox
    k = ss / layout.metres_per_px
    out = np.empty(coords.shape, dtype=np.int64)
    out[:, 0] = np.floor((coords[:, 0] - minx) * k)
    out[:, 1] = np.floor((maxy - coords[:, 1]) * k)
    return out


def _paths(lines: np.ndarray, layout: Layout, ss: int) -> list[list[int]]:
    """Line-like geometries → one flat [x0, y0, x1, y1, …] list per part, transformed at once."""
    if len(lines) == 0:
        return []
    coords, index = shapely.get_coordinates(lines, return_index=True)
    if len(coords) == 0:
        return []
    xy = _to_draw(coords, layout, ss)
    cuts = np.flatnonzero(np.diff(index)) + 1
    return [part.ravel().tolist() for part in np.split(xy, cuts) if len(part) >= 2]


def _clip_margin_rect(layout: Layout, margin_mm: float = 3.0) -> tuple[float, float, float, float]:
    # Clipping to a rectangle a little larger than the face keeps the artificial edges the clip
    # creates outside the picture, and line ends and joins at the border look continuous.
    m = margin_mm * layout.scale / 1000.0
    minx, miny, maxx, maxy = layout.bbox
    return minx - m, miny - m, maxx + m, maxy + m


def _polygon_parts(geoms: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    clipped = shapely.clip_by_rect(geoms, *rect)
    parts = shapely.get_parts(clipped)
    return parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]


def _draw_buildings(draw: ImageDraw.ImageDraw, layout: Layout, features: MapFeatures, ss: int) -> None:
    geoms = np.array([b.geometry for b in features.buildings], dtype=object)
    parts = _polygon_parts(geoms, _clip_margin_rect(layout))
    if len(parts) == 0:
        return
    # Largest first, so a building standing in another's courtyard is not erased by the hole.
    parts = parts[np.argsort(-shapely.area(parts), kind="stable")]
    exteriors = _paths(shapely.get_exterior_ring(parts), layout, ss)
    holes_of = shapely.get_num_interior_rings(parts)
    for part, exterior, n_holes in zip(parts, exteriors, holes_of):
        draw.polygon(exterior, fill=style.BUILDING_FILL)
        if n_holes:
            for hole in _paths(np.array(part.interiors, dtype=object), layout, ss):
                draw.polygon(hole, fill=style.WHITE)
    width = _line_px(layout, style.BUILDING_OUTLINE_MM, ss)
    for path in _paths(shapely.get_rings(parts), layout, ss):
        draw.line(path, fill=style.BUILDING_OUTLINE, width=width)


def _draw_parcel_lines(draw: ImageDraw.ImageDraw, layout: Layout, parcels: list[Parcel], ss: int) -> None:
    # Parcel boundaries go on top of the buildings: a boundary through a building (terraced
    # houses) is exactly what a reader of the extract needs to see.
    geoms = np.array([p.geometry for p in parcels], dtype=object)
    parts = _polygon_parts(geoms, _clip_margin_rect(layout))
    width = _line_px(layout, style.PARCEL_LINE_MM, ss)
    joint = "curve" if width >= 3 else None
    for path in _paths(shapely.get_rings(parts), layout, ss):
        draw.line(path, fill=style.PARCEL_LINE, width=width, joint=joint)


def flur_boundary_lines(layout: Layout, fluren: list[Flur]) -> np.ndarray:
    """The Flur boundaries around the face (ground coordinates) as lines, each stretch once."""
    geoms = np.array([f.geometry for f in fluren], dtype=object)
    parts = _polygon_parts(geoms, _clip_margin_rect(layout))
    if len(parts) == 0:
        return np.empty(0, dtype=object)
    # Two neighbouring Fluren both have their common boundary; drawn twice, the two dash patterns
    # would interleave into a solid band. Noding all rings into one set of lines keeps one copy; the
    # grid of a quarter pixel also merges stretches where the two outlines differ only by float
    # noise or a vertex one of them lacks.
    grid = layout.metres_per_px / 4
    merged = shapely.line_merge(shapely.union_all(shapely.get_rings(parts), grid_size=grid))
    lines = shapely.get_parts(merged)
    return lines[shapely.get_type_id(lines) == 1]


def _dash(xy: np.ndarray, period: float, dash: tuple[float, float], dots: tuple[float, ...]):
    """The dashes (arrays of points) and dot centres of a repeating pattern along the polyline xy;
    all lengths in the units of xy."""
    along = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))))
    total = along[-1]
    starts = np.arange(0.0, total, period) if total > 0 else np.empty(0)

    def at(distances: np.ndarray) -> np.ndarray:
        return np.column_stack((np.interp(distances, along, xy[:, 0]), np.interp(distances, along, xy[:, 1])))

    a, b = starts + dash[0], np.minimum(starts + dash[1], total)
    a, b = a[a < b], b[a < b]
    first, last = at(a), at(b)
    # The vertices a dash passes (where the boundary bends under it) lie between its two ends.
    inner_from, inner_to = np.searchsorted(along, a, "right"), np.searchsorted(along, b, "left")
    dashes = [
        np.vstack((first[k], xy[i:j], last[k])) if j > i else np.vstack((first[k], last[k]))
        for k, (i, j) in enumerate(zip(inner_from, inner_to))
    ]
    positions = (starts[:, None] + np.asarray(dots)[None, :]).ravel()
    return dashes, at(positions[positions <= total])


def _draw_flur_boundaries(draw: ImageDraw.ImageDraw, layout: Layout, fluren: list[Flur], ss: int) -> None:
    # Under the parcel lines: the band accompanies a parcel boundary, which stays black on top.
    if not fluren:
        return
    width = _line_px(layout, style.FLUR_LINE_MM, ss)
    radius = width / 2
    k = layout.px(1.0) * ss  # pixels per millimetre on the (supersampled) face
    dash = (style.FLUR_DASH_MM[0] * k, style.FLUR_DASH_MM[1] * k)
    dots = tuple(d * k for d in style.FLUR_DOTS_MM)
    for line in flur_boundary_lines(layout, fluren):
        xy = face_xy(shapely.get_coordinates(line), layout) * ss
        dashes, centres = _dash(xy, style.FLUR_PATTERN_MM * k, dash, dots)
        for part in dashes:
            path = np.floor(part).astype(np.int64).ravel().tolist()
            draw.line(path, fill=style.FLUR_LINE, width=width, joint="curve")
        for x, y in centres:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=style.FLUR_LINE)
