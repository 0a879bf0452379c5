"""A raster page around a map face: the highlight and watermark painted on the face, the page furniture (furniture.py) painted around it with Pillow."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import shapely
from PIL import Image, ImageDraw

import catalogues
from cadastre.model import Parcel
from renderers import fonts, furniture, style
from renderers.furniture import (  # noqa: F401  (re-exported: the names pages and tests know compose by)
    NOTE_COLOUR,
    TITLE_LANG,
    TitleBlock,
    format_coordinate,
    german_date,
    orientation_label,
    scale_bar_length,
    tick_interval,
)
from renderers.labels import paste_rotated_text, rotated_text_mask
from renderers.layout import Layout, face_xy

# A preview's marking; German as its title block is (furniture.TITLE_LANG)
DEFAULT_WATERMARK = catalogues.text("preview_watermark", TITLE_LANG)
DEFAULT_HEADING = catalogues.text("preview_page_heading", TITLE_LANG)


def highlight_colours() -> dict[str, tuple[int, int, int]]:
    """The pure colours of the parcel highlight (for tests and legends)."""
    return {"outline": style.HIGHLIGHT_OUTLINE, "halo": style.HIGHLIGHT_HALO}


def compose_page(
    layout: Layout,
    map_face: Image.Image,
    *,
    parcel: Parcel | None,
    title: TitleBlock,
    attribution: str,
    watermark: str | None = DEFAULT_WATERMARK,
    heading: str = DEFAULT_HEADING,
) -> Image.Image:
    """The whole page (RGB, layout.image_px) around a map face drawn for the same layout."""
    if map_face.size != layout.map_face_size_px:
        raise ValueError(f"map face is {map_face.size} px, the layout needs {layout.map_face_size_px}")
    face = map_face.convert("RGB") if map_face.mode != "RGB" else map_face.copy()
    if watermark:
        _draw_watermark(face, layout, watermark)
    if parcel is not None and parcel.geometry is not None and not parcel.geometry.is_empty:
        # Drawn on the face alone, so a parcel reaching beyond the face is cut at its edge and
        # nothing spills over the frame or the coordinate labels.
        draw_highlight(face, layout, parcel.geometry)
    page = Image.new("RGB", layout.image_px, style.WHITE)
    page.paste(face, layout.map_face_px[:2])
    paint(page, furniture.page_items(layout, title, attribution, heading))
    return page


def _edge(value: float) -> int:
    # Half up, not to even: both edges of a box whose width is whole pixels move alike.
    return math.floor(value + 0.5)


def paint(page: Image.Image, items: list[furniture.Item]) -> None:
    """Paint page furniture onto a raster page, pixel edges rounded to whole pixels."""
    draw = ImageDraw.Draw(page)
    for item in items:
        if isinstance(item, furniture.Box):
            box = (_edge(item.x0), _edge(item.y0), _edge(item.x1) - 1, _edge(item.y1) - 1)
            if box[2] < box[0] or box[3] < box[1]:
                continue
            width = round(item.width) if item.outline else 0
            draw.rectangle(box, fill=item.fill, outline=item.outline, width=width)
        elif isinstance(item, furniture.Shape):
            if item.closed:
                draw.polygon(list(item.points), fill=item.fill, outline=item.outline,
                             width=round(item.width) if item.outline else 0)
            else:
                draw.line(list(item.points), fill=item.outline, width=round(item.width))
        elif item.angle:
            paste_rotated_text(page, item.text, item.face, item.cap, (item.x, item.y), item.angle, item.colour)
        else:
            font = fonts.font_for_cap_height(item.face, item.cap)
            draw.text((item.x, item.y), item.text, font=font, fill=item.colour, anchor=item.anchor)


# --- highlight ----------------------------------------------------------------------------------


def highlight_outline_px(layout: Layout) -> int:
    """The outline width in pixels: 0.7 mm, at least 3 so that it stays thicker than the
    parcel lines on screen."""
    return furniture.highlight_sizes(layout).outline


def _to_face_px(geometry, layout: Layout):
    """A ground geometry in face pixel edge coordinates (y down)."""
    return shapely.transform(geometry, lambda coords: face_xy(coords, layout))


def _rasterise(polygons, size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]] | None:
    """An "L" mask of (multi)polygons given in face pixel edge coordinates, cropped to their
    bounds within the face, and its offset; None when nothing lies in the face.

    Pillow fills the pixels whose centres lie inside a polygon given in whole pixels and
    truncates fractional vertices; rounding each vertex to the nearest pixel centre instead
    keeps the error within half a pixel either way.
    """
    parts = [p for p in shapely.get_parts(polygons) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(parts, dtype=object))
    x0, y0 = max(0, math.floor(minx) - 1), max(0, math.floor(miny) - 1)
    x1, y1 = min(size[0], math.ceil(maxx) + 1), min(size[1], math.ceil(maxy) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(mask)
    offset = np.array([x0 + 0.5, y0 + 0.5])

    def ring(r) -> list[int]:
        return np.rint(shapely.get_coordinates(r) - offset).astype(np.int64).ravel().tolist()

    # Largest first, so that a part lying in another part's hole is not erased by that hole.
    for part in sorted(parts, key=lambda p: -p.area):
        draw.polygon(ring(part.exterior), fill=255)
        for hole in part.interiors:
            draw.polygon(ring(hole), fill=0)
    return mask, (x0, y0)


def draw_highlight(face: Image.Image, layout: Layout, geometry) -> None:
    """Tint and hatch the parcel, then outline it with a white halo, on a map face image."""
    visible = shapely.clip_by_rect(geometry, *layout.bbox)
    if not visible.is_empty:
        _fill_highlight(face, layout, _to_face_px(visible, layout))

    # The outline follows the parcel's own rings (clipped a little beyond the face), not the
    # clipped polygon, so that no outline is drawn along the face edge where the parcel goes on.
    res = layout.metres_per_px
    margin = layout.px(2.0) * res
    minx, miny, maxx, maxy = layout.bbox
    rings = shapely.get_rings(shapely.get_parts(geometry))
    lines = shapely.clip_by_rect(rings, minx - margin, miny - margin, maxx + margin, maxy + margin)
    lines = shapely.get_parts(lines)
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 2)) & ~shapely.is_empty(lines)]
    if len(lines) == 0:
        return
    coords, index = shapely.get_coordinates(lines, return_index=True)
    xy = face_xy(coords, layout)
    # Half a pixel less than half the width: Pillow counts the pixels on both edges of a
    # polygon as inside, which adds about a pixel to the width.
    sizes = furniture.highlight_sizes(layout)
    half = sizes.outline / 2 - 0.5
    halo = sizes.halo
    for radius, colour in ((half + halo, style.HIGHLIGHT_HALO), (half, style.HIGHLIGHT_OUTLINE)):
        raster = _band_mask(xy, index, max(radius, 0.5), face.size)
        if raster is not None:
            mask, (x0, y0) = raster
            face.paste(colour, (x0, y0, x0 + mask.width, y0 + mask.height), mask)


def _band_mask(xy: np.ndarray, index: np.ndarray, radius: float, size: tuple[int, int]):
    """An "L" mask of the band `radius` pixels either side of polylines (face pixel edge
    coordinates, parts told apart by `index`), cropped to the face, and its offset.

    Each segment is filled as its own quadrilateral and each vertex as a disc (round joins):
    Pillow's wide lines lean by up to a pixel depending on their direction, and a buffered
    ring filled with a hole loses a pixel on its inner edge; both would move the highlight off
    the boundary by more than the pixel it is checked to.
    """
    same = index[1:] == index[:-1]
    p0, p1 = xy[:-1][same], xy[1:][same]
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 1e-9
    p0, p1, d, length = p0[keep], p1[keep], d[keep], length[keep]
    if len(p0) == 0:
        return None
    normal = np.column_stack((-d[:, 1], d[:, 0])) / length[:, None] * radius
    quads = np.stack((p0 + normal, p1 + normal, p1 - normal, p0 - normal), axis=1)
    lo = np.floor(quads.reshape(-1, 2).min(axis=0) - radius) - 1
    hi = np.ceil(quads.reshape(-1, 2).max(axis=0) + radius) + 1
    x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
    x1, y1 = min(size[0], int(hi[0])), min(size[1], int(hi[1]))
    if x1 <= x0 or y1 <= y0:
        return None
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(mask)
    offset = np.array([x0 + 0.5, y0 + 0.5])  # to Pillow's pixel-centre coordinates
    for quad in np.rint(quads - offset).astype(np.int64):
        draw.polygon(quad.ravel().tolist(), fill=255)
    r = round(radius)
    for cx, cy in np.unique(np.rint(xy - offset).astype(np.int64), axis=0):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    return mask, (x0, y0)


def _fill_highlight(face: Image.Image, layout: Layout, parcel_px) -> None:
    raster = _rasterise(parcel_px, face.size)
    if raster is None:
        return
    mask, (x0, y0) = raster
    x1, y1 = x0 + mask.width, y0 + mask.height
    # Hatching in page coordinates, so the pattern does not shift with the parcel's position.
    left, top = layout.map_face_px[:2]
    sizes = furniture.highlight_sizes(layout)
    spacing, line = sizes.hatch_spacing, sizes.hatch_width
    xs = np.arange(x0 + left, x1 + left)
    ys = np.arange(y0 + top, y1 + top)
    hatch = ((xs[None, :] + ys[:, None]) % spacing) < line
    alpha = np.where(hatch, style.HIGHLIGHT_HATCH_ALPHA, style.HIGHLIGHT_FILL_ALPHA).astype(np.float32)
    alpha *= np.asarray(mask, dtype=np.float32) / 255.0
    region = np.asarray(face.crop((x0, y0, x1, y1)), dtype=np.float32)
    colour = np.array(style.HIGHLIGHT_OUTLINE, dtype=np.float32)
    region += (colour - region) * alpha[:, :, None]
    face.paste(Image.fromarray(np.rint(region).astype(np.uint8), "RGB"), (x0, y0))


# --- watermark ----------------------------------------------------------------------------------


def _draw_watermark(face: Image.Image, layout: Layout, text: str) -> None:
    x0, y0, mask = watermark_placement(text, face.width, face.height)
    face.paste(style.WATERMARK_COLOUR, (x0, y0, x0 + mask.width, y0 + mask.height), mask)


def watermark_placement(text: str, width: int, height: int) -> tuple[int, int, Image.Image]:
    """Where the watermark lies on a face of this size: the top-left corner of its alpha mask, and the mask."""
    mask = _watermark_mask(text, width, height)
    return round((width - mask.width) / 2), round((height - mask.height) / 2), mask


@lru_cache(maxsize=6)
def _watermark_mask(text: str, width: int, height: int) -> Image.Image:
    # Cached: rotating a face-sized mask is the costliest step of a screen preview, and
    # previews repeat the same few paper × dpi sizes.
    mark = furniture.watermark(text, width, height)
    mask = rotated_text_mask(text, "bold", mark.cap, mark.angle)
    return mask.point(lambda v: round(v * mark.alpha))
