"""The committed demo Gemarkung (fixtures/demo/demo_gemarkung.gpkg) has every promised property and is reproducible."""

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.raw import read

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
GPKG = DEMO / "demo_gemarkung.gpkg"
FACTS = DEMO / "demo_gemarkung.facts.json"
GENERATOR = DEMO / "generate_demo_data.py"
LAYERS = {"flurstueck": "MultiPolygon", "gebaeude": "MultiPolygon", "adresse": "Point", "strasse": "LineString"}
PARCEL_FIELDS = ["flstkennz", "land", "gemaschl", "gemarkung", "flur", "flurschl", "flstnrzae", "flstnrnen",
                 "flaeche", "lagebeztxt", "tntxt", "aktualit"]
ROADS = {"Straßenverkehr", "Platz"}


def load(path, layer):
    meta, _, wkb, values = read(str(path), layer=layer)
    return dict(zip(meta["fields"], values)), wkb


@pytest.fixture(scope="module")
def facts():
    return json.loads(FACTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data():
    out = {}
    for layer in LAYERS:
        attrs, wkb = load(GPKG, layer)
        out[layer] = (attrs, shapely.from_wkb(wkb), wkb)
    return out


@pytest.fixture(scope="module")
def parcels(data):
    attrs, geoms, _ = data["flurstueck"]
    keys = list(attrs["flstkennz"])
    return {"a": attrs, "g": geoms, "keys": keys, "idx": {k: i for i, k in enumerate(keys)},
            "area": shapely.area(geoms), "tree": shapely.STRtree(geoms)}


def entries(text):
    return [] if text is None else text.split("; ")


def address_texts(data):
    a = data["adresse"][0]
    return [f"{s} {n}" for s, n in zip(a["strassenname"], a["hausnummer"])]


def containing_parcel(parcels, geoms):
    """Index of the one parcel containing each geometry (asserts exactly one)."""
    hit, par = parcels["tree"].query(geoms, predicate="within")
    found = defaultdict(list)
    for h, p in zip(hit.tolist(), par.tolist()):
        found[h].append(p)
    assert all(len(found[i]) == 1 for i in range(len(geoms))), "geometry not inside exactly one parcel"
    return [found[i][0] for i in range(len(geoms))]


def test_file_layers_crs_and_size():
    assert GPKG.stat().st_size < 1.8e6
    assert {name: gtype for name, gtype in pyogrio.list_layers(GPKG)} == LAYERS
    for layer, gtype in LAYERS.items():
        info = pyogrio.read_info(GPKG, layer=layer)
        assert info["crs"] == "EPSG:25832"
        assert info["geometry_type"] == gtype
        xmin, ymin, xmax, ymax = info["total_bounds"]
        assert 352000 <= xmin < xmax <= 355000 and 5702000 <= ymin < ymax <= 5705000


def test_parcel_attributes(parcels):
    a, n = parcels["a"], len(parcels["keys"])
    assert list(a) == PARCEL_FIELDS
    assert n >= 2000
    assert set(a["land"]) == {"05"} and set(a["gemaschl"]) == {"059871"}
    assert set(a["gemarkung"]) == {"Lindenhagen"} and set(a["aktualit"]) == {"2026-10-15"}
    assert len(set(a["flur"].tolist())) >= 3 and set(a["flur"].tolist()) <= {1, 2, 3, 4}
    assert len(set(parcels["keys"])) == n
    for key, flur, flurschl, zae, nen in zip(a["flstkennz"], a["flur"], a["flurschl"], a["flstnrzae"], a["flstnrnen"]):
        assert re.fullmatch(r"059871\d{3}\d{5}(\d{4}|____)__", key), key
        assert flurschl == f"059871{flur:03d}"
        nenner = f"{int(nen):04d}" if nen is not None else "____"
        assert key == f"{flurschl}{int(zae):05d}{nenner}__"
    assert set(a["tntxt"]) >= {"Wohnbaufläche", "Landwirtschaft", "Straßenverkehr", "Grünland", "Wald"}


def test_numbering_zaehler_and_nenner(parcels):
    a = parcels["a"]
    families = defaultdict(list)
    for flur, zae, nen in zip(a["flur"], a["flstnrzae"], a["flstnrnen"]):
        families[(int(flur), int(zae))].append(None if nen is None else int(nen))
    for flur in set(a["flur"].tolist()):
        numbers = sorted(z for f, z in families if f == flur)
        assert numbers == list(range(1, len(numbers) + 1)), f"Zähler of Flur {flur} not 1..n"
    for (flur, zae), nenner in families.items():
        if nenner != [None]:  # a split original: every part has a Nenner, numbered 1..k
            assert None not in nenner and sorted(nenner) == list(range(1, len(nenner) + 1)), (flur, zae, nenner)
    share = np.mean([nen is not None for nen in a["flstnrnen"]])
    assert 0.25 <= share <= 0.35
    assert any(len(v) >= 4 for v in families.values())  # e.g. 123/1 .. 123/4


def test_parcels_valid_and_tile_without_overlap(parcels):
    geoms = parcels["g"]
    assert all(g.geom_type == "MultiPolygon" for g in geoms)
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    left, right = parcels["tree"].query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() <= 0.01
    union = shapely.union_all(geoms)  # no gaps either: one outline without holes
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert abs(union.area - parcels["area"].sum()) < 1.0


def test_official_area(parcels):
    area, flaeche = parcels["area"], parcels["a"]["flaeche"]
    small = area < 1
    assert np.allclose(flaeche[small], np.round(area[small], 1))
    assert (flaeche[~small] == np.round(flaeche[~small])).all()
    diff = np.abs(flaeche - area)
    assert (diff <= 0.005 * area + 0.5).all()
    deviating = diff > 0.5
    assert 1 <= deviating.sum() <= 0.05 * len(area)


def test_parcel_with_hole(parcels, facts):
    g = parcels["g"][parcels["idx"][facts["with_hole"]]]
    holes = [shapely.Polygon(r) for p in g.geoms for r in p.interiors]
    assert holes
    # The hole is filled by another parcel, the enclave.
    enclave = parcels["g"][parcels["idx"][facts["enclave"]]]
    assert enclave.symmetric_difference(holes[0]).area < 0.01


def test_multipart_parcel(parcels, facts):
    g = parcels["g"][parcels["idx"][facts["multipart"]]]
    parts = list(g.geoms)
    assert len(parts) >= 2 and parts[0].disjoint(parts[1])


def test_slivers(parcels, facts):
    assert len(facts["slivers"]) >= 2
    for key in facts["slivers"]:
        i = parcels["idx"][key]
        assert 0 < parcels["area"][i] < 1
        assert parcels["a"]["flaeche"][i] == round(parcels["area"][i], 1)
    assert set(facts["slivers"]) == {k for k, a in zip(parcels["keys"], parcels["area"]) if a < 1}


def test_parcel_over_one_square_km(parcels, facts):
    i = parcels["idx"][facts["over_1km2"]]
    assert parcels["area"][i] > 1e6 and parcels["a"]["flur"][i] in (3, 4)


def test_parcel_with_several_addresses(data, parcels, facts):
    i = parcels["idx"][facts["several_addresses"]]
    texts = entries(parcels["a"]["lagebeztxt"][i])
    assert len(texts) >= 3 and set(texts) <= set(address_texts(data))
    points = data["adresse"][1]
    assert parcels["g"][i].contains(points).sum() >= 3


def test_parcel_without_address(data, parcels, facts):
    i = parcels["idx"][facts["no_address"]]
    assert parcels["a"]["lagebeztxt"][i] is None
    points = data["adresse"][1]
    assert not parcels["g"][i].intersects(points).any()


def test_example_address_with_suffix(data, parcels, facts):
    example = facts["example_address"]
    assert example["text"] == "Mühlenweg 12a"
    texts = address_texts(data)
    points = data["adresse"][1]
    point = points[texts.index(example["text"])]
    assert parcels["g"][parcels["idx"][example["key"]]].contains(point)
    assert example["text"] in entries(parcels["a"]["lagebeztxt"][parcels["idx"][example["key"]]])


def test_addresses(data, parcels):
    a, points, _ = data["adresse"]
    assert list(a) == ["strassenname", "hausnummer", "postleitzahl", "ort"]
    assert set(a["postleitzahl"]) == {"59999"} and set(a["ort"]) == {"Lindenhagen"}
    assert all(re.fullmatch(r"[1-9]\d*[a-z]?", n) for n in a["hausnummer"])
    assert any(n[-1].isalpha() for n in a["hausnummer"])
    texts = address_texts(data)
    assert len(set(texts)) == len(texts)
    assert set(a["strassenname"]) <= set(data["strasse"][0]["name"])
    # Each address lies on the parcel that lists it, inside a building that lists it too.
    for text, pi in zip(texts, containing_parcel(parcels, points)):
        assert text in entries(parcels["a"]["lagebeztxt"][pi])
    b_attrs, buildings, _ = data["gebaeude"]
    tree = shapely.STRtree(buildings)
    hit, bi = tree.query(points, predicate="within")
    assert sorted(hit.tolist()) == list(range(len(points)))
    for h, j in zip(hit, bi):
        assert texts[h] in entries(b_attrs["lagebeztxt"][j])


def test_parcel_lagebeztxt_matches_addresses(data, parcels):
    points = data["adresse"][1]
    on_parcel = defaultdict(set)
    for text, pi in zip(address_texts(data), containing_parcel(parcels, points)):
        on_parcel[pi].add(text)
    for i, text in enumerate(parcels["a"]["lagebeztxt"]):
        if i in on_parcel:
            assert set(entries(text)) == on_parcel[i]
        else:  # no house number: a street or field name, or nothing
            assert text is None or not re.search(r" \d+[a-z]?$", text)


def test_buildings(data, parcels):
    a, geoms, _ = data["gebaeude"]
    assert list(a) == ["gebaeudefunktion", "lagebeztxt"]
    assert shapely.is_valid(geoms).all()
    functions = set(a["gebaeudefunktion"].tolist())
    assert {1000, 2000, 2463} <= functions
    containing_parcel(parcels, geoms)  # each building lies inside one lot
    known = set(address_texts(data))
    assert all(t is None or set(entries(t)) <= known for t in a["lagebeztxt"])
    assert sum(t is None for t in a["lagebeztxt"]) > 0


def test_streets(data, parcels):
    a, lines, _ = data["strasse"]
    names = list(a["name"])
    assert 10 <= len(names) <= 16 and len(set(names)) == len(names)
    assert any(re.search("[äöüß]", n) for n in names)
    for suffix in ("straße", "weg", "platz", "allee"):
        assert any(n.endswith(suffix) for n in names), suffix
    is_road = np.isin(parcels["a"]["tntxt"], list(ROADS))
    roads = shapely.union_all(parcels["g"][is_road]).buffer(0.01)
    for name, line in zip(names, lines):
        assert line.geom_type == "LineString" and line.length > 0
        assert line.difference(roads).length < 0.01, f"{name} leaves the road parcels"
    assert set(parcels["a"]["lagebeztxt"][is_road]) <= set(names)


def test_generator_is_deterministic(tmp_path, data, facts):
    out = tmp_path / "again.gpkg"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True, capture_output=True)
    for layer in LAYERS:
        attrs, wkb = load(out, layer)
        committed_attrs, _, committed_wkb = data[layer]
        assert list(attrs) == list(committed_attrs)
        for name in attrs:
            assert attrs[name].tolist() == committed_attrs[name].tolist(), f"{layer}.{name} differs"
        assert list(wkb) == list(committed_wkb), f"{layer} geometries differ"
    assert json.loads(out.with_name("again.facts.json").read_text(encoding="utf-8")) == facts


# --- Fluren on the map: LocalSource's Flur areas and the map face where two Fluren meet ------------


@pytest.fixture(scope="module")
def demo_source():
    from wms_clients.local import LocalSource, LocalSourceConfig

    return LocalSource(LocalSourceConfig(dataset=GPKG))


@pytest.fixture(scope="module")
def flur_areas(parcels):
    """Each Flur straight from the GeoPackage: the union of its parcels."""
    flur = parcels["a"]["flur"]
    return {int(f): shapely.union_all(parcels["g"][flur == f]) for f in sorted(set(flur.tolist()))}


def test_local_source_has_each_flur_as_the_union_of_its_parcels(demo_source, flur_areas, parcels):
    assert [(f.gemarkungsschluessel, f.nummer) for f in demo_source.fluren] == [("059871", n) for n in flur_areas]
    for flur in demo_source.fluren:
        assert flur.geometry.symmetric_difference(flur_areas[flur.nummer]).area < 0.01
    # map_features gives the Fluren its extent touches, no others
    deep_in_3 = parcels["g"][parcels["idx"]["059871003000900001__"]].centroid
    assert [f.nummer for f in demo_source.map_features(deep_in_3.buffer(10).bounds).fluren] == [3]
    everything = demo_source.info().extent
    assert sorted(f.nummer for f in demo_source.map_features(everything).fluren) == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def where_flur_1_meets_3(demo_source, flur_areas, parcels):
    """A 1:1000 face at 300 dpi centred on the boundary of Flur 1 and Flur 3 beside parcel 90/1 of
    Flur 3 (the citizen's complaint: 90/1–90/3 of Flur 3 stand next to 90 of Flur 1)."""
    from renderers.layout import make_layout
    from renderers.labels import plan_labels
    from renderers.map import draw_map_face

    shared = shapely.line_merge(flur_areas[1].boundary.intersection(flur_areas[3].boundary))
    parcel_90_1 = parcels["g"][parcels["idx"]["059871003000900001__"]]
    centre = shapely.shortest_line(shared, parcel_90_1.centroid).coords[0]
    layout = make_layout("A4", "portrait", 1000, 300, centre)
    features = demo_source.map_features(layout.bbox)
    return layout, features, plan_labels(layout, features), draw_map_face(layout, features), shared


def face_pixels(layout, geometry):
    minx, _, _, maxy = layout.bbox
    res = layout.metres_per_px
    return shapely.transform(geometry, lambda c: np.column_stack(((c[:, 0] - minx) / res, (maxy - c[:, 1]) / res)))


def test_face_draws_the_flur_boundary_along_the_real_boundary(where_flur_1_meets_3, flur_areas):
    from gis_testing import across_line, assert_flur_pattern, flur_band_mask
    from renderers import style

    layout, features, labels, face, shared = where_flur_1_meets_3
    assert sorted(f.nummer for f in features.fluren) == [1, 3]
    mask = flur_band_mask(face, labels)
    # Along the real boundary (projected as the layout defines it, 3 mm off the face edge): the
    # ALKIS dash-and-dots pattern, with the black parcel boundary on top all along.
    inset = shapely.box(*layout.bbox).buffer(-3.0 * layout.scale / 1000, join_style="mitre")
    line = face_pixels(layout, shapely.line_merge(shared.intersection(inset)))
    assert line.geom_type == "LineString" and line.length * 25.4 / 300 > 150  # mm across the face
    reach = layout.px(style.FLUR_LINE_MM) / 2 + 2
    assert_flur_pattern(across_line(mask, line, reach), 300)
    dark = np.asarray(face.convert("L")) < 60
    assert across_line(dark, line, 2).mean() > 0.97
    # ... and the band's colour nowhere else: every such pixel lies within half the band (and a
    # pixel) of a Flur boundary in the data.
    ys, xs = np.nonzero(mask)
    outlines = face_pixels(layout, shapely.union_all([area.boundary for area in flur_areas.values()]))
    assert len(xs) > 1000
    assert shapely.distance(shapely.points(xs + 0.5, ys + 0.5), outlines).max() <= reach


def test_face_names_each_flur_inside_it_beside_the_boundary(where_flur_1_meets_3, flur_areas):
    layout, _, labels, face, shared = where_flur_1_meets_3
    res, (minx, _, _, maxy) = layout.metres_per_px, layout.bbox
    named = {label.text: label for label in labels if label.kind == "flur"}
    assert set(named) == {"Flur 1", "Flur 3"}
    pixels = np.asarray(face.convert("L"))
    for number in (1, 3):
        x0, y0, x1, y1 = named[f"Flur {number}"].box
        ground = shapely.box(minx + x0 * res, maxy - y1 * res, minx + x1 * res, maxy - y0 * res)
        assert flur_areas[number].contains(ground)
        assert ground.distance(shared) < 15 * layout.scale / 1000  # within 15 mm on paper
        assert (pixels[round(y0) : round(y1), round(x0) : round(x1)] < 60).mean() > 0.1  # bold ink
    # no label overlaps another
    boxes = [shapely.box(*label.box) for label in labels]
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    assert (left == right).all()
