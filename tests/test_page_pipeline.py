"""The one page pipeline: a preview and an official extract of the same plan differ only in their marking."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gis_service.config import ExtractSettings
from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
from gis_service.page_pipeline import Marking
from gis_service.page_request import PreviewRequest
from renderers.compose import DEFAULT_WATERMARK, watermark_placement

KEY = "05987100100090______"
DPI = 150  # the lowest extract dpi: both pages at one resolution


@pytest.fixture(scope="module")
def pages(demo_app):
    services = demo_app.extensions["gis_services"]
    office = services.settings.orders.office
    producer = ExtractProducer(services.pipeline, office, ExtractSettings(dpi=DPI))
    spec = ExtractSpec(order_number="LK-2026-PIXEL1", parcel_key=KEY, paper="A4", orientation="portrait",
                       scale=1000, centre=None, created=date(2026, 12, 4))
    extract = producer.page(spec)
    preview = services.pipeline.compose(
        services.pipeline.plan(PreviewRequest(KEY, 1000, "A4", "portrait", DPI)), Marking.preview())
    return preview, extract


def marked_regions(layout) -> np.ndarray:
    """True where a page is marked: the title block, and wherever the preview's watermark lies."""
    height, width = layout.image_px[1], layout.image_px[0]
    marked = np.zeros((height, width), dtype=bool)
    left, top, right, bottom = layout.title_block_px
    marked[top:bottom, left:right] = True
    face_left, face_top, face_right, face_bottom = layout.map_face_px
    x0, y0, mask = watermark_placement(DEFAULT_WATERMARK, face_right - face_left, face_bottom - face_top)
    alpha = np.asarray(mask) > 0
    marked[face_top + y0:face_top + y0 + alpha.shape[0], face_left + x0:face_left + x0 + alpha.shape[1]] |= alpha
    return marked


def test_preview_and_extract_are_the_same_page_but_for_the_marking(pages):
    preview, extract = pages
    assert preview.layout == extract.layout and preview.image.size == extract.image.size
    a = np.asarray(preview.image.convert("RGB"), dtype=np.int16)
    b = np.asarray(extract.image.convert("RGB"), dtype=np.int16)
    marked = marked_regions(preview.layout)
    assert marked.mean() < 0.35  # most of the page is compared
    different = np.abs(a - b).max(axis=2) > 0
    assert not (different & ~marked).any(), f"{int((different & ~marked).sum())} px differ outside the marked regions"
    # …and the marking really is there: the title blocks differ, the watermark shows on the preview only.
    left, top, right, bottom = preview.layout.title_block_px
    assert different[top:bottom, left:right].sum() > 1000
    assert (different & marked).sum() > 10_000


def test_the_comparison_sees_a_moved_print_area(demo_app, pages):
    """Control: a page whose print area is 3 m to the east differs outside the marked regions."""
    preview, _ = pages
    pipeline = demo_app.extensions["gis_services"].pipeline
    x, y = preview.layout.centre
    moved = pipeline.compose(pipeline.plan(PreviewRequest(KEY, 1000, "A4", "portrait", DPI, (x + 3.0, y))),
                             Marking.preview())
    a = np.asarray(preview.image.convert("L"), dtype=np.int16)
    b = np.asarray(moved.image.convert("L"), dtype=np.int16)
    assert ((np.abs(a - b) > 0) & ~marked_regions(preview.layout)).sum() > 1000
