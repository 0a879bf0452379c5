"""The official extract PDF, rasterised with pdftoppm, measures the right scale on paper."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
from renderers import compose
from renderers.compose import DEFAULT_WATERMARK
from renderers.layout import MM_PER_INCH

NICE_BAR_METRES = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000)
DPI = 300

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")


@pytest.fixture(scope="module")
def producer(demo_app):
    settings = demo_app.extensions["gis_settings"].orders
    return ExtractProducer(demo_app.extensions["gis_services"].pipeline, settings.office, settings.extract)


def rasterise(pdf: bytes, tmp_path) -> np.ndarray:
    (tmp_path / "extract.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(tmp_path / "extract.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    return np.asarray(Image.open(tmp_path / "page.png").convert("L"))


def runs(line: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the dark runs along a row of pixels; end exclusive."""
    dark = np.concatenate(([False], line < 100, [False]))
    edges = np.flatnonzero(np.diff(dark.astype(np.int8)))
    return list(zip(edges[0::2], edges[1::2], strict=True))


@pytest.mark.parametrize("paper,orientation,scale", [("A4", "portrait", 1000), ("A3", "landscape", 500)])
def test_extract_scale_measured_on_the_raster(producer, tmp_path, paper, orientation, scale):
    spec = ExtractSpec(order_number="LK-2026-TEST01", parcel_key="05987100100090______", paper=paper,
                       orientation=orientation, scale=scale, centre=None, created=date(2026, 11, 28))
    pdf = producer.produce(spec)
    page = rasterise(pdf, tmp_path)
    layout = producer.plan(spec).layout
    assert layout.dpi == DPI

    # True paper size: the PDF page is the paper (in points), and so is the raster (pdftoppm rounds up).
    width_mm, height_mm = layout.paper_mm
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert abs(float(box.width) - width_mm / MM_PER_INCH * 72) < 0.01
    assert abs(float(box.height) - height_mm / MM_PER_INCH * 72) < 0.01
    assert abs(page.shape[1] - width_mm / MM_PER_INCH * DPI) <= 1 and abs(page.shape[0] - height_mm / MM_PER_INCH * DPI) <= 1
    nominal = scale * MM_PER_INCH / 1000.0 / DPI  # metres of ground per pixel on paper

    # 1. Ground distance between two printed coordinates: the easting ticks on the top frame edge.
    left, top, right, _ = layout.map_face_px
    frame = max(1, round(layout.px(0.35)))
    row = page[round(top - frame - layout.px(0.6)), left:right]
    ticks = [left + (a + b - 1) / 2 for a, b in runs(row)]
    step = compose.tick_interval(layout)
    assert len(ticks) >= 2, "no coordinate ticks found"
    first_easting = -(-layout.bbox[0] // step) * step
    eastings = [first_easting + i * step for i in range(len(ticks))]
    ground = eastings[-1] - eastings[0]
    metres_per_px_ticks = ground / (ticks[-1] - ticks[0])
    assert abs(metres_per_px_ticks / nominal - 1) < 0.005

    # 2. The printed scale bar: the longest horizontal dark run in the graphics cell of the title block.
    t_left, t_top, t_right, t_bottom = layout.title_block_px
    graphics_left = round(t_right - min(layout.px(48.0), 0.3 * (t_right - t_left)))
    margin = round(layout.px(1.0))
    cell = page[t_top + margin:t_bottom - margin, graphics_left + margin:t_right - margin]
    bar_px = max((b - a for y in range(cell.shape[0]) for a, b in runs(cell[y])), default=0)
    assert bar_px > layout.px(10)
    bar_metres = min(NICE_BAR_METRES, key=lambda m: abs(m / bar_px / metres_per_px_ticks - 1))
    metres_per_px_bar = bar_metres / bar_px
    assert abs(metres_per_px_bar / metres_per_px_ticks - 1) < 0.005, (bar_metres, bar_px, metres_per_px_ticks)
    assert abs(metres_per_px_bar / nominal - 1) < 0.005

    # 3. What was printed is the official page (no watermark), pixel for pixel.
    official = producer.page(spec).image
    watermarked = producer.pipeline.compose(producer.plan(spec),
                                            replace(producer.marking(spec), watermark=DEFAULT_WATERMARK)).image
    official = np.asarray(official.convert("L"), dtype=np.int16)
    watermarked = np.asarray(watermarked.convert("L"), dtype=np.int16)
    printed = page[:official.shape[0], :official.shape[1]].astype(np.int16)
    # Where a watermark would darken the page, the printed page is as light as the official one.
    mask = (official - watermarked) > 20
    assert mask.sum() > 10_000
    off_official = np.abs(printed[mask] - official[mask]).mean()
    off_watermarked = np.abs(printed[mask] - watermarked[mask]).mean()
    assert off_official < 5 < 20 < off_watermarked, (off_official, off_watermarked)


def test_extract_title_names_office_order_and_date(producer, monkeypatch):
    seen = {}
    original = compose.compose_page

    def spy(layout, face, **kwargs):
        seen.update(kwargs)
        return original(layout, face, **kwargs)

    monkeypatch.setattr(compose, "compose_page", spy)
    spec = ExtractSpec(order_number="LK-2026-TEST02", parcel_key="05987100100090______", paper="A4",
                       orientation="portrait", scale=1000, centre=None, created=date(2026, 11, 28))
    producer.produce(spec)
    title = seen["title"]
    assert seen["watermark"] is None
    assert seen["heading"] == "Auszug aus der Liegenschaftskarte"
    assert title.order_number == "LK-2026-TEST02" and title.created == "2026-11-28"
    assert title.office_lines[0].startswith("Vermessungs- und Katasteramt")
    assert title.data_currency and title.scale == 1000
