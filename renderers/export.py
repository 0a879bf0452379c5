"""Encodes composed pages: PNG and WebP for screens, GeoTIFF of the map face; the paper size in points (the PDF is renderers.pdf)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from renderers.layout import MM_PER_INCH, Layout

POINTS_PER_INCH = 72.0
CRS_EPSG = 25832


def to_png(image: Image.Image, *, dpi: float | None = None, compress_level: int = 3) -> bytes:
    """PNG bytes, written straight from the pixels for 8-bit RGB, RGBA and L images.

    Pillow's PNG encoder tries all five row filters on every row, which costs more than
    the compression itself (16 ms of a 50 ms preview budget for an A4 page at 96 dpi). A map is
    mostly flat colour: no filter with deflate level 3 is three times faster and, for these
    images, smaller. `dpi` is recorded (pHYs) so that viewers and printers know the page size.
    """
    colour_type = {"L": 0, "RGB": 2, "RGBA": 6}.get(image.mode)
    if colour_type is None:
        out = io.BytesIO()
        extra = {"dpi": (dpi, dpi)} if dpi else {}
        image.save(out, format="PNG", compress_level=compress_level, **extra)
        return out.getvalue()
    width, height = image.size
    row_bytes = width * len(image.mode)
    compressor = zlib.compressobj(compress_level)
    idat = []
    # About 1 MB at a time, so that an A3 page at 300 dpi is never copied whole.
    rows_per_block = max(1, (1 << 20) // row_bytes)
    for start in range(0, height, rows_per_block):
        end = min(height, start + rows_per_block)
        block = np.frombuffer(image.crop((0, start, width, end)).tobytes(), dtype=np.uint8)
        filtered = np.zeros((end - start, row_bytes + 1), dtype=np.uint8)  # filter byte 0: none
        filtered[:, 1:] = block.reshape(end - start, row_bytes)
        idat.append(compressor.compress(filtered.tobytes()))
    idat.append(compressor.flush())
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))]
    if dpi:
        per_metre = round(dpi / MM_PER_INCH * 1000)
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    chunks += [_png_chunk(b"IDAT", b"".join(idat)), _png_chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(chunks)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def to_webp(image: Image.Image, *, lossless: bool = True, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.save(out, format="WEBP", lossless=lossless, quality=quality, method=0 if lossless else 4)
    return out.getvalue()


def page_size_pt(layout: Layout) -> tuple[float, float]:
    """The paper size in PostScript points (A4 portrait: 595.276 × 841.890)."""
    width_mm, height_mm = layout.paper_mm
    return width_mm / MM_PER_INCH * POINTS_PER_INCH, height_mm / MM_PER_INCH * POINTS_PER_INCH


def map_face_image(image: Image.Image, layout: Layout) -> Image.Image:
    """The map face of a composed page (or the image itself if it already is a map face)."""
    if image.size == layout.map_face_size_px:
        return image
    if image.size != layout.image_px:
        raise ValueError(
            f"image is {image.size} px; expected the page {layout.image_px} "
            f"or the map face {layout.map_face_size_px}"
        )
    return image.crop(layout.map_face_px)


def to_geotiff(image: Image.Image, layout: Layout) -> bytes:
    """The map face as an RGB GeoTIFF in EPSG:25832, deflate-compressed."""
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.transform import from_origin

    face = map_face_image(image, layout).convert("RGB")
    data = np.asarray(face).transpose(2, 0, 1)
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    profile = {
        "driver": "GTiff",
        "width": face.width,
        "height": face.height,
        "count": 3,
        "dtype": "uint8",
        "crs": rasterio.crs.CRS.from_epsg(CRS_EPSG),
        "transform": from_origin(minx, maxy, res, res),
        "compress": "deflate",
        "photometric": "RGB",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            dst.write(data)
            dst.update_tags(
                SCALE=f"1:{layout.scale}", DPI=str(layout.dpi), PAPER=f"{layout.paper} {layout.orientation}"
            )
        return memfile.read()
