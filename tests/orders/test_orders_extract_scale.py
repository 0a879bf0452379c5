"""The official extract PDF, rasterised with pdftoppm, measures the right scale on paper; its words are text and its QR code reads."""

from __future__ import annotations

import io
import re
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


def measured_scale(page: np.ndarray, layout) -> tuple[float, float]:
    """Metres of ground per raster pixel, measured (1) between the outermost easting ticks on the top
    frame edge and (2) along the printed scale bar."""
    # 1. Ground distance between two printed coordinates: the easting ticks on the top frame edge.
    left, top, right, _ = layout.map_face_px
    to_raster = DPI / layout.dpi  # page pixels → raster pixels
    frame = max(1, round(layout.px(0.35)))
    row = page[round((top - frame - layout.px(0.6)) * to_raster), round(left * to_raster):round(right * to_raster)]
    ticks = [left * to_raster + (a + b - 1) / 2 for a, b in runs(row)]
    step = compose.tick_interval(layout)
    assert len(ticks) >= 2, "no coordinate ticks found"
    first_easting = -(-layout.bbox[0] // step) * step
    eastings = [first_easting + i * step for i in range(len(ticks))]
    metres_per_px_ticks = (eastings[-1] - eastings[0]) / (ticks[-1] - ticks[0])

    # 2. The printed scale bar: the longest horizontal dark run in the graphics cell of the title block.
    t_left, t_top, t_right, t_bottom = (round(v * to_raster) for v in layout.title_block_px)
    graphics_left = round(layout.title_graphics_left * to_raster)
    margin = round(layout.px(1.0) * to_raster)
    cell = page[t_top + margin:t_bottom - margin, graphics_left + margin:t_right - margin]
    bar_px = max((b - a for y in range(cell.shape[0]) for a, b in runs(cell[y])), default=0)
    assert bar_px > layout.px(10) * to_raster
    bar_metres = min(NICE_BAR_METRES, key=lambda m: abs(m / bar_px / metres_per_px_ticks - 1))
    return metres_per_px_ticks, bar_metres / bar_px


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

    # The coordinate ticks and the scale bar (both vectors) agree with each other and with the scale.
    metres_per_px_ticks, metres_per_px_bar = measured_scale(page, layout)
    assert abs(metres_per_px_ticks / nominal - 1) < 0.005
    assert abs(metres_per_px_bar / metres_per_px_ticks - 1) < 0.005, (metres_per_px_bar, metres_per_px_ticks)
    assert abs(metres_per_px_bar / nominal - 1) < 0.005

    # 3. What was printed is the official page (no watermark): the vector page looks like the raster one.
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


@pytest.mark.parametrize("dpi", [96, 150])
def test_preview_pdf_scale_measured_on_the_raster(demo_app, tmp_path, dpi):
    """The watermarked preview PDF comes from the same code: its ticks and bar agree as well."""
    services = demo_app.extensions["gis_services"]
    plan = services.previews.plan_from_args({"parcel": "05987100100090______", "scale": "1000", "paper": "A4",
                                             "orientation": "landscape", "dpi": str(dpi)})
    pdf = services.previews.pdf(plan).data
    page = rasterise(pdf, tmp_path)
    nominal = 1000 * MM_PER_INCH / 1000.0 / DPI
    metres_per_px_ticks, metres_per_px_bar = measured_scale(page, plan.layout)
    assert abs(metres_per_px_ticks / nominal - 1) < 0.005
    assert abs(metres_per_px_bar / metres_per_px_ticks - 1) < 0.005
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Vorschau" in text


def official_spec(**changes) -> ExtractSpec:
    spec = ExtractSpec(order_number="LK-2026-TEST02", parcel_key="05987100100090______", paper="A4",
                       orientation="portrait", scale=1000, centre=None, created=date(2026, 11, 28),
                       verification_code="K7QM-4XTP-9WRC", verification_url="https://kataster.example.de/verify/K7QM4XTP9WRC")
    return replace(spec, **changes)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_extract_text_is_real_text(producer, demo_facts):
    spec = official_spec()
    pdf = producer.produce(spec)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    plan = producer.plan(spec)
    parcel = plan.parcel
    k = parcel.kennzeichen
    words = " ".join(text.split())
    for expected in ("Auszug aus der Liegenschaftskarte", "Gemarkung:", parcel.gemarkung_name, "Flur:", str(k.flur),
                     "Flurstück:", k.nummer, "1:1000", "Auftragsnummer:", "LK-2026-TEST02", "Prüfcode:",
                     "K7QM-4XTP-9WRC", "Erstellt am:", "28.11.2026", producer.office.name):
        assert expected in words, expected
    assert "Vorschau" not in words
    # The coordinate labels are text as well.
    assert re.search(r"E \d{3} \d{3}", words) and re.search(r"N \d \d{3} \d{3}", words)


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
def test_qr_code_reads_back_at_150_dpi(producer, tmp_path):
    spec = official_spec()
    (tmp_path / "extract.pdf").write_bytes(producer.produce(spec))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "extract.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    read = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(tmp_path / "page.png")],
                          capture_output=True, check=True, timeout=60)
    assert read.stdout.decode().strip() == spec.verification_url
    # Without a URL there is no QR code.
    (tmp_path / "plain.pdf").write_bytes(producer.produce(official_spec(verification_code=None, verification_url=None)))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "plain.pdf"),
                    str(tmp_path / "plain")], check=True, timeout=60)
    none = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "plain.png")], capture_output=True, timeout=60)
    assert none.returncode == 4 and not none.stdout  # 4: no symbol found
