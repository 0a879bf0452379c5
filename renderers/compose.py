"""A page around a map face: highlight, frame, UTM ticks, scale bar, north arrow, title block, watermark (one module: each part is placed against the others on one page)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from PIL import Image, ImageDraw

from cadastre.model import Parcel
from renderers import fonts, style
from renderers.labels import paste_rotated_text, rotated_text_mask
from renderers.layout import Layout, face_xy

CRS_LABEL = "ETRS89 / UTM Zone 32N (EPSG:25832)"
DEFAULT_WATERMARK = "Vorschau – kein amtlicher Auszug"
DEFAULT_HEADING = "Liegenschaftskarte – Vorschau"
NOTE_COLOUR = (166, 30, 30)  # title-block note: dark red, 7.4:1 on white, unlike anything else on the page
ORIENTATION_LABELS = {"de": {"portrait": "Hochformat", "landscape": "Querformat"},
                      "en": {"portrait": "portrait", "landscape": "landscape"}}


def orientation_label(orientation: str, lang: str = "de") -> str:
    return ORIENTATION_LABELS.get(lang, ORIENTATION_LABELS["de"]).get(orientation, orientation)


@dataclass(frozen=True, kw_only=True)
class TitleBlock:
    """What the title block says; strings are printed as given except ISO dates (→ 01.05.2024)."""

    gemarkung: str
    flur: int | str | None
    flurstueck: str  # "40/4"
    scale: int
    paper: str  # "A4"
    orientation: str  # a label: "Hochformat" / "Querformat"
    data_currency: str | None = None
    crs: str = CRS_LABEL
    order_number: str | None = None
    office_lines: tuple[str, ...] = ()
    created: str | None = None
    # A remark the reader must see, e.g. that the map image is from a cache or a substitute drawing.
    note: str | None = None
    # The official extract's verification code and the URL of its public verification page.
    verification_code: str | None = None
    verification_url: str | None = None

    @classmethod
    def for_parcel(
        cls,
        parcel: Parcel,
        layout: Layout,
        *,
        data_currency: str | None = None,
        order_number: str | None = None,
        office_lines: tuple[str, ...] = (),
        created: str | None = None,
        note: str | None = None,
        lang: str = "de",
        verification_code: str | None = None,
        verification_url: str | None = None,
    ) -> TitleBlock:
        k = parcel.kennzeichen
        return cls(
            gemarkung=parcel.gemarkung_name or k.gemarkungsschluessel,
            flur=k.flur,
            flurstueck=k.nummer,
            scale=layout.scale,
            paper=layout.paper,
            orientation=orientation_label(layout.orientation, lang),
            data_currency=data_currency if data_currency is not None else parcel.aktualitaet,
            order_number=order_number,
            office_lines=tuple(office_lines),
            created=created,
            note=note,
            verification_code=verification_code,
            verification_url=verification_url,
        )


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
    draw = ImageDraw.Draw(page)
    _draw_frame(draw, layout)
    _draw_ticks(page, draw, layout)
    _draw_title_block(page, draw, layout, title, attribution, heading)
    return page


# --- highlight ----------------------------------------------------------------------------------


def highlight_outline_px(layout: Layout) -> int:
    """The outline width in pixels: 0.7 mm, at least 3 so that it stays thicker than the
    parcel lines on screen."""
    return max(3, round(layout.px(style.HIGHLIGHT_OUTLINE_MM)))


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
    half = highlight_outline_px(layout) / 2 - 0.5
    halo = max(1, round(layout.px(style.HIGHLIGHT_HALO_MM)))
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
    spacing = max(4, round(layout.px(style.HIGHLIGHT_HATCH_SPACING_MM)))
    line = max(1, round(layout.px(style.HIGHLIGHT_HATCH_WIDTH_MM)))
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
    angle = math.degrees(math.atan2(height, width))
    reference = 100.0
    length = fonts.font_for_cap_height("bold", reference).getlength(text)
    cap = reference * style.WATERMARK_SPAN * math.hypot(width, height) / max(length, 1.0)
    cap = min(cap, 0.12 * min(width, height))
    mask = rotated_text_mask(text, "bold", cap, angle)
    return mask.point(lambda v: round(v * style.WATERMARK_ALPHA))


# --- frame and coordinate ticks -----------------------------------------------------------------


def _frame_px(layout: Layout) -> int:
    return max(1, round(layout.px(style.FRAME_MM)))


def _draw_frame(draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    # The frame lies just outside the face: its inner edge is the face edge, and it hides no map.
    left, top, right, bottom = layout.map_face_px
    w = _frame_px(layout)
    colour = style.FRAME_COLOUR
    draw.rectangle((left - w, top - w, right + w - 1, top - 1), fill=colour)
    draw.rectangle((left - w, bottom, right + w - 1, bottom + w - 1), fill=colour)
    draw.rectangle((left - w, top, left - 1, bottom - 1), fill=colour)
    draw.rectangle((right, top, right + w - 1, bottom - 1), fill=colour)


def tick_interval(layout: Layout) -> int:
    """A nice ground interval giving about 3 to 8 ticks on each side of the map face."""
    minx, miny, maxx, maxy = layout.bbox
    low, high = style.TICKS_PER_SIDE

    def count(lo: float, hi: float, step: int) -> int:
        return math.floor(hi / step) - math.ceil(lo / step) + 1

    best = None
    for step in style.NICE_TICK_INTERVALS_M:
        counts = (count(minx, maxx, step), count(miny, maxy, step))
        if max(counts) <= high:
            if min(counts) >= low:
                return step
            best = best or step
    return best or style.NICE_TICK_INTERVALS_M[-1]


def format_coordinate(prefix: str, value: float) -> str:
    """ "E 353 200" / "N 5 703 400": thousands set apart by spaces as on German maps."""
    return f"{prefix} {round(value):,}".replace(",", " ")


def _draw_ticks(page: Image.Image, draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    left, top, right, bottom = layout.map_face_px
    minx, miny, maxx, maxy = layout.bbox
    frame = _frame_px(layout)
    step = tick_interval(layout)
    tick_w = max(1, round(layout.px(style.TICK_LINE_MM)))
    outer = layout.px(style.TICK_OUTER_MM)
    inner = layout.px(style.TICK_INNER_MM)
    cap = layout.px(style.TICK_LABEL_MM)
    gap = layout.px(style.TICK_LABEL_GAP_MM)
    font = fonts.font_for_cap_height("regular", cap)
    colour = style.FRAME_COLOUR
    spacing = layout.px(2.0)  # between neighbouring labels; a crowded one is left out

    last_end = -math.inf
    for e in range(math.ceil(minx / step) * step, math.floor(maxx / step) * step + 1, step):
        x = layout.to_px(e, maxy)[0]
        x0 = round(x - tick_w / 2)
        draw.rectangle((x0, round(top - frame - outer), x0 + tick_w - 1, round(top + inner) - 1), fill=colour)
        draw.rectangle(
            (x0, round(bottom - inner), x0 + tick_w - 1, round(bottom + frame + outer) - 1), fill=colour
        )
        text = format_coordinate("E", e)
        half = font.getlength(text) / 2
        if x - half < left or x + half > right or x - half < last_end + spacing:
            continue  # would run into the corner, the northing labels or its neighbour
        last_end = x + half
        draw.text((x, top - frame - outer - gap), text, font=font, fill=colour, anchor="ms")
        draw.text((x, bottom + frame + outer + gap + cap), text, font=font, fill=colour, anchor="ms")

    last_end = -math.inf
    for n in range(math.floor(maxy / step) * step, math.ceil(miny / step) * step - 1, -step):  # top down
        y = layout.to_px(minx, n)[1]
        y0 = round(y - tick_w / 2)
        draw.rectangle(
            (round(left - frame - outer), y0, round(left + inner) - 1, y0 + tick_w - 1), fill=colour
        )
        draw.rectangle(
            (round(right - inner), y0, round(right + frame + outer) - 1, y0 + tick_w - 1), fill=colour
        )
        text = format_coordinate("N", n)
        half = font.getlength(text) / 2
        if y - half < top or y + half > bottom or y - half < last_end + spacing:
            continue
        last_end = y + half
        # Rotated to read upwards on both sides, as on German topographic and cadastral maps.
        for cx in (left - frame - outer - gap - cap / 2, right + frame + outer + gap + cap / 2):
            paste_rotated_text(page, text, "regular", cap, (cx, y), 90.0, colour)


# --- title block --------------------------------------------------------------------------------


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def german_date(value: str) -> str:
    match = _ISO_DATE.match(value.strip())
    return f"{match[3]}.{match[2]}.{match[1]}" if match else value


def _fit(text: str, face: str, cap: float, max_width: float, min_cap: float):
    """The font (shrunk down to `min_cap` if needed) and text (ellipsised last) that fit `max_width`."""
    font = fonts.font_for_cap_height(face, cap)
    length = font.getlength(text)
    if length > max_width and length > 0:
        cap = max(min_cap, cap * max_width / length)
        font = fonts.font_for_cap_height(face, cap)
    while font.getlength(text) > max_width and len(text) > 1:
        text = text[:-2].rstrip() + "…"
    return font, text


def _wrap(text: str, font, max_width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if font.getlength(candidate) <= max_width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines


def _draw_title_block(
    page: Image.Image,
    draw: ImageDraw.ImageDraw,
    layout: Layout,
    title: TitleBlock,
    attribution: str,
    heading: str,
) -> None:
    left, top, right, bottom = layout.title_block_px
    px = layout.px
    line = max(1, round(px(style.TITLE_LINE_MM)))
    draw.rectangle((left, top, right - 1, bottom - 1), outline=style.BLACK, width=line)
    pad = px(style.TITLE_PAD_MM)

    graphics_w = min(px(48.0), 0.3 * (right - left))
    split = round(right - graphics_w)
    draw.rectangle((split, top, split + line - 1, bottom - 1), fill=style.BLACK)
    _draw_scale_and_north(page, draw, layout, (split + line, top, right, bottom))

    text_left, text_right = left + pad, split - pad
    text_w = text_right - text_left

    # Attribution first, from the bottom up: it is required on every map and must not be cut.
    att_cap = px(style.ATTRIBUTION_MM)
    att_font = fonts.font_for_cap_height("regular", att_cap)
    att_lines = _wrap(attribution, att_font, text_w) if attribution else []
    if len(att_lines) > 3:
        att_cap = px(style.TITLE_MIN_TEXT_MM) * 0.85
        att_font = fonts.font_for_cap_height("regular", att_cap)
        att_lines = _wrap(attribution, att_font, text_w)
    att_pitch = att_cap * 1.7
    y = bottom - pad
    for text in reversed(att_lines):
        draw.text((text_left, y), text, font=att_font, fill=(60, 60, 60), anchor="ls")
        y -= att_pitch
    if title.note:
        # Above the attribution, in its own colour; two lines at most, the last one fitted.
        note_cap = px(style.TITLE_MIN_TEXT_MM)
        note_font = fonts.font_for_cap_height("bold", note_cap)
        lines = _wrap(title.note, note_font, text_w)
        if len(lines) > 2:
            lines = [lines[0], " ".join(lines[1:])]
        for text in reversed(lines):
            font, text = _fit(text, "bold", note_cap, text_w, note_cap * 0.85)
            draw.text((text_left, y), text, font=font, fill=NOTE_COLOUR, anchor="ls")
            y -= note_cap * 1.7
        y -= att_pitch * 0.2
    rows_bottom = y + att_pitch - att_cap - att_pitch * 0.6

    heading_cap = px(style.HEADING_MM)
    heading_font, heading_text = _fit(heading, "bold", heading_cap, text_w, px(style.TITLE_MIN_TEXT_MM))
    heading_base = top + pad + heading_cap
    draw.text((text_left, heading_base), heading_text, font=heading_font, fill=style.BLACK, anchor="ls")

    col_a = [("Gemarkung", title.gemarkung)]
    if title.flur is not None and str(title.flur) != "":
        col_a.append(("Flur", str(title.flur)))
    col_a += [
        ("Flurstück", title.flurstueck),
        ("Maßstab", f"1:{title.scale}"),
        ("Format", f"DIN {title.paper} {title.orientation}".strip()),
    ]
    col_b: list[tuple[str | None, str]] = [(None, text) for text in title.office_lines]
    if title.order_number:
        col_b.append(("Auftragsnummer", title.order_number))
    col_b.append(("Stand der Daten", german_date(title.data_currency) if title.data_currency else "–"))
    if title.created:
        col_b.append(("Erstellt am", german_date(title.created)))
    if title.verification_code:
        col_b.append(("Prüfcode", title.verification_code))
    # The reference system is the longest value; it gets a row across both columns.
    wide = [("Bezugssystem", title.crs)] if title.crs else []

    rows_top = heading_base + px(1.5)
    cap = px(style.TITLE_TEXT_MM)
    pitch = cap * 1.75
    available = rows_bottom - rows_top
    n_rows = max(len(col_a), len(col_b)) + len(wide)
    if n_rows * pitch > available > 0:
        # Too many rows (office lines of an official extract): tighten rather than overflow.
        factor = max(px(style.TITLE_MIN_TEXT_MM) / cap, available / (n_rows * pitch))
        cap, pitch = cap * factor, pitch * factor
    column_gap = px(3.0)
    col_a_w = min(_rows_width(col_a, cap, layout), 0.45 * (text_w - column_gap))
    col_b_x = text_left + col_a_w + column_gap
    _draw_rows(draw, col_a, text_left, rows_top, col_a_w, cap, pitch, layout)
    _draw_rows(draw, col_b, col_b_x, rows_top, text_right - col_b_x, cap, pitch, layout)
    wide_top = rows_top + max(len(col_a), len(col_b)) * pitch
    _draw_rows(draw, wide, text_left, wide_top, text_w, cap, pitch, layout)


def _rows_width(rows, cap: float, layout: Layout) -> float:
    label_font = fonts.font_for_cap_height("regular", cap)
    value_font = fonts.font_for_cap_height("bold", cap)
    label_w = max((label_font.getlength(label + ":") for label, _ in rows if label), default=0.0)
    value_w = max((value_font.getlength(value) for _, value in rows), default=0.0)
    return label_w + layout.px(1.5) + value_w


def _draw_rows(
    draw, rows, x: float, y_top: float, width: float, cap: float, pitch: float, layout: Layout
) -> None:
    label_font = fonts.font_for_cap_height("regular", cap)
    labelled = [label for label, _ in rows if label]
    label_w = max((label_font.getlength(label + ":") for label in labelled), default=0.0)
    value_x = x + label_w + (layout.px(1.5) if labelled else 0)
    min_cap = layout.px(style.TITLE_MIN_TEXT_MM)
    for i, (label, value) in enumerate(rows):
        base = y_top + cap + i * pitch
        if label is None:  # an office line spans the column
            face = "bold" if i == 0 else "regular"
            font, text = _fit(value, face, cap, width, min_cap)
            draw.text((x, base), text, font=font, fill=style.BLACK, anchor="ls")
            continue
        draw.text((x, base), label + ":", font=label_font, fill=(70, 70, 70), anchor="ls")
        font, text = _fit(value, "bold", cap, x + width - value_x, min_cap)
        draw.text((value_x, base), text, font=font, fill=style.BLACK, anchor="ls")


def scale_bar_length(layout: Layout, max_mm: float) -> tuple[int, int]:
    """(ground length in metres, number of segments) of the longest nice bar within `max_mm`."""
    best = (0, 1)
    for metres in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000):
        if metres * 1000.0 / layout.scale <= max_mm:
            digits = str(metres)
            # 20 m in 4 × 5 m, 25 m in 5 × 5 m, 50 m in 5 × 10 m: round numbers at every edge.
            best = (metres, 4 if digits[0] == "2" and not digits.startswith("25") else 5)
    return best


def _draw_scale_and_north(page, draw: ImageDraw.ImageDraw, layout: Layout, box) -> None:
    left, top, right, bottom = box
    px = layout.px
    pad = px(style.TITLE_PAD_MM)
    centre_x = (left + right) / 2
    black = style.BLACK

    # North arrow: grid north (the page is in UTM, so straight up); half filled so it reads at
    # any size and in black-and-white copies.
    arrow_h = px(style.NORTH_ARROW_MM)
    n_cap = px(2.4)
    n_font = fonts.font_for_cap_height("bold", n_cap)
    draw.text((centre_x, top + pad + n_cap), "N", font=n_font, fill=black, anchor="ms")
    tip_y = top + pad + n_cap + px(1.0)
    base_y = top + pad + arrow_h
    notch_y = base_y - (base_y - tip_y) * 0.25
    half_w = (base_y - tip_y) * 0.3
    outline_w = max(1, round(px(0.2)))
    draw.polygon([(centre_x, tip_y), (centre_x - half_w, base_y), (centre_x, notch_y)], fill=black)
    draw.polygon(
        [(centre_x, tip_y), (centre_x + half_w, base_y), (centre_x, notch_y)],
        fill=style.WHITE,
        outline=black,
        width=outline_w,
    )
    draw.line(
        [(centre_x, tip_y), (centre_x - half_w, base_y), (centre_x, notch_y)], fill=black, width=outline_w
    )

    # Scale bar: a nice ground length in alternating segments, labelled in metres.
    label_cap = px(style.SCALEBAR_LABEL_MM)
    label_font = fonts.font_for_cap_height("regular", label_cap)
    overhang = label_font.getlength(" m") + label_font.getlength("0000") / 2
    metres, segments = scale_bar_length(layout, (right - left - 2 * pad - 2 * overhang) * 25.4 / layout.dpi)
    scale_cap = px(style.SCALE_TEXT_MM)
    scale_font = fonts.font_for_cap_height("bold", scale_cap)
    bar_h = max(2, round(px(style.SCALEBAR_HEIGHT_MM)))
    bar_bottom = round(bottom - pad)
    bar_top = bar_bottom - bar_h
    label_base = bar_top - px(0.8)
    scale_base = label_base - label_cap - px(2.0)
    draw.text((centre_x, scale_base), f"1:{layout.scale}", font=scale_font, fill=black, anchor="ms")
    if metres <= 0:
        return
    bar_px = metres / layout.metres_per_px
    x0 = centre_x - bar_px / 2
    step = metres / segments
    edges = [round(x0 + i * step / layout.metres_per_px) for i in range(segments + 1)]
    line_w = max(1, round(px(style.SCALEBAR_LINE_MM)))
    for i in range(segments):
        fill = black if i % 2 == 0 else style.WHITE
        draw.rectangle(
            (edges[i], bar_top, edges[i + 1] - 1, bar_bottom - 1), fill=fill, outline=black, width=line_w
        )
    room = (edges[1] - edges[0]) > label_font.getlength("000") * 1.3
    for i, edge in enumerate(edges):
        if not room and i not in (0, segments):
            continue
        value = step * i
        text = f"{value:g}"
        draw.text((edge, label_base), text, font=label_font, fill=black, anchor="ms")
        if i == segments:
            draw.text(
                (edge + label_font.getlength(text) / 2, label_base),
                " m",
                font=label_font,
                fill=black,
                anchor="ls",
            )
