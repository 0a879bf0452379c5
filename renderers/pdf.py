"""The page as a PDF document: the map face an image at exact size, the furniture vectors and real text (reportlab), then tags, metadata and PDF/A-2b (pikepdf)."""

from __future__ import annotations

import io
import logging
import math
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pikepdf
import shapely
from PIL import Image, ImageCms
from pikepdf import Array, Dictionary, Name, String
from reportlab import rl_config

import catalogues
from renderers import export, fonts, furniture, style
from renderers.furniture import Item, TitleBlock
from renderers.layout import Layout

log = logging.getLogger(__name__)

# reportlab writes its streams in ASCII85 unless told not to; pikepdf would only undo it again.
rl_config.useA85 = 0

FACE_XOBJECT = "/MapFace"
# The highlight's hatching lies over its tint: this alpha makes the two together the raster's hatch alpha.
HATCH_OVER_TINT_ALPHA = 1 - (1 - style.HIGHLIGHT_HATCH_ALPHA) / (1 - style.HIGHLIGHT_FILL_ALPHA)


@dataclass(frozen=True)
class DocumentInfo:
    """What the document says about itself: Info dictionary, XMP metadata and the catalogue's language."""

    title: str
    subject: str
    author: str
    created: datetime  # timezone-aware
    lang: str = "de"
    keywords: str = ""
    creator: str = "gis-service"


def page_pdf(
    layout: Layout,
    face: Image.Image | bytes | PngData,
    *,
    parcel_geometry,
    title: TitleBlock,
    attribution: str,
    watermark: str | None,
    heading: str,
    info: DocumentInfo,
    alt_text: str,
) -> bytes:
    """One tagged PDF/A-2b page exactly the paper size.

    `face` is the map face as PNG bytes (embedded as they are when the PNG allows it), a PNG
    already read (read_png; it must then be embeddable) or an image; it is placed at its natural
    size (pixels × 72 / dpi points), so printing at 100 % reproduces the scale. Everything else
    is drawn from furniture.page_items, as the raster page is.
    """
    qr_alt = None
    if title.verification_url:
        qr_alt = catalogues.text("pdf_qr_alt", info.lang, url=title.verification_url)
    drawing = _draw(layout, parcel_geometry, furniture.page_items(layout, title, attribution, heading),
                    watermark, info.lang, alt_text, qr_alt)
    return _finish(drawing, face, info)


# --- drawing (reportlab) ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawing:
    data: bytes
    # (structure type, marked-content id, alternative text) in reading order
    elements: list[tuple[str, int, str | None]]


class _Painter:
    """Page pixels → points on a reportlab canvas, with marked content for the structure tree."""

    def __init__(self, canvas, layout: Layout):
        self.canvas = canvas
        self.k = export.POINTS_PER_INCH / layout.dpi
        self.height = export.page_size_pt(layout)[1]
        self.next_mcid = 0

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return x * self.k, self.height - y * self.k

    def begin(self, tag: str) -> int:
        mcid = self.next_mcid
        self.next_mcid += 1
        self.canvas.addLiteral(f"/{tag} <</MCID {mcid}>> BDC")
        return mcid

    def begin_artifact(self, subtype: str | None = None) -> None:
        if subtype:
            self.canvas.addLiteral(f"/Artifact <</Type /Pagination /Subtype /{subtype}>> BDC")
        else:
            self.canvas.addLiteral("/Artifact BMC")

    def end(self) -> None:
        self.canvas.addLiteral("EMC")

    def colour(self, rgb, *, stroke: bool = False) -> None:
        r, g, b = (v / 255 for v in rgb)
        (self.canvas.setStrokeColorRGB if stroke else self.canvas.setFillColorRGB)(r, g, b)

    def filled_boxes(self, boxes: list[furniture.Box]) -> None:
        """Boxes of one fill colour as one path: a QR code's hundreds of modules cost one fill, and
        writing the operators here is ten times faster than reportlab's number formatting."""
        r, g, b = (v / 255 for v in boxes[0].fill or style.BLACK)
        rects = []
        for box in boxes:
            x, y = self.pt(box.x0, box.y1)
            rects.append(f"{x:.3f} {y:.3f} {(box.x1 - box.x0) * self.k:.3f} {(box.y1 - box.y0) * self.k:.3f} re")
        self.canvas.addLiteral(f"q {r:.4f} {g:.4f} {b:.4f} rg\n" + "\n".join(rects) + "\nf Q")

    def item(self, item: Item) -> None:
        c = self.canvas
        if isinstance(item, furniture.Box):
            x, y = self.pt(item.x0, item.y1)
            w, h = (item.x1 - item.x0) * self.k, (item.y1 - item.y0) * self.k
            if item.fill is not None:
                self.colour(item.fill)
                c.rect(x, y, w, h, stroke=0, fill=1)
            if item.outline is not None and item.width > 0:
                # Inside the box, as on the raster page: the box's outer edges stay where they are.
                lw = item.width * self.k
                self.colour(item.outline, stroke=True)
                c.setLineWidth(lw)
                c.setLineJoin(0)
                c.rect(x + lw / 2, y + lw / 2, w - lw, h - lw, stroke=1, fill=0)
        elif isinstance(item, furniture.Shape):
            path = c.beginPath()
            path.moveTo(*self.pt(*item.points[0]))
            for point in item.points[1:]:
                path.lineTo(*self.pt(*point))
            if item.closed:
                path.close()
            if item.fill is not None:
                self.colour(item.fill)
            if item.outline is not None:
                self.colour(item.outline, stroke=True)
                c.setLineWidth(item.width * self.k)
                c.setLineJoin(1)
            c.drawPath(path, stroke=int(item.outline is not None), fill=int(item.fill is not None and item.closed))
        else:
            self.text(item.text, item.face, item.cap, item.colour, item.x, item.y, item.anchor, item.angle)

    def text(self, text: str, face: str, cap: float, colour, x: float, y: float, anchor: str, angle: float) -> None:
        c = self.canvas
        size = cap / fonts.cap_height_ratio(face) * self.k
        c.setFont(_font_name(face), size)
        self.colour(colour)
        px, py = self.pt(x, y)
        if angle:
            # The middle of the cap height at (x, y), as the raster page turns its labels.
            c.saveState()
            c.translate(px, py)
            c.rotate(angle)
            c.drawCentredString(0, -cap * self.k / 2, text)
            c.restoreState()
        elif anchor == "ms":
            c.drawCentredString(px, py, text)
        else:
            c.drawString(px, py, text)


def _draw(layout: Layout, parcel_geometry, items: list[Item], watermark: str | None, lang: str,
          alt_text: str, qr_alt: str | None) -> _Drawing:
    from reportlab.pdfgen import canvas as rl_canvas

    out = io.BytesIO()
    # The initial font is one of ours: reportlab's default Helvetica would sit unembedded in the page.
    c = rl_canvas.Canvas(out, pagesize=export.page_size_pt(layout), pageCompression=1, invariant=1,
                         initialFontName=_font_name("regular"), initialFontSize=10)
    p = _Painter(c, layout)
    elements: list[tuple[str, int, str | None]] = []

    # The map: face image, highlight, frame, ticks and coordinate labels are one figure.
    left, top, right, bottom = layout.map_face_px
    figure = p.begin("Figure")
    x, y = p.pt(left, bottom)
    # The image itself is added by _finish (as the upstream's PNG data where it can be).
    c.addLiteral(f"q {(right - left) * p.k:.4f} 0 0 {(bottom - top) * p.k:.4f} {x:.4f} {y:.4f} cm {FACE_XOBJECT} Do Q")
    if parcel_geometry is not None and not parcel_geometry.is_empty:
        _highlight(p, layout, parcel_geometry)
    for item in items:
        if item.group == furniture.MAP:
            p.item(item)
    p.end()
    elements.append(("Figure", figure, alt_text))

    if watermark:
        mark = furniture.watermark(watermark, right - left, bottom - top)
        p.begin_artifact("Watermark")
        c.saveState()
        c.setFillAlpha(mark.alpha)
        p.text(mark.text, "bold", mark.cap, mark.colour, (left + right) / 2, (top + bottom) / 2, "mm", mark.angle)
        c.restoreState()
        p.end()

    p.begin_artifact()
    for item in items:
        if item.group == furniture.BORDER:
            p.item(item)
    p.end()

    for item in items:
        if item.group == furniture.TEXT:
            mcid = p.begin(item.role)
            p.item(item)
            p.end()
            elements.append((item.role, mcid, None))

    graphics = [item for item in items if item.group == furniture.GRAPHICS]
    if graphics:
        mcid = p.begin("Figure")
        for item in graphics:
            p.item(item)
        p.end()
        elements.append(("Figure", mcid, _graphics_alt(graphics, lang)))

    code = [item for item in items if item.group == furniture.QR]
    if code:
        mcid = p.begin("Figure")
        p.filled_boxes(code)
        p.end()
        elements.append(("Figure", mcid, qr_alt))

    c.showPage()
    c.save()
    return _Drawing(out.getvalue(), elements)


def _graphics_alt(items: list[Item], lang: str) -> str:
    texts = [item.text.strip() for item in items if isinstance(item, furniture.Text)]
    scale = next((t for t in texts if t.startswith("1:")), "")
    numbers = [t for t in texts if t and t[0].isdigit() and not t.startswith("1:")]
    length = f"{numbers[-1]} m" if numbers else ""
    return catalogues.text("pdf_graphics_alt", lang, length=length, scale=scale).strip()


def _highlight(p: _Painter, layout: Layout, geometry) -> None:
    """Tint, hatching and outline of the parcel as vectors, clipped to the face (see compose.draw_highlight)."""
    c = p.canvas
    sizes = furniture.highlight_sizes(layout)
    left, top, right, bottom = layout.map_face_px
    polygons = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and not g.is_empty]
    if not polygons:
        return

    def ring_path(path, ring) -> None:
        coords = shapely.get_coordinates(ring)
        for i, (gx, gy) in enumerate(coords):
            point = p.pt(*layout.to_px(gx, gy))
            (path.moveTo if i == 0 else path.lineTo)(*point)
        path.close()

    def parcel_path():
        path = c.beginPath()
        for polygon in polygons:
            ring_path(path, polygon.exterior)
            for hole in polygon.interiors:
                ring_path(path, hole)
        return path

    c.saveState()
    face = c.beginPath()
    x0, y0 = p.pt(left, bottom)
    face.rect(x0, y0, (right - left) * p.k, (bottom - top) * p.k)
    c.clipPath(face, stroke=0, fill=0)

    c.saveState()
    c.clipPath(parcel_path(), stroke=0, fill=0, fillMode=1)  # even-odd: holes stay out
    p.colour(style.HIGHLIGHT_OUTLINE)
    c.setFillAlpha(style.HIGHLIGHT_FILL_ALPHA)
    c.rect(x0, y0, (right - left) * p.k, (bottom - top) * p.k, stroke=0, fill=1)
    # Hatching in page coordinates: bands where (x + y) mod spacing < width, as on the raster page.
    minx, miny, maxx, maxy = shapely.bounds(shapely.clip_by_rect(geometry, *layout.bbox))
    if not math.isnan(minx):
        ax, ay = layout.to_px(minx, maxy)
        bx, by = layout.to_px(maxx, miny)
        spacing, width = sizes.hatch_spacing, sizes.hatch_width
        p.colour(style.HIGHLIGHT_OUTLINE, stroke=True)
        c.setStrokeAlpha(HATCH_OVER_TINT_ALPHA)
        c.setLineWidth(width / math.sqrt(2) * p.k)
        c.setLineCap(2)
        hatch = c.beginPath()
        start = math.floor((ax + ay) / spacing) * spacing
        for s in range(int(start), int(bx + by) + spacing, spacing):
            centre = s + width / 2
            hatch.moveTo(*p.pt(centre - ay + 1, ay - 1))
            hatch.lineTo(*p.pt(centre - by - 1, by + 1))
        c.drawPath(hatch, stroke=1, fill=0)
    c.restoreState()

    # The outline with its white halo, over the whole rings: the face clip cuts it at the edge.
    c.setLineJoin(1)
    c.setLineCap(1)
    for width, colour in ((sizes.outline + 2 * sizes.halo, style.HIGHLIGHT_HALO), (sizes.outline, style.HIGHLIGHT_OUTLINE)):
        p.colour(colour, stroke=True)
        c.setLineWidth(width * p.k)
        c.drawPath(parcel_path(), stroke=1, fill=0)
    c.restoreState()


@cache
def _font_name(face: str) -> str:
    """The reportlab name of a DejaVu face, registered (and so embedded) on first use."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = fonts.font_path(face)
    if path is None:
        log.warning("DejaVu %s not found: the PDF uses Helvetica, not embedded (not PDF/A)", face)
        return "Helvetica-Bold" if "bold" in face else "Helvetica"
    name = f"DejaVu-{face}"
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


# --- the document (pikepdf) ---------------------------------------------------------------------


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile made locally by LittleCMS (Pillow), for the PDF/A output intent."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _finish(drawing: _Drawing, face: Image.Image | bytes | PngData, info: DocumentInfo) -> bytes:
    pdf = pikepdf.open(io.BytesIO(drawing.data))
    page = pdf.pages[0]
    resources = page.obj.Resources
    if "/XObject" not in resources:
        resources.XObject = Dictionary()
    resources.XObject[FACE_XOBJECT] = face_xobject(pdf, face)
    _tag(pdf, page, drawing.elements, info)
    _metadata(pdf, info)
    out = io.BytesIO()
    # Streams already deflated (the face above all) are copied, not recompressed.
    # The file identifier is the hash of the content: two extracts never share one, one extract keeps its
    # own (qpdf would keep the first half of reportlab's, which is the same for every document).
    del pdf.trailer["/ID"]
    pdf.save(out, compress_streams=True, recompress_flate=False, object_stream_mode=pikepdf.ObjectStreamMode.generate,
             deterministic_id=True)
    return out.getvalue()


@dataclass(frozen=True)
class PngData:
    """What a PDF image needs of a PNG: header fields, palette and the deflated pixel rows."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlace: int
    palette: bytes
    transparency: bytes | None
    idat: bytes

    @property
    def embeddable(self) -> bool:
        """Whether the rows can go into the PDF as they are: not interlaced and without alpha."""
        return self.interlace == 0 and self.colour_type in (0, 2, 3) and self.transparency is None


def read_png(data: bytes) -> PngData:
    """The chunks of a PNG, checked (signature, CRCs, IEND), without inflating the pixels."""
    if not data.startswith(export.PNG_SIGNATURE):
        raise ValueError("not a PNG")
    pos, header, palette, trns, idat = 8, None, b"", None, []
    while True:
        if pos + 8 > len(data):
            raise ValueError("PNG ends before IEND")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError("PNG is truncated")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(body, zlib.crc32(kind)) != crc:
            raise ValueError(f"PNG chunk {kind!r} is corrupt")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise ValueError("PNG without header or pixels")
    width, height, depth, colour_type, _, _, interlace = header
    return PngData(width, height, depth, colour_type, interlace, palette, trns, b"".join(idat))


def png_embeddable(data: bytes) -> bool:
    """Whether a PNG's pixel data can go into a PDF as it is (see face_xobject)."""
    try:
        return read_png(data).embeddable
    except ValueError:
        return False


def face_xobject(pdf: pikepdf.Pdf, face: Image.Image | bytes | PngData) -> pikepdf.Stream:
    """The map face as an image XObject. A PNG's deflated rows are PDF's Flate with PNG predictors,
    so a PNG without alpha or interlacing goes in as it is; anything else is encoded once, losslessly.
    A PNG already read (PngData) is not read again; it has no pixels to decode, so it must be embeddable."""
    if isinstance(face, PngData) and not face.embeddable:
        raise ValueError("a PNG read beforehand must be embeddable (not interlaced, without alpha)")
    png = face if isinstance(face, PngData) else read_png(face) if isinstance(face, bytes) else None
    if png is None or not png.embeddable:
        image = face if isinstance(face, Image.Image) else _decoded(face)
        png = read_png(export.to_png(image if image.mode in ("RGB", "L") else image.convert("RGB")))
    colours = {0: 1, 2: 3, 3: 1}[png.colour_type]
    if png.colour_type == 3:
        colour_space = Array([Name.Indexed, Name.DeviceRGB, len(png.palette) // 3 - 1, String(png.palette)])
    else:
        colour_space = Name.DeviceRGB if colours == 3 else Name.DeviceGray
    stream = pikepdf.Stream(pdf, png.idat)
    stream.Type = Name.XObject
    stream.Subtype = Name.Image
    stream.Width, stream.Height = png.width, png.height
    stream.ColorSpace = colour_space
    stream.BitsPerComponent = png.bit_depth
    stream.Filter = Name.FlateDecode
    stream.DecodeParms = Dictionary(Predictor=15, Colors=colours, BitsPerComponent=png.bit_depth, Columns=png.width)
    return stream


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        paper.alpha_composite(image.convert("RGBA"))
        image = paper
    return image.convert("RGB")


def _tag(pdf: pikepdf.Pdf, page: pikepdf.Page, elements, info: DocumentInfo) -> None:
    """A structure tree (Document → Figure / H1 / P) over the marked content of the page."""
    root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array()))
    root.K = document
    by_mcid: dict[int, pikepdf.Object] = {}
    for role, mcid, alt in elements:
        element = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + role), P=document, Pg=page.obj,
                                               K=mcid))
        if alt:
            element.Alt = String(alt)
        document.K.append(element)
        by_mcid[mcid] = element
    parents = Array([by_mcid[i] for i in range(len(by_mcid))])
    root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array([0, pdf.make_indirect(parents)])))
    root.ParentTreeNextKey = 1
    page.obj.StructParents = 0
    page.obj.Tabs = Name.S
    pdf.Root.StructTreeRoot = root
    pdf.Root.MarkInfo = Dictionary(Marked=True)
    pdf.Root.Lang = String(info.lang)
    pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)


def _metadata(pdf: pikepdf.Pdf, info: DocumentInfo) -> None:
    """Info dictionary and XMP in agreement, PDF/A-2b identification and the sRGB output intent."""
    created = pikepdf.models.metadata.encode_pdf_date(info.created)
    pdf.docinfo = pdf.make_indirect(Dictionary(
        Title=String(info.title), Subject=String(info.subject), Author=String(info.author),
        Creator=String(info.creator), Producer=String(f"{info.creator} (reportlab, pikepdf)"),
        CreationDate=String(created), ModDate=String(created),
        **({"Keywords": String(info.keywords)} if info.keywords else {}),
    ))
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta.load_from_docinfo(pdf.docinfo)
        meta["dc:language"] = [info.lang]
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
    profile = pikepdf.Stream(pdf, srgb_profile())
    profile.N = 3
    pdf.Root.OutputIntents = Array([Dictionary(
        Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=String("sRGB IEC61966-2.1"),
        Info=String("sRGB IEC61966-2.1"), RegistryName=String("http://www.color.org"), DestOutputProfile=profile,
    )])
