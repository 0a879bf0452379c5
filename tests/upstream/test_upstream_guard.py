"""Hostile upstreams: image bombs, oversized and endless bodies, DOCTYPEs and entities; linear GML ring joining."""

from __future__ import annotations

import io
import math
import random
import time

import pytest
from lxml import etree
from PIL import Image, ImageFile
from shapely.geometry import Polygon
from upstream_fakes import BILLION_LAUGHS_GML, WFS_CAPABILITIES, png_bomb, png_bytes

from cadastre.kennzeichen import parse_kennzeichen
from wms_clients.gml import GmlReader, join_segments, parse_feature_collection
from wms_clients.http import MIB, UpstreamError, UpstreamResponse, UpstreamSession
from wms_clients.ows import UnsafeXmlError, parse_xml
from wms_clients.wfs import WfsClient
from wms_clients.wfs_source import WfsSource
from wms_clients.wms import WmsClient

KEY = parse_kennzeichen("05314403900040______")
# Pillow warns when it opens the 13000×13000 header; refusing it is what these tests check.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


PILLOW_DEFAULT_LIMIT = int(1024 * 1024 * 1024 // 4 // 3)  # Image.MAX_IMAGE_PIXELS as Pillow ships it

def session(**options) -> UpstreamSession:
    return UpstreamSession("faults", **{"read_timeout": 2, "total_timeout": 5, "retries": 0, **options})


def fault_wms(faults, fault: str, service: str = "wms-large", **options) -> WmsClient:
    return WmsClient(faults.url(f"{service}/{fault}"), ["test"], session(**options))


def fault_wfs(faults, fault: str, **options) -> WfsSource:
    return WfsSource(WfsClient(faults.url(f"wfs/{fault}"), session(**options)))


def raised(call) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------------------- images


def test_an_image_bomb_is_refused_from_its_header_without_decoding(faults, monkeypatch):
    # Pillow's own default: an app built earlier in this process may have set another (it is process-wide).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_DEFAULT_LIMIT)
    decoded = []
    load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size) or load(self))
    client = fault_wms(faults, "bomb")
    for call in (lambda: client.get_map((0.0, 0.0, 297.0, 420.0), 1123, 1587),
                 lambda: client.get_map_encoded((0.0, 0.0, 297.0, 420.0), 1123, 1587)):
        error = raised(call)
        assert error.kind == "too-large"
        assert "13000×13000 pixels instead of 1123×1587 (not decoded)" in error.message
    assert (13000, 13000) not in decoded


def test_a_tiled_getmap_stops_at_the_first_bomb(faults):
    client = fault_wms(faults, "bomb", service="wms")  # MaxWidth 256: 7 × 7 tiles
    assert raised(lambda: client.get_map((0.0, 0.0, 1600.0, 1600.0), 1600, 1600)).kind == "too-large"
    getmaps = faults.hits.get("wms/bomb", 0) - 1  # one was GetCapabilities
    assert getmaps <= 2 * client.tile_workers, f"{getmaps} of 49 tiles asked for"


def test_an_image_over_the_pixel_limit_is_refused_even_at_the_asked_size(faults, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50 * 50)
    error = raised(lambda: fault_wms(faults, "echo").get_map((0.0, 0.0, 100.0, 100.0), 64, 64))
    assert error.kind == "too-large" and "decoding limit of 2500 pixels" in error.message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own error, at twice its limit
    assert raised(lambda: fault_wms(faults, "echo").get_map((0.0, 0.0, 100.0, 100.0), 64, 64)).kind == "too-large"


def test_an_image_mode_that_is_no_map_is_refused_before_decoding():
    client = WmsClient("http://example.invalid/wms", ["test"], format="image/tiff")
    buffer = io.BytesIO()
    Image.new("F", (8, 8)).save(buffer, "TIFF")
    answer = UpstreamResponse("http://example.invalid/wms", 200, {"Content-Type": "image/tiff"}, buffer.getvalue(), 0.0)
    error = raised(lambda: client.decode_image(answer, 8, 8))
    assert error.kind == "bad-response" and "mode F" in error.message
    png = UpstreamResponse("http://example.invalid/wms", 200, {"Content-Type": "image/png"}, png_bytes(8, 8), 0.0)
    assert WmsClient("http://example.invalid/wms", ["test"]).check_image(png, 8, 8).mode == "RGBA"


def test_a_png_is_verified_without_decoding_when_asked(monkeypatch):
    """load=False (the PDF's way): chunks and CRCs checked to the end, no pixel inflated; damage still refused."""
    decoded = []
    load = ImageFile.ImageFile.load  # the decoder (Image.Image.load is also called by Image.open)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or load(self))
    client = WmsClient("http://example.invalid/wms", ["test"])
    rng = random.Random(5)
    noisy = Image.frombytes("RGB", (96, 96), bytes(rng.randrange(256) for _ in range(96 * 96 * 3)))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    data = buffer.getvalue()

    def answer(content: bytes) -> UpstreamResponse:
        return UpstreamResponse("http://example.invalid/wms", 200, {"Content-Type": "image/png"}, content, 0.0)

    image = client.decode_image(answer(data), 96, 96, load=False)
    assert image.size == (96, 96) and decoded == []
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x55  # inside the pixel data: only the CRC tells
    for damaged in (data[: len(data) - 30], bytes(flipped)):
        error = raised(lambda damaged=damaged: client.decode_image(answer(damaged), 96, 96, load=False))
        assert error.kind == "bad-response" and "truncated or corrupt" in error.message
    assert decoded == []
    assert client.decode_image(answer(data), 96, 96).size == (96, 96) and decoded == [(96, 96)]


def test_the_bomb_is_small_on_the_wire_and_huge_decoded(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_DEFAULT_LIMIT)
    data = png_bomb()
    assert len(data) < 1024 * 1024
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (13000, 13000)


# ---------------------------------------------------------------------------- body limits per kind


def test_body_limits_are_per_kind(faults):
    small_maps = fault_wms(faults, "echo", max_body_bytes={"getmap": 100})
    assert small_maps.capabilities().layers  # capabilities have their own, larger limit
    error = raised(lambda: small_maps.get_map((0.0, 0.0, 100.0, 100.0), 64, 64))
    assert error.kind == "too-large" and "limit of 100 for getmap answers" in error.message
    small_capabilities = fault_wms(faults, "echo", max_body_bytes={"capabilities": 500})
    error = raised(small_capabilities.capabilities)
    assert error.kind == "too-large" and "capabilities" in error.message
    assert session().body_limits == {"getmap": 32 * MIB, "getfeature": 32 * MIB, "capabilities": 8 * MIB,
                                     "other": 64 * MIB}
    assert set(session(max_body_bytes=7).body_limits.values()) == {7}
    with pytest.raises(ValueError, match="unknown body kind"):
        session(max_body_bytes={"images": 1})
    with pytest.raises(ValueError, match="body_kind"):
        session().get(faults.url("echo"), body_kind="images")


def test_an_endless_gml_answer_is_cut_off_while_it_streams(faults):
    start = time.monotonic()
    error = raised(lambda: fault_wfs(faults, "endless-gml", max_body_bytes={"getfeature": MIB}).get(KEY))
    assert error.kind == "too-large" and "getfeature" in error.message
    assert time.monotonic() - start < 3
    time.sleep(0.2)  # let the server notice that the client hung up
    # The client stopped reading at 1 MiB; the rest is what socket buffers took before the hang-up.
    assert faults.sent.get("wfs/endless-gml", 0) < 24 * MIB


def test_a_gzip_bomb_counts_its_decoded_bytes(faults):
    error = raised(lambda: fault_wfs(faults, "gzip-bomb").get(KEY))  # 96 MiB in 100 kB of gzip, 32 MiB allowed
    assert error.kind == "too-large"


# ---------------------------------------------------------------------------- DOCTYPE and entities


@pytest.mark.parametrize("fault", ["billion-laughs", "external-entity"])
def test_gml_with_a_doctype_is_refused(faults, fault):
    error = raised(lambda: fault_wfs(faults, fault).get(KEY))
    assert error.kind == "unsafe-xml" and "GetFeature refused" in error.message


@pytest.mark.parametrize("service", ["wms", "wfs"])
def test_capabilities_with_an_entity_never_reach_owslib(faults, monkeypatch, service):
    read = []
    monkeypatch.setattr(f"wms_clients.{service}.{'WebMapService' if service == 'wms' else 'WebFeatureService'}",
                        lambda *args, **kwargs: read.append(args))
    if service == "wms":
        client = fault_wms(faults, "entity-capabilities", service="wms")
    else:
        client = WfsClient(faults.url("wfs/entity-capabilities"), session())
    error = raised(client.capabilities)
    assert error.kind == "unsafe-xml" and "GetCapabilities refused" in error.message
    assert read == []


def test_parse_xml_refuses_entities_and_doctypes_in_any_encoding():
    internal = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'.encode("utf-16")
    external = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>'
    for document in (BILLION_LAUGHS_GML, internal, external.encode("utf-16")):
        with pytest.raises(UnsafeXmlError):
            parse_xml(document)
    for document in (BILLION_LAUGHS_GML, internal):  # entities: refused even where a DOCTYPE may be
        with pytest.raises(UnsafeXmlError, match="entity"):
            parse_xml(document, doctype=True)
    assert parse_xml(external.encode("utf-16"), doctype=True).tag == "a"  # named, never loaded
    with pytest.raises(UnsafeXmlError):
        parse_feature_collection(BILLION_LAUGHS_GML, GmlReader())
    assert etree.QName(parse_xml(WFS_CAPABILITIES)).localname == "WFS_Capabilities"
    with pytest.raises(etree.XMLSyntaxError):  # an entity nobody declared is not well-formed
        parse_xml(b"<a>&b;</a>")


@pytest.mark.mapserver
def test_wms_1_1_1_capabilities_and_reports_naming_their_dtd_are_read(demo_url):
    # MapServer (like GeoServer) writes <!DOCTYPE WMT_MS_Capabilities SYSTEM "…dtd" [<!ELEMENT …>]>.
    client = WmsClient(demo_url, ["adv_alkis_flurstuecke"], UpstreamSession("mapserver", read_timeout=30),
                       version="1.1.1")
    assert b"<!DOCTYPE WMT_MS_Capabilities" in client.capabilities().raw
    assert client.get_map((352750.0, 5703200.0, 352950.0, 5703400.0), 100, 100).size == (100, 100)
    client.layers = ["nope"]  # after the capabilities check, so that the server answers with a report
    wrong = client
    error = raised(lambda: wrong.get_map((352750.0, 5703200.0, 352950.0, 5703400.0), 100, 100))
    assert error.kind == "exception-report" and "LayerNotDefined" in error.server_message


# ---------------------------------------------------------------------------- GML ring joining

GML = 'xmlns:gml="http://www.opengis.net/gml/3.2"'
SEGMENTS = 20_000


def regular_polygon(n: int, radius: float = 1000.0) -> list[tuple[float, float]]:
    # Rounded, so the text written and the numbers read back are the same floats.
    return [(round(radius * math.cos(2 * math.pi * i / n), 3), round(radius * math.sin(2 * math.pi * i / n), 3))
            for i in range(n)]


def ring_gml(parts: list[list[tuple[float, float]]], as_curve: bool) -> str:
    def pos_list(points):
        return " ".join(f"{x} {y}" for x, y in points)

    if as_curve:
        segments = "".join(f"<gml:LineStringSegment><gml:posList>{pos_list(p)}</gml:posList></gml:LineStringSegment>"
                           for p in parts)
        members = f"<gml:curveMember><gml:Curve><gml:segments>{segments}</gml:segments></gml:Curve></gml:curveMember>"
    else:
        members = "".join(f"<gml:curveMember><gml:LineString><gml:posList>{pos_list(p)}</gml:posList></gml:LineString>"
                          "</gml:curveMember>" for p in parts)
    return (f'<gml:Polygon {GML} srsName="urn:ogc:def:crs:EPSG::25832"><gml:exterior><gml:Ring>{members}'
            "</gml:Ring></gml:exterior></gml:Polygon>")


@pytest.mark.parametrize("as_curve", [True, False], ids=["curve-segments", "ring-members"])
def test_twenty_thousand_segments_join_into_the_ring(as_curve):
    corners = regular_polygon(SEGMENTS)
    parts = [[corners[i], corners[(i + 1) % SEGMENTS]] for i in range(SEGMENTS)]
    geometry = GmlReader().read(etree.fromstring(ring_gml(parts, as_curve)))[0]
    assert list(geometry.exterior.coords) == [*corners, corners[0]]
    assert geometry.area == pytest.approx(Polygon(corners).area)


def test_segments_out_of_order_or_reversed_are_joined_by_their_endpoints():
    corners = regular_polygon(SEGMENTS)
    parts = [[corners[i], corners[(i + 1) % SEGMENTS]] for i in range(SEGMENTS)]
    shuffled = [parts[0]] + random.Random(7).sample(parts[1:], SEGMENTS - 1)
    shuffled = [p[::-1] if i % 3 == 2 else p for i, p in enumerate(shuffled)]
    assert join_segments(shuffled) == [*corners, corners[0]]


def test_joining_keeps_shared_points_once_and_gaps_as_they_were():
    assert join_segments([[(0, 0), (1, 0)], [(1, 0), (1, 1)], [(1, 1), (0, 0)]]) == [(0, 0), (1, 0), (1, 1), (0, 0)]
    assert join_segments([[(0, 0), (1, 0)], [(5, 5), (6, 5)]]) == [(0, 0), (1, 0), (5, 5), (6, 5)]
    assert join_segments([[], [(0, 0), (1, 0)], []]) == [(0, 0), (1, 0)]
    assert join_segments([]) == []
