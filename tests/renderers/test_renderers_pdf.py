"""The page PDF as a document: metadata, tags over all content, PDF/A-2b requirements (checked with pikepdf,
pdfinfo, pdffonts), the upstream's PNG embedded as it is, and an incremental signature by pyHanko."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageCms
from pikepdf.models.metadata import decode_pdf_date
from render_synth import CENTRE, pick_parcel, town

from renderers import export
from renderers.compose import TitleBlock
from renderers.layout import make_layout
from renderers.map import draw_map_face
from renderers.pdf import DocumentInfo, page_pdf, png_embeddable, read_png

CREATED = dt.datetime(2026, 12, 5, 9, 30, 15, tzinfo=dt.timezone.utc)
URL = "https://kataster.example.de/verify/K7QM4XTP9WRC"


@pytest.fixture(scope="module")
def page():
    """An A4 page at 150 dpi over a synthetic town, its face, parcel and title (an official extract)."""
    layout = make_layout("A4", "portrait", 1000, 150, CENTRE)
    minx, miny, maxx, maxy = layout.bbox
    features = town(CENTRE, maxx - minx, maxy - miny)
    parcel = pick_parcel(features, CENTRE, with_nenner=True)
    title = TitleBlock.for_parcel(parcel, layout, created="2026-12-05", order_number="LK-2026-000123",
                                  office_lines=("Vermessungs- und Katasteramt Musterkreis",),
                                  verification_code="K7QM-4XTP-9WRC", verification_url=URL)
    return layout, draw_map_face(layout, features), parcel, title


def make_pdf(page, face=None, *, watermark=None, lang="de") -> bytes:
    layout, image, parcel, title = page
    info = DocumentInfo(title="Auszug aus der Liegenschaftskarte LK-2026-000123",
                        subject=f"Flurstück {title.flurstueck}, Maßstab 1:1000", author="Vermessungs- und Katasteramt Musterkreis",
                        created=CREATED, lang=lang)
    return page_pdf(layout, image if face is None else face, parcel_geometry=parcel.geometry, title=title,
                    attribution="© Übungsamt, dl-de/zero-2-0", watermark=watermark, heading="Auszug aus der Liegenschaftskarte",
                    info=info, alt_text=f"Liegenschaftskarte mit dem Flurstück {title.flurstueck}, Maßstab 1:1000")


def test_document_metadata_info_and_xmp_agree(page):
    with pikepdf.open(io.BytesIO(make_pdf(page))) as pdf:
        info = pdf.docinfo
        assert str(info.Title) == "Auszug aus der Liegenschaftskarte LK-2026-000123"
        assert str(info.Author) == "Vermessungs- und Katasteramt Musterkreis"
        assert "Flurstück" in str(info.Subject)
        assert decode_pdf_date(str(info.CreationDate)) == CREATED == decode_pdf_date(str(info.ModDate))
        meta = pdf.open_metadata()
        assert meta["dc:title"] == str(info.Title)
        assert meta["dc:creator"] == [str(info.Author)]
        assert meta["pdf:Producer"] == str(info.Producer)
        assert dt.datetime.fromisoformat(meta["xmp:CreateDate"]) == CREATED
        assert set(meta["dc:language"]) == {"de"}
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        # PDF/A: the metadata stream is readable without decoding.
        assert "/Filter" not in pdf.Root.Metadata.stream_dict
        assert str(pdf.Root.Lang) == "de"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (poppler-utils) not installed")
def test_pdfinfo_sees_a_tagged_document_with_its_real_date(page):
    out = subprocess.run(["pdfinfo", "-isodates", "-"], input=make_pdf(page), capture_output=True, check=True).stdout.decode()
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    assert fields["Tagged"].strip() == "yes"
    assert fields["CreationDate"].strip().startswith("2026-12-05T09:30:15")
    assert fields["Title"].strip() == "Auszug aus der Liegenschaftskarte LK-2026-000123"


def marked_content(pdf: pikepdf.Pdf) -> tuple[list[tuple[str, int | None]], list[str]]:
    """(tag, MCID) of every marked-content sequence in the page, and the text operators outside any."""
    sequences, untagged, depth = [], [], 0
    for operands, operator in pikepdf.parse_content_stream(pdf.pages[0]):
        op = str(operator)
        if op in ("BDC", "BMC"):
            depth += 1
            props = operands[1] if op == "BDC" else None
            mcid = int(props.MCID) if isinstance(props, pikepdf.Dictionary) and "/MCID" in props else None
            sequences.append((str(operands[0]), mcid))
        elif op == "EMC":
            depth -= 1
            assert depth >= 0
        elif op in ("Tj", "TJ", "'", '"', "Do", "re", "f", "S", "B") and depth == 0:
            untagged.append(op)
    assert depth == 0
    return sequences, untagged


def test_every_mark_on_the_page_is_tagged_or_an_artifact(page):
    with pikepdf.open(io.BytesIO(make_pdf(page, watermark="Vorschau – kein amtlicher Auszug"))) as pdf:
        sequences, untagged = marked_content(pdf)
        assert untagged == []
        assert ("/Artifact", None) in sequences  # the watermark and the title block's lines
        mcids = [mcid for _, mcid in sequences if mcid is not None]
        assert mcids == list(range(len(mcids)))
        root = pdf.Root.StructTreeRoot
        assert pdf.Root.MarkInfo.Marked is True
        parents = root.ParentTree.Nums[1]
        assert len(parents) == len(mcids)
        document = root.K
        assert document.S == "/Document"
        kids = list(document.K)
        # Every structure element's content is on the page, under the tag the page gives it.
        tags = dict((mcid, tag) for tag, mcid in sequences if mcid is not None)
        for kid in kids:
            for mcid in (kid.K if isinstance(kid.K, pikepdf.Array) else [kid.K]):
                assert tags[int(mcid)] == str(kid.S)
                assert parents[int(mcid)].objgen == kid.objgen
        figures = [kid for kid in kids if kid.S == "/Figure"]
        map_alt = str(figures[0].Alt)
        assert page[3].flurstueck in map_alt and "1:1000" in map_alt
        assert all("/Alt" in figure for figure in figures)
        assert any(URL in str(figure.Alt) for figure in figures)
        assert any(re.fullmatch(r"Nordpfeil \(Gitternord oben\) und Maßstabsleiste \d+ m im Maßstab 1:1000", str(f.Alt))
                   for f in figures)
        assert kids[1].S == "/H1"
        assert pdf.pages[0].obj.StructParents == 0


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="pdffonts (poppler-utils) not installed")
def test_every_font_is_embedded(page):
    out = subprocess.run(["pdffonts", "-"], input=make_pdf(page), capture_output=True, check=True).stdout.decode()
    rows = out.splitlines()[2:]
    assert rows, out
    for row in rows:
        assert "DejaVu" in row, row
        # name, type (two words), encoding, then emb sub uni as yes/no
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, uni) == ("yes", "yes"), row


def test_pdfa_output_intent_is_srgb(page):
    with pikepdf.open(io.BytesIO(make_pdf(page))) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert profile.N == 3
        icc = ImageCms.ImageCmsProfile(io.BytesIO(profile.read_bytes()))
        assert "sRGB" in ImageCms.getProfileDescription(icc)
        # PDF/A-2 forbids encryption and needs a file identifier.
        assert not pdf.is_encrypted
        assert "/ID" in pdf.trailer
        first_id = bytes(pdf.trailer.ID[0])
    # Another page, another file identifier.
    with pikepdf.open(io.BytesIO(make_pdf(page, watermark="Vorschau"))) as other:
        assert bytes(other.trailer.ID[0]) != first_id


def face_stream(data: bytes) -> tuple[pikepdf.Pdf, pikepdf.Stream]:
    """The document (kept open while its stream is read) and its one large image, the map face."""
    pdf = pikepdf.open(io.BytesIO(data))
    images = [obj for obj in pdf.pages[0].Resources.XObject.values() if obj.Subtype == "/Image" and obj.Width > 500]
    assert len(images) == 1
    return pdf, images[0]


@pytest.mark.parametrize("mode", ["RGB", "P", "L"])
def test_png_face_goes_in_as_it_is(page, mode):
    layout, image, _, _ = page
    face = image.convert(mode) if mode != "P" else image.quantize(64)
    buffer = io.BytesIO()
    face.save(buffer, format="PNG", optimize=False)
    png = buffer.getvalue()
    assert png_embeddable(png)
    _, stream = face_stream(make_pdf(page, face=png))
    # The PNG's compressed rows themselves, not a re-encoding of its pixels.
    assert stream.read_raw_bytes() == read_png(png).idat
    assert stream.DecodeParms.Predictor == 15
    shown = pikepdf.PdfImage(stream).as_pil_image().convert("RGB")
    assert np.array_equal(np.asarray(shown), np.asarray(face.convert("RGB")))


def test_png_with_alpha_is_put_on_white_paper(page):
    layout, image, _, _ = page
    rgba = image.convert("RGBA")
    pixels = np.asarray(rgba).copy()
    pixels[:50, :, 3] = 0  # a transparent strip
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    assert not png_embeddable(buffer.getvalue())
    _, stream = face_stream(make_pdf(page, face=buffer.getvalue()))
    shown = np.asarray(pikepdf.PdfImage(stream).as_pil_image().convert("RGB"))
    assert (shown[:50] == 255).all()
    assert np.array_equal(shown[50:], np.asarray(image)[50:])


def test_a_damaged_png_is_refused(page):
    png = export.to_png(page[1])
    with pytest.raises(ValueError):
        read_png(png[: len(png) // 2])
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0xFF
    with pytest.raises(ValueError):
        read_png(bytes(flipped))
    assert not png_embeddable(bytes(flipped))


def test_the_document_can_be_signed_by_pyhanko_afterwards(page, tmp_path):
    """An electronic seal is an incremental update: the PDF as made stays the first bytes of the signed one."""
    pytest.importorskip("pyhanko")
    from seal_support import PASSPHRASE, make_pki, pyhanko_status

    from gis_service.config import SealSettings
    from gis_service.orders.seal import load_sealer

    pki = make_pki()
    (tmp_path / "seal.p12").write_bytes(pki.pkcs12)
    sealer = load_sealer(SealSettings(pkcs12_path=tmp_path / "seal.p12"),
                         environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})

    original = make_pdf(page)
    signed = sealer.seal(original)
    assert signed.startswith(original)
    status = pyhanko_status(signed, pki)
    assert status.intact and status.valid
    # The sealed file still claims PDF/A-2b and keeps its rules: the signature's widget is printable
    # (flag 4), not hidden, and of zero size, which is what lets it go without an appearance stream.
    with pikepdf.open(io.BytesIO(signed)) as sealed:
        assert sealed.open_metadata()["pdfaid:part"] == "2"
        (widget,) = sealed.pages[0].Annots
        assert widget.Subtype == "/Widget" and int(widget.F) & 4 and not int(widget.F) & 2
        assert [float(v) for v in widget.Rect] == [0, 0, 0, 0] or "/AP" in widget
