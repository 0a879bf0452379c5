"""Where the page furniture lies (frame, ticks, title block, scale bar, north arrow, QR code, watermark) as shapes and texts in page pixels, drawn alike by compose (raster) and pdf (vector)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from cadastre.model import Parcel
from catalogues import N_
import catalogues
from renderers import fonts, style
from renderers.layout import Layout

RGB = tuple[int, int, int]
CRS_LABEL = "ETRS89 / UTM Zone 32N (EPSG:25832)"
NOTE_COLOUR: RGB = (166, 30, 30)  # title-block note: dark red, 7.4:1 on white, unlike anything else on the page
LABEL_COLOUR: RGB = (70, 70, 70)
ATTRIBUTION_COLOUR: RGB = (60, 60, 60)
ORIENTATION_LABELS = {"portrait": N_("orientation_portrait"), "landscape": N_("orientation_landscape")}
# The title block's labels are German in either language: the extract is a German official document.
TITLE_LANG = "de"

# What a drawn item belongs to: the PDF tags each group as one structure element (or an artifact).
MAP = "map"  # frame, ticks and coordinate labels: part of the map figure
TEXT = "text"  # the title block's words
GRAPHICS = "graphics"  # scale bar and north arrow
QR = "qr"  # the QR code of the verification URL
BORDER = "border"  # the title block's lines: decoration


def orientation_label(orientation: str, lang: str = "de") -> str:
    return catalogues.text(ORIENTATION_LABELS[orientation], lang) if orientation in ORIENTATION_LABELS else orientation


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


# --- what is drawn ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle between pixel edges; its outline (if any) lies inside it, as Pillow draws it."""

    x0: float
    y0: float
    x1: float
    y1: float
    fill: RGB | None
    group: str
    outline: RGB | None = None
    width: float = 0.0


@dataclass(frozen=True)
class Shape:
    """A polygon (closed) or polyline in page pixels."""

    points: tuple[tuple[float, float], ...]
    fill: RGB | None
    group: str
    outline: RGB | None = None
    width: float = 0.0
    closed: bool = True


@dataclass(frozen=True)
class Text:
    """Text of cap height `cap` px: anchor "ls" (left, baseline), "ms" (middle, baseline) or, when
    turned by `angle` degrees counter-clockwise, the middle of its cap height at (x, y)."""

    x: float
    y: float
    text: str
    face: str
    cap: float
    colour: RGB
    group: str
    anchor: str = "ls"
    angle: float = 0.0
    role: str = "P"  # its structure type in a tagged PDF


Item = Box | Shape | Text


@dataclass(frozen=True)
class Watermark:
    """The diagonal watermark across the map face: text of cap height `cap` px turned by `angle`."""

    text: str
    cap: float
    angle: float
    colour: RGB = style.WATERMARK_COLOUR
    alpha: float = style.WATERMARK_ALPHA


@dataclass(frozen=True)
class Highlight:
    """The parcel highlight's sizes in pixels, for the raster and the vector drawing alike."""

    outline: int  # width of the vermillion outline
    halo: int  # white band either side of it
    hatch_spacing: int  # period of the diagonal hatching along a row
    hatch_width: int  # width of a hatch line along a row


def highlight_sizes(layout: Layout) -> Highlight:
    # The outline stays at least 3 px so that it is thicker than the parcel lines on screen.
    return Highlight(
        outline=max(3, round(layout.px(style.HIGHLIGHT_OUTLINE_MM))),
        halo=max(1, round(layout.px(style.HIGHLIGHT_HALO_MM))),
        hatch_spacing=max(4, round(layout.px(style.HIGHLIGHT_HATCH_SPACING_MM))),
        hatch_width=max(1, round(layout.px(style.HIGHLIGHT_HATCH_WIDTH_MM))),
    )


def watermark(text: str, width: int, height: int) -> Watermark:
    """The watermark for a face of `width` × `height` px: along the diagonal, covering WATERMARK_SPAN of it."""
    angle = math.degrees(math.atan2(height, width))
    reference = 100.0
    length = fonts.font_for_cap_height("bold", reference).getlength(text)
    cap = reference * style.WATERMARK_SPAN * math.hypot(width, height) / max(length, 1.0)
    return Watermark(text, min(cap, 0.12 * min(width, height)), angle)


def page_items(layout: Layout, title: TitleBlock, attribution: str, heading: str) -> list[Item]:
    """Everything around the map face, in page pixels at the layout's dpi."""
    items: list[Item] = []
    items += frame_items(layout)
    items += tick_items(layout)
    items += title_block_items(layout, title, attribution, heading)
    return items


# --- frame and coordinate ticks -----------------------------------------------------------------


def frame_px(layout: Layout) -> int:
    return max(1, round(layout.px(style.FRAME_MM)))


def frame_items(layout: Layout) -> list[Item]:
    # The frame lies just outside the face: its inner edge is the face edge, and it hides no map.
    left, top, right, bottom = layout.map_face_px
    w = frame_px(layout)
    colour = style.FRAME_COLOUR
    return [
        Box(left - w, top - w, right + w, top, colour, MAP),
        Box(left - w, bottom, right + w, bottom + w, colour, MAP),
        Box(left - w, top, left, bottom, colour, MAP),
        Box(right, top, right + w, bottom, colour, MAP),
    ]


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


def tick_items(layout: Layout) -> list[Item]:
    left, top, right, bottom = layout.map_face_px
    minx, miny, maxx, maxy = layout.bbox
    frame = frame_px(layout)
    step = tick_interval(layout)
    tick_w = max(1, round(layout.px(style.TICK_LINE_MM)))
    outer = layout.px(style.TICK_OUTER_MM)
    inner = layout.px(style.TICK_INNER_MM)
    cap = layout.px(style.TICK_LABEL_MM)
    gap = layout.px(style.TICK_LABEL_GAP_MM)
    font = fonts.font_for_cap_height("regular", cap)
    colour = style.FRAME_COLOUR
    spacing = layout.px(2.0)  # between neighbouring labels; a crowded one is left out
    items: list[Item] = []

    last_end = -math.inf
    for e in range(math.ceil(minx / step) * step, math.floor(maxx / step) * step + 1, step):
        x = layout.to_px(e, maxy)[0]
        x0, x1 = x - tick_w / 2, x + tick_w / 2
        items.append(Box(x0, top - frame - outer, x1, top + inner, colour, MAP))
        items.append(Box(x0, bottom - inner, x1, bottom + frame + outer, colour, MAP))
        text = format_coordinate("E", e)
        half = font.getlength(text) / 2
        if x - half < left or x + half > right or x - half < last_end + spacing:
            continue  # would run into the corner, the northing labels or its neighbour
        last_end = x + half
        items.append(Text(x, top - frame - outer - gap, text, "regular", cap, colour, MAP, "ms"))
        items.append(Text(x, bottom + frame + outer + gap + cap, text, "regular", cap, colour, MAP, "ms"))

    last_end = -math.inf
    for n in range(math.floor(maxy / step) * step, math.ceil(miny / step) * step - 1, -step):  # top down
        y = layout.to_px(minx, n)[1]
        y0, y1 = y - tick_w / 2, y + tick_w / 2
        items.append(Box(left - frame - outer, y0, left + inner, y1, colour, MAP))
        items.append(Box(right - inner, y0, right + frame + outer, y1, colour, MAP))
        text = format_coordinate("N", n)
        half = font.getlength(text) / 2
        if y - half < top or y + half > bottom or y - half < last_end + spacing:
            continue
        last_end = y + half
        # Turned to read upwards on both sides, as on German topographic and cadastral maps.
        for cx in (left - frame - outer - gap - cap / 2, right + frame + outer + gap + cap / 2):
            items.append(Text(cx, y, text, "regular", cap, colour, MAP, "mm", 90.0))
    return items


# --- title block --------------------------------------------------------------------------------


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def german_date(value: str) -> str:
    match = _ISO_DATE.match(value.strip())
    return f"{match[3]}.{match[2]}.{match[1]}" if match else value


def _fit(text: str, face: str, cap: float, max_width: float, min_cap: float) -> tuple[float, str]:
    """The cap height (shrunk down to `min_cap` if needed) and text (ellipsised last) that fit `max_width`."""
    length = fonts.font_for_cap_height(face, cap).getlength(text)
    if length > max_width and length > 0:
        cap = max(min_cap, cap * max_width / length)
    font = fonts.font_for_cap_height(face, cap)
    while font.getlength(text) > max_width and len(text) > 1:
        text = text[:-2].rstrip() + "…"
    return cap, text


def _wrap(text: str, face: str, cap: float, max_width: float) -> list[str]:
    font = fonts.font_for_cap_height(face, cap)
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


def title_block_items(layout: Layout, title: TitleBlock, attribution: str, heading: str) -> list[Item]:
    left, top, right, bottom = layout.title_block_px
    px = layout.px
    line = max(1, round(px(style.TITLE_LINE_MM)))
    items: list[Item] = [Box(left, top, right, bottom, None, BORDER, style.BLACK, line)]
    pad = px(style.TITLE_PAD_MM)

    split = layout.title_graphics_left
    items.append(Box(split, top, split + line, bottom, style.BLACK, BORDER))
    items += scale_and_north_items(layout, (split + line, top, right, bottom))

    text_right = split - pad
    if title.verification_url:
        # The QR code keeps its quiet zone of four modules clear of lines and text on both sides.
        qr_size = px(style.QR_CODE_MM)
        quiet = max(pad, 4 * qr_size / len(qr_modules(title.verification_url)))
        qr_left = split - quiet - qr_size
        items += qr_items(title.verification_url, qr_left, (top + bottom - qr_size) / 2, qr_size)
        text_right = qr_left - quiet
    text_left = left + pad
    text_w = text_right - text_left

    # Attribution first, from the bottom up: it is required on every map and must not be cut.
    att_cap = px(style.ATTRIBUTION_MM)
    att_lines = _wrap(attribution, "regular", att_cap, text_w) if attribution else []
    if len(att_lines) > 3:
        att_cap = px(style.TITLE_MIN_TEXT_MM) * 0.85
        att_lines = _wrap(attribution, "regular", att_cap, text_w)
    att_pitch = att_cap * 1.7
    y = bottom - pad
    # Placed from the bottom up, but listed after the rows: the list is also the reading order.
    tail: list[Item] = []
    for text in reversed(att_lines):
        tail.insert(0, Text(text_left, y, text, "regular", att_cap, ATTRIBUTION_COLOUR, TEXT))
        y -= att_pitch
    if title.note:
        # Above the attribution, in its own colour; two lines at most, the last one fitted.
        note_cap = px(style.TITLE_MIN_TEXT_MM)
        lines = _wrap(title.note, "bold", note_cap, text_w)
        if len(lines) > 2:
            lines = [lines[0], " ".join(lines[1:])]
        for text in reversed(lines):
            cap, text = _fit(text, "bold", note_cap, text_w, note_cap * 0.85)
            tail.insert(0, Text(text_left, y, text, "bold", cap, NOTE_COLOUR, TEXT))
            y -= note_cap * 1.7
        y -= att_pitch * 0.2
    rows_bottom = y + att_pitch - att_cap - att_pitch * 0.6

    heading_cap, heading_text = _fit(heading, "bold", px(style.HEADING_MM), text_w, px(style.TITLE_MIN_TEXT_MM))
    heading_base = top + pad + px(style.HEADING_MM)
    items.append(Text(text_left, heading_base, heading_text, "bold", heading_cap, style.BLACK, TEXT, role="H1"))

    def label(key: str) -> str:
        return catalogues.text(key, TITLE_LANG)

    col_a = [(label(N_("title_gemarkung")), title.gemarkung)]
    if title.flur is not None and str(title.flur) != "":
        col_a.append((label(N_("title_flur")), str(title.flur)))
    col_a += [
        (label(N_("title_flurstueck")), title.flurstueck),
        (label(N_("title_scale")), f"1:{title.scale}"),
        (label(N_("title_format")), f"DIN {title.paper} {title.orientation}".strip()),
    ]
    col_b: list[tuple[str | None, str]] = [(None, line) for line in title.office_lines]
    if title.order_number:
        col_b.append((label(N_("title_order_number")), title.order_number))
    col_b.append((label(N_("title_data_currency")), german_date(title.data_currency) if title.data_currency else "–"))
    if title.created:
        col_b.append((label(N_("title_created")), german_date(title.created)))
    if title.verification_code:
        col_b.append((label(N_("title_verification_code")), title.verification_code))
    # The reference system is the longest value; it gets a row across both columns.
    wide = [(label(N_("title_crs")), title.crs)] if title.crs else []

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
    # Column A gets what it needs as long as the labelled rows of column B still fit beside it
    # (office lines may shrink); when both cannot fit, it gets no more than 45 %.
    room = text_w - column_gap
    labelled_b = [row for row in col_b if row[0] is not None]
    col_a_w = min(_rows_width(col_a, cap, layout), max(0.45 * room, room - _rows_width(labelled_b, cap, layout)))
    col_b_x = text_left + col_a_w + column_gap
    items += _rows(col_a, text_left, rows_top, col_a_w, cap, pitch, layout)
    items += _rows(col_b, col_b_x, rows_top, text_right - col_b_x, cap, pitch, layout)
    wide_top = rows_top + max(len(col_a), len(col_b)) * pitch
    items += _rows(wide, text_left, wide_top, text_w, cap, pitch, layout)
    return items + tail


def _rows_width(rows, cap: float, layout: Layout) -> float:
    label_font = fonts.font_for_cap_height("regular", cap)
    value_font = fonts.font_for_cap_height("bold", cap)
    label_w = max((label_font.getlength(label + ":") for label, _ in rows if label), default=0.0)
    value_w = max((value_font.getlength(value) for _, value in rows), default=0.0)
    return label_w + layout.px(1.5) + value_w


def _rows(rows, x: float, y_top: float, width: float, cap: float, pitch: float, layout: Layout) -> list[Item]:
    label_font = fonts.font_for_cap_height("regular", cap)
    labelled = [label for label, _ in rows if label]
    label_w = max((label_font.getlength(label + ":") for label in labelled), default=0.0)
    value_x = x + label_w + (layout.px(1.5) if labelled else 0)
    min_cap = layout.px(style.TITLE_MIN_TEXT_MM)
    items: list[Item] = []
    for i, (label, value) in enumerate(rows):
        base = y_top + cap + i * pitch
        if label is None:  # an office line spans the column
            face = "bold" if i == 0 else "regular"
            fitted, text = _fit(value, face, cap, width, min_cap)
            items.append(Text(x, base, text, face, fitted, style.BLACK, TEXT))
            continue
        items.append(Text(x, base, label + ":", "regular", cap, LABEL_COLOUR, TEXT))
        fitted, text = _fit(value, "bold", cap, x + width - value_x, min_cap)
        items.append(Text(value_x, base, text, "bold", fitted, style.BLACK, TEXT))
    return items


# --- QR code ------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The dark modules of a QR code of `text` (error correction M), row by row."""
    from reportlab.graphics.barcode.qr import QrCodeWidget

    code = QrCodeWidget(text, barLevel="M").qr
    code.make()
    return tuple(tuple(bool(m) for m in row) for row in code.modules)


def qr_items(text: str, x: float, y: float, size: float) -> list[Item]:
    """The QR code's symbol as `size` × `size` px at (x, y), one box per run of dark modules in a row;
    the quiet zone around it is the title block's white."""
    modules = qr_modules(text)
    module = size / len(modules)
    items: list[Item] = []
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            items.append(Box(x + start * module, y + r * module, x + c * module, y + (r + 1) * module, style.BLACK, QR))
    return items


# --- scale bar and north arrow ------------------------------------------------------------------


def scale_bar_length(layout: Layout, max_mm: float) -> tuple[int, int]:
    """(ground length in metres, number of segments) of the longest nice bar within `max_mm`."""
    best = (0, 1)
    for metres in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000):
        if metres * 1000.0 / layout.scale <= max_mm:
            digits = str(metres)
            # 20 m in 4 × 5 m, 25 m in 5 × 5 m, 50 m in 5 × 10 m: round numbers at every edge.
            best = (metres, 4 if digits[0] == "2" and not digits.startswith("25") else 5)
    return best


def scale_and_north_items(layout: Layout, box) -> list[Item]:
    left, top, right, bottom = box
    px = layout.px
    pad = px(style.TITLE_PAD_MM)
    centre_x = (left + right) / 2
    black = style.BLACK
    items: list[Item] = []

    # North arrow: grid north (the page is in UTM, so straight up); half filled so it reads at
    # any size and in black-and-white copies.
    arrow_h = px(style.NORTH_ARROW_MM)
    n_cap = px(2.4)
    items.append(Text(centre_x, top + pad + n_cap, "N", "bold", n_cap, black, GRAPHICS, "ms"))
    tip_y = top + pad + n_cap + px(1.0)
    base_y = top + pad + arrow_h
    notch_y = base_y - (base_y - tip_y) * 0.25
    half_w = (base_y - tip_y) * 0.3
    outline_w = max(1, round(px(0.2)))
    tip, notch = (centre_x, tip_y), (centre_x, notch_y)
    items.append(Shape((tip, (centre_x - half_w, base_y), notch), black, GRAPHICS))
    items.append(Shape((tip, (centre_x + half_w, base_y), notch), style.WHITE, GRAPHICS, black, outline_w))
    items.append(Shape((tip, (centre_x - half_w, base_y), notch), None, GRAPHICS, black, outline_w, closed=False))

    # Scale bar: a nice ground length in alternating segments, labelled in metres.
    label_cap = px(style.SCALEBAR_LABEL_MM)
    label_font = fonts.font_for_cap_height("regular", label_cap)
    overhang = label_font.getlength(" m") + label_font.getlength("0000") / 2
    metres, segments = scale_bar_length(layout, (right - left - 2 * pad - 2 * overhang) * 25.4 / layout.dpi)
    scale_cap = px(style.SCALE_TEXT_MM)
    bar_h = max(2, round(px(style.SCALEBAR_HEIGHT_MM)))
    bar_bottom = round(bottom - pad)
    bar_top = bar_bottom - bar_h
    label_base = bar_top - px(0.8)
    scale_base = label_base - label_cap - px(2.0)
    items.append(Text(centre_x, scale_base, f"1:{layout.scale}", "bold", scale_cap, black, GRAPHICS, "ms"))
    if metres <= 0:
        return items
    bar_px = metres / layout.metres_per_px
    x0 = centre_x - bar_px / 2
    step = metres / segments
    # Segment edges on exact ground lengths: the bar measures the scale as truly as the ticks do.
    edges = [x0 + i * step / layout.metres_per_px for i in range(segments + 1)]
    line_w = max(1, round(px(style.SCALEBAR_LINE_MM)))
    for i in range(segments):
        fill = black if i % 2 == 0 else style.WHITE
        items.append(Box(edges[i], bar_top, edges[i + 1], bar_bottom, fill, GRAPHICS, black, line_w))
    room = (edges[1] - edges[0]) > label_font.getlength("000") * 1.3
    for i, edge in enumerate(edges):
        if not room and i not in (0, segments):
            continue
        text = f"{step * i:g}"
        items.append(Text(edge, label_base, text, "regular", label_cap, black, GRAPHICS, "ms"))
        if i == segments:
            unit_x = edge + label_font.getlength(text) / 2
            items.append(Text(unit_x, label_base, " m", "regular", label_cap, black, GRAPHICS))
    return items
