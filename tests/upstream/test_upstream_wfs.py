"""WfsClient and WfsSource against MapServer 8 serving real Neuwerk and the demo data; GML parsing; faults."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, box

from cadastre.addresses import parse_address, split_lage
from cadastre.kennzeichen import GemarkungIndex, GemarkungRef, parse_kennzeichen
from wms_clients.base import FieldMapping
from wms_clients.fes import like_pattern
from wms_clients.gml import GmlError, GmlReader, arc_points
from wms_clients.http import UpstreamError, UpstreamSession
from wms_clients.wfs import WfsClient
from wms_clients.wfs_source import WfsSource

NEUWERK_BBOX = (466900.0, 5974300.0, 467300.0, 5974700.0)


def source(url: str, **client_options) -> WfsSource:
    session = UpstreamSession("mapserver-wfs", read_timeout=30, total_timeout=60)
    return WfsSource(WfsClient(url, session, required_typenames=["ave:Flurstueck"], **client_options), attribution="test")


@pytest.fixture(scope="module")
def neuwerk(neuwerk_url):
    return source(neuwerk_url)


def parallel(function, items, workers: int = 4) -> list:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


# ---------------------------------------------------------------------------- Neuwerk, real data

pytestmark = pytest.mark.mapserver


def test_capabilities_name_the_nrw_feature_types(neuwerk):
    caps = neuwerk.client.capabilities()
    assert {"ave:Flurstueck", "ave:GebaeudeBauwerk"} <= set(caps.typenames)
    assert caps.namespaces["ave"].startswith("http")


def test_a_missing_feature_type_is_named(neuwerk_url):
    client = WfsClient(neuwerk_url, required_typenames=["ave:Flurstueck", "ave:KatasterBezirk"])
    with pytest.raises(UpstreamError) as caught:
        client.capabilities()
    assert "ave:KatasterBezirk" in caught.value.message and caught.value.kind == "bad-response"


@pytest.mark.realdata
def test_every_neuwerk_parcel_by_key_with_its_area(neuwerk, neuwerk_parcels):
    def check(row):
        parcel = neuwerk.get(parse_kennzeichen(row["flstkennz"]))
        assert parcel is not None, row["flstkennz"]
        assert parcel.key == row["flstkennz"]
        assert parcel.flaeche_m2 == pytest.approx(row["amtliche_flaeche_m2"])
        # MapServer writes coordinates to the millimetre
        assert parcel.geometry.area == pytest.approx(row["geometry"].area, rel=1e-5, abs=0.01)
        assert parcel.geometry.symmetric_difference(row["geometry"]).area < 0.01 + 1e-5 * row["geometry"].area
        assert parcel.lage == split_lage(row["lagebeztxt"])
        assert parcel.gemarkung_name == "Neuwerk"
        assert parcel.aktualitaet == row["beginnt"][:10]
        assert parcel.kennzeichen.flur is None
        return parcel.key

    assert len(parallel(check, neuwerk_parcels)) == 247


@pytest.mark.realdata
def test_an_unknown_key_is_none(neuwerk):
    assert neuwerk.get(parse_kennzeichen("020125___99999______")) is None


@pytest.mark.realdata
def test_find_by_attributes(neuwerk, neuwerk_parcels):
    all_keys = sorted(row["flstkennz"] for row in neuwerk_parcels)
    found = neuwerk.find(gemarkungsschluessel="020125", limit=1000)
    assert [p.key for p in found] == all_keys
    assert [p.key for p in neuwerk.find(gemarkungsschluessel="020125", limit=10)] == all_keys[:10]
    assert [p.key for p in neuwerk.find(gemarkungsschluessel="020125", zaehler=128)] == ["020125___00128______"]
    assert neuwerk.find(gemarkungsschluessel="020125", zaehler=128, nenner=1) == []
    assert neuwerk.find(gemarkungsschluessel="020125", flur=1) == []
    assert neuwerk.find(gemarkungsschluessel="053144", zaehler=128) == []


@pytest.mark.realdata
def test_at_point_finds_every_neuwerk_parcel(neuwerk, neuwerk_parcels):
    def check(row):
        point = row["geometry"].point_on_surface()
        keys = [p.key for p in neuwerk.at_point(point.x, point.y)]
        assert row["flstkennz"] in keys, (row["flstkennz"], keys)
        return len(keys)

    counts = parallel(check, neuwerk_parcels)
    assert max(counts) <= 2  # only a point on a shared boundary could hit two


@pytest.mark.realdata
def test_bbox_paging_and_totals(neuwerk, neuwerk_parcels):
    area = box(*NEUWERK_BBOX)
    expected = sorted(row["flstkennz"] for row in neuwerk_parcels if row["geometry"].intersects(area))
    seen, offset = [], 0
    while True:
        page, total = neuwerk.in_bbox(NEUWERK_BBOX, limit=7, offset=offset)
        assert total == len(expected)
        if not page:
            break
        seen += [p.key for p in page]
        offset += len(page)
    assert seen == expected
    assert neuwerk.in_bbox(NEUWERK_BBOX, limit=0) == ([], len(expected))
    assert len(neuwerk.map_features(NEUWERK_BBOX).parcels) == len(expected)


@pytest.mark.realdata
def test_parcels_with_holes_keep_them(neuwerk, neuwerk_parcels):
    def holes(geometry):
        parts = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
        return sum(len(part.interiors) for part in parts)

    with_holes = [row for row in neuwerk_parcels if holes(row["geometry"])]
    assert len(with_holes) == 2
    for row in with_holes:
        parcel = neuwerk.get(parse_kennzeichen(row["flstkennz"]))
        assert holes(parcel.geometry) == holes(row["geometry"])
        assert parcel.geometry.area == pytest.approx(row["geometry"].area, rel=1e-6)
        inside_hole = Polygon(row["geometry"].geoms[0].interiors[0]).point_on_surface()
        assert row["flstkennz"] not in [p.key for p in neuwerk.at_point(inside_hole.x, inside_hole.y)]


@pytest.mark.realdata
def test_epsg_4326_axis_order(neuwerk_url, neuwerk_parcels):
    wgs84 = source(neuwerk_url, srs="EPSG:4326")
    for row in neuwerk_parcels[:20]:
        parcel = wgs84.get(parse_kennzeichen(row["flstkennz"]))
        # lat/lon to 6 decimals is ~0.1 m; swapped axes would be thousands of km off
        assert parcel.geometry.hausdorff_distance(row["geometry"]) < 0.2
    point = neuwerk_parcels[0]["geometry"].point_on_surface()
    assert neuwerk_parcels[0]["flstkennz"] in [p.key for p in wgs84.at_point(point.x, point.y)]
    # The same data in EPSG:3857 (east/north, no swap) lands in the same place too.
    mercator = source(neuwerk_url, srs="EPSG:3857")
    parcel = mercator.get(parse_kennzeichen(neuwerk_parcels[0]["flstkennz"]))
    assert parcel.geometry.hausdorff_distance(neuwerk_parcels[0]["geometry"]) < 0.05


@pytest.mark.realdata
def test_by_address_ranks_with_match_address(neuwerk, neuwerk_parcels):
    results = neuwerk.by_address(parse_address("Insel Neuwerk 7"))
    expected = sorted(r["flstkennz"] for r in neuwerk_parcels if "Insel Neuwerk 7" in split_lage(r["lagebeztxt"]))
    best = [p.key for p, score, text in results if score == 3.0]
    assert best == expected and results[0][2] == "Insel Neuwerk 7"
    assert all(score < 3.0 for _, score, _ in results[len(best):])
    suffix = neuwerk.by_address(parse_address("insel neuwerk 9A"))
    assert suffix[0][2] == "Insel Neuwerk 9a" and suffix[0][1] == 3.0
    assert neuwerk.by_address(parse_address("Hauptstraße 1")) == []


@pytest.mark.realdata
def test_gemarkungen_and_info(neuwerk_url, neuwerk, neuwerk_parcels):
    fresh = source(neuwerk_url)  # has seen no parcel yet: looks at the data itself
    ref = fresh.gemarkungen().get("020125")
    assert ref is not None and ref.name == "Neuwerk" and ref.has_flur is False
    assert [r.schluessel for r in neuwerk.gemarkungen().gemarkungen] == ["020125"]
    info = neuwerk.info()
    assert info.data_currency == max(row["beginnt"] for row in neuwerk_parcels)[:10]
    minx, miny, maxx, maxy = info.extent
    for row in neuwerk_parcels:
        bx0, by0, bx1, by1 = row["geometry"].bounds
        assert minx - 1 <= bx0 and miny - 1 <= by0 and bx1 <= maxx + 1 and by1 <= maxy + 1
    assert info.attribution == "test" and info.name.startswith("ALKIS Neuwerk")


@pytest.mark.realdata
def test_gemarkungen_seen_and_configured_are_readable(neuwerk_url, neuwerk_parcels):
    configured = GemarkungIndex([GemarkungRef(land="02", nummer="0125", name="Neuwerk", has_flur=False)])
    session = UpstreamSession("mapserver-wfs", read_timeout=30, total_timeout=60)
    fresh = WfsSource(WfsClient(neuwerk_url, session), gemarkungen=configured)
    assert fresh.configured_gemarkungen is configured and source(neuwerk_url).configured_gemarkungen is None
    assert fresh.gemarkungen_seen == 0
    assert fresh.get(parse_kennzeichen(neuwerk_parcels[0]["flstkennz"])) is not None
    assert fresh.gemarkungen_seen == 1

@pytest.mark.realdata
def test_post_requests_give_the_same_answers(neuwerk_url, neuwerk):
    post = source(neuwerk_url, method="POST")
    key = parse_kennzeichen("020125___00342______")
    assert post.get(key).geometry.equals(neuwerk.get(key).geometry)
    assert [p.key for p in post.in_bbox(NEUWERK_BBOX, 5, 5)[0]] == [p.key for p in neuwerk.in_bbox(NEUWERK_BBOX, 5, 5)[0]]
    assert [p.key for p in post.find(gemarkungsschluessel="020125", zaehler=128)] == ["020125___00128______"]


def test_demo_parcels_with_nenner_holes_and_umlauts(demo_url, demo_facts):
    demo = source(demo_url)
    sliver = parse_kennzeichen(demo_facts["slivers"][0])
    found = demo.find(gemarkungsschluessel=sliver.gemarkungsschluessel, flur=sliver.flur, zaehler=sliver.zaehler, nenner=sliver.nenner)
    assert [p.key for p in found] == [sliver.key]
    with_hole = demo.get(parse_kennzeichen(demo_facts["with_hole"]))
    assert sum(len(g.interiors) for g in with_hole.geometry.geoms) >= 1
    multipart = demo.get(parse_kennzeichen(demo_facts["multipart"]))
    assert len(multipart.geometry.geoms) >= 2
    example = demo_facts["example_address"]
    ranked = demo.by_address(parse_address(example["text"]))
    assert ranked[0][0].key == example["key"] and ranked[0][1] == 3.0
    assert demo.gemarkungen().get(sliver.gemarkungsschluessel).name == with_hole.gemarkung_name


# ---------------------------------------------------------------------------- faults


def fault_source(faults, fault: str) -> WfsSource:
    session = UpstreamSession("faults", read_timeout=2, total_timeout=3, retries=0)
    return WfsSource(WfsClient(faults.url(f"wfs/{fault}"), session))


@pytest.mark.parametrize(
    "fault,kind,said",
    [
        ("ows-exception", "exception-report", "InvalidParameterValue, locator typenames: Feature type ave:Flurstueck is temporarily not available"),
        ("invalid-gml", "bad-response", None),
        ("broken-xml", "bad-response", None),
        ("html", "bad-response", "502 Proxy Error"),
        ("unavailable", "unavailable", "502 Proxy Error"),
    ],
)
def test_wfs_faults_become_upstream_errors(faults, fault, kind, said):
    with pytest.raises(UpstreamError) as caught:
        fault_source(faults, fault).get(parse_kennzeichen("05314403900040______"))
    assert caught.value.kind == kind
    if said:
        assert caught.value.server_message == said or said in caught.value.server_message
    if fault == "invalid-gml":
        assert "invalid GML" in caught.value.message and "not a multiple of srsDimension" in caught.value.message


def test_filters_use_qualified_names_and_declare_the_namespace(faults):
    src = fault_source(faults, "ows-exception")
    with pytest.raises(UpstreamError):
        src.find(gemarkungsschluessel="053144", flur=39, zaehler=40)
    query = faults.requests[-1][1]
    assert query["NAMESPACES"] == "xmlns(ave,http://example.invalid/ave)"
    assert query["SORTBY"] == "ave:flstkennz ASC" and query["COUNT"] == "50"
    assert query["SRSNAME"] == "urn:ogc:def:crs:EPSG::25832"
    root = etree.fromstring(query["FILTER"].encode())
    assert root.nsmap["ave"] == "http://example.invalid/ave"
    values = {
        e.findtext("{http://www.opengis.net/fes/2.0}ValueReference"): e.findtext("{http://www.opengis.net/fes/2.0}Literal")
        for e in root.iter("{http://www.opengis.net/fes/2.0}PropertyIsEqualTo")
    }
    assert values == {"ave:gemaschl": "053144", "ave:flur": "39", "ave:flstnrzae": "40"}


def test_bbox_filter_corners_follow_the_crs_axis_order(faults):
    session = UpstreamSession("faults", read_timeout=2, total_timeout=3, retries=0)
    src = WfsSource(WfsClient(faults.url("wfs/ows-exception"), session, srs="EPSG:4326"))
    with pytest.raises(UpstreamError):
        src.in_bbox((350000.0, 5700000.0, 351000.0, 5701000.0))
    envelope = etree.fromstring(faults.requests[-1][1]["FILTER"].encode()).find(".//{http://www.opengis.net/gml/3.2}Envelope")
    lat, lon = (float(v) for v in envelope.findtext("{http://www.opengis.net/gml/3.2}lowerCorner").split())
    assert 51 < lat < 52 and 6 < lon < 7  # lat first for urn:ogc:def:crs:EPSG::4326
    assert envelope.get("srsName") == "urn:ogc:def:crs:EPSG::4326"


# ---------------------------------------------------------------------------- GML and patterns

GML = 'xmlns:gml="http://www.opengis.net/gml/3.2"'


def read(xml: str, **options):
    return GmlReader(**options).read(etree.fromstring(xml))[0]


def test_polygon_with_hole_and_srs_dimension_3():
    geometry = read(
        f"""<gml:Polygon {GML} srsName="urn:ogc:def:crs:EPSG::25832" srsDimension="3">
          <gml:exterior><gml:LinearRing><gml:posList>0 0 5 10 0 5 10 10 5 0 10 5 0 0 5</gml:posList></gml:LinearRing></gml:exterior>
          <gml:interior><gml:LinearRing><gml:posList>2 2 0 4 2 0 4 4 0 2 2 0</gml:posList></gml:LinearRing></gml:interior>
        </gml:Polygon>"""
    )
    assert geometry.area == pytest.approx(100 - 2) and len(geometry.interiors) == 1


def test_multisurface_in_wgs84_urn_is_swapped_and_override_wins():
    xml = f"""<gml:MultiSurface {GML} srsName="urn:ogc:def:crs:EPSG::4326">
      <gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>
        <gml:posList>53.9 8.4 53.9 8.5 54.0 8.5 53.9 8.4</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
      <gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>
        <gml:pos>53.0 8.0</gml:pos><gml:pos>53.0 8.1</gml:pos><gml:pos>53.1 8.1</gml:pos><gml:pos>53.0 8.0</gml:pos>
        </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
    </gml:MultiSurface>"""
    geometry = read(xml)
    assert isinstance(geometry, MultiPolygon) and len(geometry.geoms) == 2
    assert geometry.bounds == pytest.approx((8.0, 53.0, 8.5, 54.0))
    assert read(xml, axis_order="xy").bounds == pytest.approx((53.0, 8.0, 54.0, 8.5))
    short = xml.replace("urn:ogc:def:crs:EPSG::4326", "EPSG:4326").replace("53.9 8.4 53.9 8.5 54.0 8.5 53.9 8.4", "8.4 53.9 8.5 53.9 8.5 54.0 8.4 53.9")
    assert read(short).geoms[0].bounds == pytest.approx((8.4, 53.9, 8.5, 54.0))  # short form: x/y


def test_gml2_coordinates_and_surface_patches():
    gml2 = """<gml:Polygon xmlns:gml="http://www.opengis.net/gml" srsName="EPSG:25832">
      <gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>0,0 4,0 4,4 0,4 0,0</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs>
    </gml:Polygon>"""
    assert read(gml2).area == 16
    surface = f"""<gml:Surface {GML}><gml:patches><gml:PolygonPatch><gml:exterior><gml:LinearRing>
      <gml:posList>0 0 2 0 2 2 0 0</gml:posList></gml:LinearRing></gml:exterior></gml:PolygonPatch></gml:patches></gml:Surface>"""
    assert read(surface).area == 2


def test_rings_with_arcs_are_linearised():
    xml = f"""<gml:Polygon {GML} srsName="urn:ogc:def:crs:EPSG::25832"><gml:exterior><gml:Ring><gml:curveMember>
      <gml:Curve><gml:segments>
        <gml:LineStringSegment><gml:posList>-10 0 10 0</gml:posList></gml:LineStringSegment>
        <gml:Arc><gml:posList>10 0 0 10 -10 0</gml:posList></gml:Arc>
      </gml:segments></gml:Curve></gml:curveMember></gml:Ring></gml:exterior></gml:Polygon>"""
    geometry = read(xml)
    assert geometry.area == pytest.approx(3.14159265 * 100 / 2, rel=1e-3)
    assert len(arc_points((1, 0), (0, 1), (-1, 0))) > 100


@pytest.mark.parametrize(
    "xml,reason",
    [
        (f'<gml:Polygon {GML}><gml:exterior><gml:LinearRing><gml:posList>0 0 1</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>', "multiple"),
        (f'<gml:Polygon {GML}><gml:exterior><gml:LinearRing><gml:posList>0 0 1 x</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>', "coordinate"),
        (f'<gml:Polygon {GML}/>', "without exterior"),
        (f'<gml:Polygon {GML}><gml:exterior><gml:LinearRing><gml:posList>0 0 1 1</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>', "ring with"),
        (f'<gml:Tin {GML}/>', "not a geometry"),
    ],
)
def test_invalid_gml_says_why(xml, reason):
    with pytest.raises(GmlError, match=reason):
        read(xml)


@pytest.mark.parametrize(
    "text,pattern",
    [("Insel Neuwerk 7", "*i*n*s*e*"), ("Mühlenweg 12a", "*m*h*l*e*"), ("Herthastr. 4", "*h*e*r*t*"), ("Äußere Str.", "*u*e*r*e*")],
)
def test_like_patterns_survive_umlauts_spaces_and_abbreviations(text, pattern):
    assert like_pattern(parse_address(text).street) == pattern


def test_default_field_mapping_is_nrw():
    fields = FieldMapping()
    assert (fields.kennzeichen, fields.gemarkungsnummer, fields.zaehler, fields.nenner, fields.geometry) == (
        "flstkennz", "gemaschl", "flstnrzae", "flstnrnen", "geometrie",
    )
