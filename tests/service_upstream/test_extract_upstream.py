"""The official extract through the MapServer upstream: the face in the PDF is MapServer's own PNG data, embedded without decoding."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageFile

from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
from renderers.pdf import read_png

KEY = "05987100100090______"


@pytest.fixture(scope="module")
def producer(upstream_app):
    settings = upstream_app.extensions["gis_settings"].orders
    return ExtractProducer(upstream_app.extensions["gis_services"].pipeline, settings.office, settings.extract)


def test_the_extract_embeds_the_upstream_png_as_it_came(producer, upstream_app, monkeypatch):
    spec = ExtractSpec(order_number="LK-2026-UP0001", parcel_key=KEY, paper="A4", orientation="landscape", scale=500,
                       centre=None, created=date(2026, 12, 5))
    layout = producer.plan(spec).layout
    decoded = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or load(self))
    pdf = producer.produce(spec)
    # From the GetMap to the PDF, the face of 300 dpi was never decoded.
    assert layout.map_face_size_px not in decoded
    monkeypatch.undo()

    # The same GetMap asked directly: its compressed rows are the PDF image's data, byte for byte.
    width, height = layout.map_face_size_px
    wms = upstream_app.extensions["gis_source"].wms
    _, raw = wms.get_map_encoded(layout.bbox, width, height, layout.dpi)
    png = read_png(raw)
    assert png.embeddable, "MapServer's PNG has alpha or is interlaced: nothing to pass through"
    with pikepdf.open(io.BytesIO(pdf)) as document:
        (face,) = [obj for obj in document.pages[0].Resources.XObject.values()
                   if obj.Subtype == "/Image" and (int(obj.Width), int(obj.Height)) == (width, height)]
        assert face.read_raw_bytes() == png.idat
        shown = np.asarray(pikepdf.PdfImage(face).as_pil_image().convert("RGB"))
    assert np.array_equal(shown, np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")))
