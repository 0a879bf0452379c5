"""Paper × orientation × scale × dpi → where the map face sits on the page and what ground it shows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadastre.model import BBox

MM_PER_INCH = 25.4

# DIN 476 sizes in millimetres, portrait (width, height).
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "A2": (420.0, 594.0),
    "A1": (594.0, 841.0),
    "A0": (841.0, 1189.0),
}
ORIENTATIONS = ("portrait", "landscape")

# Page margins in mm. The wide left margin is the filing margin (Heftrand) of DIN 5008 documents;
# the band around the map face carries the coordinate labels; the title block sits below.
MARGIN_LEFT_MM = 20.0
MARGIN_RIGHT_MM = 10.0
MARGIN_TOP_MM = 10.0
MARGIN_BOTTOM_MM = 8.0
LABEL_BAND_MM = 5.0
TITLE_BLOCK_MM = 34.0
TITLE_GRAPHICS_MM = 44.0  # the title block's right cell: north arrow and scale bar (leaves room for a QR code)


class LayoutError(ValueError):
    """A paper, orientation, scale or dpi the layout cannot use."""


def mm_to_px(mm: float, dpi: float) -> float:
    return mm / MM_PER_INCH * dpi


@dataclass(frozen=True)
class Layout:
    """One page: its pixel grid and the ground extent of its map face (EPSG:25832, metres)."""

    paper: str
    orientation: str
    scale: int
    dpi: int
    paper_mm: tuple[float, float]
    image_px: tuple[int, int]
    map_face_px: tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)
    bbox: BBox  # ground extent of the map face: minx, miny, maxx, maxy
    title_block_px: tuple[int, int, int, int]

    @property
    def metres_per_px(self) -> float:
        return self.scale * MM_PER_INCH / 1000.0 / self.dpi

    @property
    def map_face_size_px(self) -> tuple[int, int]:
        left, top, right, bottom = self.map_face_px
        return right - left, bottom - top

    @property
    def map_face_mm(self) -> tuple[float, float]:
        width, height = self.map_face_size_px
        return width * MM_PER_INCH / self.dpi, height * MM_PER_INCH / self.dpi

    @property
    def title_graphics_left(self) -> int:
        """The left edge (pixels) of the title block's cell for north arrow and scale bar."""
        left, _, right, _ = self.title_block_px
        return round(right - min(self.px(TITLE_GRAPHICS_MM), 0.3 * (right - left)))

    @property
    def centre(self) -> tuple[float, float]:
        minx, miny, maxx, maxy = self.bbox
        return (minx + maxx) / 2, (miny + maxy) / 2

    def px(self, mm: float) -> float:
        """A length on paper in millimetres → pixels at this layout's dpi."""
        return mm_to_px(mm, self.dpi)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """Ground coordinates → image pixel coordinates (pixel edges at integers)."""
        left, top, _, _ = self.map_face_px
        minx, _, _, maxy = self.bbox
        res = self.metres_per_px
        return left + (x - minx) / res, top + (maxy - y) / res

    def to_ground(self, px: float, py: float) -> tuple[float, float]:
        left, top, _, _ = self.map_face_px
        minx, _, _, maxy = self.bbox
        res = self.metres_per_px
        return minx + (px - left) * res, maxy - (py - top) * res

    def contains(self, bounds: BBox) -> bool:
        minx, miny, maxx, maxy = self.bbox
        return bounds[0] >= minx and bounds[1] >= miny and bounds[2] <= maxx and bounds[3] <= maxy


def page_size_mm(paper: str, orientation: str) -> tuple[float, float]:
    if paper not in PAPER_SIZES_MM:
        raise LayoutError(f"unknown paper {paper!r}; known: {', '.join(PAPER_SIZES_MM)}")
    if orientation not in ORIENTATIONS:
        raise LayoutError(f"unknown orientation {orientation!r}; use portrait or landscape")
    width, height = PAPER_SIZES_MM[paper]
    return (width, height) if orientation == "portrait" else (height, width)


def map_face_mm(paper: str, orientation: str) -> tuple[float, float]:
    """Nominal map-face size on paper, before rounding to whole pixels."""
    width, height = page_size_mm(paper, orientation)
    face_w = width - MARGIN_LEFT_MM - MARGIN_RIGHT_MM - 2 * LABEL_BAND_MM
    face_h = height - MARGIN_TOP_MM - MARGIN_BOTTOM_MM - 2 * LABEL_BAND_MM - TITLE_BLOCK_MM
    return face_w, face_h


def make_layout(
    paper: str, orientation: str, scale: int, dpi: int, centre: tuple[float, float]
) -> Layout:
    """The page for these choices with its map face centred on `centre` (EPSG:25832).

    The ground resolution is exactly scale × 25.4 mm / dpi per pixel, so one millimetre on paper
    (printed at 100 %) is exactly `scale` millimetres on the ground; the map face is a whole
    number of pixels, which moves its edges by less than half a pixel, never its scale.
    """
    if scale <= 0:
        raise LayoutError("scale must be positive")
    if dpi <= 0:
        raise LayoutError("dpi must be positive")
    page_w, page_h = page_size_mm(paper, orientation)
    face_w_mm, face_h_mm = map_face_mm(paper, orientation)
    image_px = (round(mm_to_px(page_w, dpi)), round(mm_to_px(page_h, dpi)))
    left = round(mm_to_px(MARGIN_LEFT_MM + LABEL_BAND_MM, dpi))
    top = round(mm_to_px(MARGIN_TOP_MM + LABEL_BAND_MM, dpi))
    width_px = round(mm_to_px(face_w_mm, dpi))
    height_px = round(mm_to_px(face_h_mm, dpi))
    map_face_px = (left, top, left + width_px, top + height_px)

    res = scale * MM_PER_INCH / 1000.0 / dpi
    cx, cy = centre
    half_w, half_h = width_px * res / 2, height_px * res / 2
    bbox = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)

    title_top = round(mm_to_px(page_h - MARGIN_BOTTOM_MM - TITLE_BLOCK_MM, dpi))
    title_block_px = (left, title_top, left + width_px, round(mm_to_px(page_h - MARGIN_BOTTOM_MM, dpi)))
    return Layout(
        paper=paper,
        orientation=orientation,
        scale=scale,
        dpi=dpi,
        paper_mm=(page_w, page_h),
        image_px=image_px,
        map_face_px=map_face_px,
        bbox=bbox,
        title_block_px=title_block_px,
    )


def bounds_centre(bounds: BBox) -> tuple[float, float]:
    return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2


def fits_at_scale(bounds: BBox, paper: str, orientation: str, scale: int) -> bool:
    """Whether an extent fits the map face at this scale when the face is centred on it."""
    face_w_mm, face_h_mm = map_face_mm(paper, orientation)
    return (bounds[2] - bounds[0]) <= face_w_mm * scale / 1000.0 and (
        bounds[3] - bounds[1]
    ) <= face_h_mm * scale / 1000.0


def largest_fitting_scale(
    bounds: BBox, paper: str, orientation: str, allowed_scales: list[int]
) -> int | None:
    """The most detailed allowed scale (smallest denominator) at which the extent fits, or None."""
    for scale in sorted(allowed_scales):
        if fits_at_scale(bounds, paper, orientation, scale):
            return scale
    return None


def make_view(bbox: BBox, width: int, height: int, dpi: int = 96) -> Layout:
    """A screen map (no page, no margins): the whole image is map face, for web maps.

    The bbox is widened on one axis so that pixels stay square, as WMS servers do when asked
    for a distorted extent would otherwise stretch the map.
    """
    if width <= 0 or height <= 0:
        raise LayoutError("width and height must be positive")
    minx, miny, maxx, maxy = bbox
    if maxx <= minx or maxy <= miny:
        raise LayoutError("bbox must have minx < maxx and miny < maxy")
    res = max((maxx - minx) / width, (maxy - miny) / height)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    square = (cx - res * width / 2, cy - res * height / 2, cx + res * width / 2, cy + res * height / 2)
    scale = res * 1000.0 * dpi / MM_PER_INCH
    width_mm, height_mm = width * MM_PER_INCH / dpi, height * MM_PER_INCH / dpi
    return Layout(
        paper="screen",
        orientation="landscape" if width >= height else "portrait",
        scale=scale,  # type: ignore[arg-type]  # a view's scale is rarely a whole number
        dpi=dpi,
        paper_mm=(width_mm, height_mm),
        image_px=(width, height),
        map_face_px=(0, 0, width, height),
        bbox=square,
        title_block_px=(0, height, width, height),
    )


def face_xy(coords: np.ndarray, layout: Layout) -> np.ndarray:
    """Ground coordinates (n, 2) → face pixel edge coordinates (floats), vectorised: (0, 0) is the top-left corner of the top-left pixel."""
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    return np.column_stack(((coords[:, 0] - minx) / res, (maxy - coords[:, 1]) / res))
