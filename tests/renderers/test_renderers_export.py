"""Export: PNG round trip, PDF at exact paper size (checked by rasterising it), GeoTIFF georeference."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image
from render_synth import CENTRE

from renderers.compose import TitleBlock, compose_page
from renderers.export import page_size_pt, to_geotiff, to_png, to_webp
from renderers.pdf import DocumentInfo, page_pdf
from renderers.layout import MM_PER_INCH, make_layout
from renderers.map import draw_map_face

A4_PT = (595.276, 841.890)
A3_PT = (841.890, 1190.551)


def blank_title(layout):
    return TitleBlock(gemarkung="Übungsfeld", flur=3, flurstueck="40/4", scale=layout.scale, paper=layout.paper,
                      orientation="Hochformat")


def blank_page(layout, features=None):
    face = draw_map_face(layout, features) if features else Image.new("RGB", layout.map_face_size_px, "white")
    return compose_page(layout, face, parcel=None, title=blank_title(layout), attribution="© Test", watermark=None)


def blank_pdf(layout) -> bytes:
    info = DocumentInfo(title="Test", subject="Test", author="", created=datetime(2026, 12, 5, tzinfo=timezone.utc))
    return page_pdf(layout, Image.new("RGB", layout.map_face_size_px, "white"), parcel_geometry=None,
                    title=blank_title(layout), attribution="© Test", watermark=None, heading="Test", info=info,
                    alt_text="Test")


def test_png_round_trip(a4_96, simple_features):
    page = blank_page(a4_96, simple_features)
    data = to_png(page)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    back = Image.open(io.BytesIO(data))
    assert back.size == page.size and back.mode == "RGB"
    assert np.array_equal(np.asarray(back), np.asarray(page))


def test_webp_is_lossless_by_default(a4_96):
    page = blank_page(a4_96)
    back = Image.open(io.BytesIO(to_webp(page))).convert("RGB")
    assert np.array_equal(np.asarray(back), np.asarray(page))


@pytest.mark.parametrize(
    "paper,orientation,expected",
    [
        ("A4", "portrait", A4_PT),
        ("A4", "landscape", A4_PT[::-1]),
        ("A3", "portrait", A3_PT),
        ("A3", "landscape", A3_PT[::-1]),
    ],
)
def test_pdf_page_is_exactly_the_paper(paper, orientation, expected):
    pypdf = pytest.importorskip("pypdf")
    layout = make_layout(paper, orientation, 1000, 72, CENTRE)
    assert page_size_pt(layout) == pytest.approx(expected, abs=1e-3)
    reader = pypdf.PdfReader(io.BytesIO(blank_pdf(layout)))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.left), float(box.bottom)) == (0.0, 0.0)
    assert float(box.width) == pytest.approx(expected[0], abs=1e-3)
    assert float(box.height) == pytest.approx(expected[1], abs=1e-3)
    # The map face is drawn at its natural size (pixels × 72 / dpi), where the layout puts it.
    content = reader.pages[0].get_contents().get_data().decode("latin-1")
    a, b, c, d, e, f = (
        float(v)
        for v in re.findall(
            r"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) cm\s*/\S+ Do", content
        )[0]
    )
    left, top, right, bottom = layout.map_face_px
    assert (b, c) == (0.0, 0.0)
    assert a == pytest.approx((right - left) * 72 / layout.dpi, abs=1e-3)
    assert d == pytest.approx((bottom - top) * 72 / layout.dpi, abs=1e-3)
    assert e == pytest.approx(left * 72 / layout.dpi, abs=1e-3)
    assert f + d == pytest.approx(expected[1] - top * 72 / layout.dpi, abs=1e-3)


def frame_edges_mm(png: np.ndarray, dpi: float) -> tuple[float, float, float, float]:
    """Inner edges (left, top, right, bottom) of the map frame in a rasterised page, in mm: the
    frame lines are the only long straight dark lines of a blank page."""
    dark = png < 100
    cols = np.flatnonzero(dark.mean(axis=0) > 0.4)
    rows = np.flatnonzero(dark.mean(axis=1) > 0.3)

    def clusters(indices):
        return np.split(indices, np.flatnonzero(np.diff(indices) > 1) + 1)

    col_groups, row_groups = clusters(cols), clusters(rows)
    left_line, right_line = col_groups[0], col_groups[-1]
    top_line = row_groups[0]
    # The bottom frame line comes before the title block's lines.
    bottom_line = row_groups[1]
    px_to_mm = MM_PER_INCH / dpi
    return (
        (left_line.max() + 1) * px_to_mm,
        (top_line.max() + 1) * px_to_mm,
        right_line.min() * px_to_mm,
        bottom_line.min() * px_to_mm,
    )


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
@pytest.mark.parametrize(
    "paper,orientation,dpi", [("A4", "portrait", 96), ("A3", "landscape", 150), ("A4", "landscape", 300)]
)
def test_pdf_prints_the_frame_at_the_right_millimetre(tmp_path, paper, orientation, dpi):
    layout = make_layout(paper, orientation, 1000, dpi, CENTRE)
    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(blank_pdf(layout))
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", str(pdf), str(tmp_path / "raster")], check=True
    )
    raster = Image.open(tmp_path / "raster.png").convert("L")
    width_mm, height_mm = layout.paper_mm
    # poppler rounds the page up to whole pixels: 210 mm at 300 dpi = 2480.3 → 2481.
    assert raster.size == (
        math.ceil(width_mm / MM_PER_INCH * 300 - 1e-6),
        math.ceil(height_mm / MM_PER_INCH * 300 - 1e-6),
    )
    got = frame_edges_mm(np.asarray(raster), 300)
    left, top, right, bottom = layout.map_face_px
    expected = tuple(v * MM_PER_INCH / dpi for v in (left, top, right, bottom))
    for g, e in zip(got, expected):
        assert g == pytest.approx(e, abs=0.3)
    # The map face is as wide on paper as the ground it shows divided by the scale.
    minx, _, maxx, _ = layout.bbox
    assert (got[2] - got[0]) == pytest.approx((maxx - minx) * 1000 / layout.scale, abs=0.6)


@pytest.mark.parametrize("source", ["page", "face"])
def test_geotiff_is_georeferenced_in_utm32(a4_96, simple_features, source):
    rasterio = pytest.importorskip("rasterio")
    page = blank_page(a4_96, simple_features)
    image = page if source == "page" else page.crop(a4_96.map_face_px)
    data = to_geotiff(image, a4_96)
    with rasterio.io.MemoryFile(data) as memfile, memfile.open() as ds:
        assert ds.crs.to_epsg() == 25832
        assert (ds.width, ds.height) == a4_96.map_face_size_px
        assert ds.count == 3
        for got, want in zip(ds.bounds, a4_96.bbox):
            assert got == pytest.approx(want, abs=1e-6)
        assert ds.res == pytest.approx((a4_96.metres_per_px, a4_96.metres_per_px), abs=1e-12)
        assert ds.profile["compress"].lower() == "deflate"
        pixels = ds.read().transpose(1, 2, 0)
    assert np.array_equal(pixels, np.asarray(page.crop(a4_96.map_face_px)))


def test_geotiff_refuses_an_image_of_another_size(a4_96):
    with pytest.raises(ValueError):
        to_geotiff(Image.new("RGB", (10, 10)), a4_96)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "1"])
def test_png_round_trip_in_every_mode_with_dpi(mode):
    rng = np.random.default_rng(7)
    # Tall enough to be compressed in several blocks; noisy so that every byte matters.
    pixels = rng.integers(0, 256, size=(1500, 700, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").convert(mode)
    back = Image.open(io.BytesIO(to_png(image, dpi=300)))
    assert back.mode == mode and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))
    assert back.info["dpi"] == pytest.approx((300, 300), abs=0.01)
