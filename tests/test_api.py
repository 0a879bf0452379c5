"""The JSON API on the demo data: parcels, search, previews and the errors people get."""

import io

import pytest
from PIL import Image
from shapely.geometry import shape

KEY_FORMS = ["{key}", "{dashed}", "{spaced}", "{label}"]


def first_parcel_with_nenner(client):
    body = client.get("/api/v1/parcels?gemarkung=Lindenhagen&flur=1&limit=100").get_json()
    return next(f for f in body["parcels"] if f["properties"]["nenner"])


def test_parcel_by_key_in_every_form(demo_client):
    feature = first_parcel_with_nenner(demo_client)
    p = feature["properties"]
    forms = [
        p["kennzeichen"],
        f"{p['kennzeichen'][:2]}-{p['kennzeichen'][2:6]}-{p['kennzeichen'][6:9]}-{p['kennzeichen'][9:14]}/{p['kennzeichen'][14:18]}",
        f"{p['gemarkungsnummer']} {p['flur']} {p['zaehler']}/{p['nenner']}",
        p["label"],
    ]
    for form in forms:
        response = demo_client.get(f"/api/v1/parcels/{form}")
        assert response.status_code == 200, (form, response.get_json())
        assert response.mimetype == "application/geo+json"
        body = response.get_json()
        assert body["properties"]["kennzeichen"] == p["kennzeichen"]
    assert set(p) >= {"kennzeichen", "gemarkungsnummer", "gemarkung", "flur", "zaehler", "nenner", "label", "flaeche_m2", "lage"}
    assert p["gemarkung"] == "Lindenhagen"
    assert p["label"] == f"Gemarkung Lindenhagen, Flur {p['flur']}, Flurstück {p['zaehler']}/{p['nenner']}"


def test_geometry_in_native_crs_and_wgs84(demo_client):
    feature = first_parcel_with_nenner(demo_client)
    key = feature["properties"]["kennzeichen"]
    native = shape(demo_client.get(f"/api/v1/parcels/{key}").get_json()["geometry"])
    wgs84 = shape(demo_client.get(f"/api/v1/parcels/{key}?crs=EPSG:4326").get_json()["geometry"])
    assert 300_000 < native.centroid.x < 900_000 and 5_200_000 < native.centroid.y < 6_200_000
    assert 5 < wgs84.centroid.x < 16 and 47 < wgs84.centroid.y < 56  # lon, lat in Germany
    # Area is kept within rounding after the round trip of the point search in EPSG:4326.
    body = demo_client.get(f"/api/v1/parcels?x={wgs84.representative_point().x}&y={wgs84.representative_point().y}&crs=EPSG:4326").get_json()
    assert key in [f["properties"]["kennzeichen"] for f in body["parcels"]]


def test_unknown_parcel_is_404_and_malformed_is_400_in_german_and_english(demo_client):
    response = demo_client.get("/api/v1/parcels/05987100199999______")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "nicht gefunden" in response.get_json()["detail"]
    response = demo_client.get("/api/v1/parcels/quatsch", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == 400 and "not a parcel reference" in body["detail"]


def test_search_by_address_with_folded_spelling(demo_client, demo_facts):
    example = demo_facts["example_address"]
    street, number = example["text"].rsplit(" ", 1)
    typed = street.lower().replace("ß", "ss").replace("ü", "ue").replace("straße", "str.") + " " + number[:-1] + " " + number[-1].upper()
    body = demo_client.get("/api/v1/parcels", query_string={"q": typed}).get_json()
    assert body["total"] >= 1
    assert body["parcels"][0]["properties"]["kennzeichen"] == example["key"]


def test_address_without_number_is_ambiguous(demo_client, demo_facts):
    street = demo_facts["example_address"]["text"].rsplit(" ", 1)[0]
    body = demo_client.get("/api/v1/parcels", query_string={"q": street}).get_json()
    assert body["total"] > 1 and body["ambiguous"] is True


def test_search_by_attributes(demo_client):
    feature = first_parcel_with_nenner(demo_client)
    p = feature["properties"]
    body = demo_client.get(
        "/api/v1/parcels",
        query_string={"gemarkung": "9871", "flur": p["flur"], "zaehler": p["zaehler"], "nenner": p["nenner"]},
    ).get_json()
    assert [f["properties"]["kennzeichen"] for f in body["parcels"]] == [p["kennzeichen"]]
    siblings = demo_client.get(
        "/api/v1/parcels", query_string={"gemarkung": "lindenhagen", "flur": p["flur"], "zaehler": p["zaehler"]}
    ).get_json()
    assert siblings["total"] >= 1
    assert all(f["properties"]["zaehler"] == p["zaehler"] for f in siblings["parcels"])


def test_search_by_point_and_bbox(demo_client):
    feature = first_parcel_with_nenner(demo_client)
    geometry = shape(feature["geometry"])
    inside = geometry.representative_point()
    body = demo_client.get(f"/api/v1/parcels?x={inside.x}&y={inside.y}").get_json()
    assert [f["properties"]["kennzeichen"] for f in body["parcels"]] == [feature["properties"]["kennzeichen"]]
    minx, miny, maxx, maxy = geometry.bounds
    body = demo_client.get(f"/api/v1/parcels?bbox={minx},{miny},{maxx},{maxy}&limit=100").get_json()
    keys = [f["properties"]["kennzeichen"] for f in body["parcels"]]
    assert feature["properties"]["kennzeichen"] in keys and body["total"] >= len(keys)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?bbox=1,2,3",
        "?bbox=5,5,1,1",
        "?bbox=a,b,c,d",
        "?x=abc&y=1",
        "?x=nan&y=1",
        "?x=1&y=1&crs=EPSG:9999999",
        "?gemarkung=Atlantis",
        "?gemarkung=9871&flur=abc",
        "?q=" + "x" * 500,
        "?limit=100000&q=a",
        "?q=Flurstück 0",
    ],
)
def test_bad_search_input_gets_a_clear_4xx(demo_client, query):
    response = demo_client.get("/api/v1/parcels" + query)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["detail"] and "Traceback" not in body["detail"]


def test_preview_json_describes_the_png(demo_client):
    key = first_parcel_with_nenner(demo_client)["properties"]["kennzeichen"]
    params = {"parcel": key, "scale": 1000, "paper": "A4", "orientation": "landscape", "dpi": 96}
    description = demo_client.get("/api/v1/preview.json", query_string=params).get_json()
    png = demo_client.get("/api/v1/preview.png", query_string=params)
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert list(image.size) == description["image_px"]
    left, top, right, bottom = description["map_face_px"]
    minx, miny, maxx, maxy = description["bbox"]
    paper_width_mm = (right - left) * 25.4 / 96
    assert (maxx - minx) * 1000 / paper_width_mm == pytest.approx(1000, rel=1e-3)
    assert description["fits"] is True
    assert description["crs"] == "EPSG:25832"


def test_moved_print_area_centres_on_the_given_point(demo_client):
    key = first_parcel_with_nenner(demo_client)["properties"]["kennzeichen"]
    first = demo_client.get("/api/v1/preview.json", query_string={"parcel": key}).get_json()
    cx, cy = first["centre"]
    moved = demo_client.get("/api/v1/preview.json", query_string={"parcel": key, "center": f"{cx + 40},{cy - 25}"}).get_json()
    # a preview composed from tiles starts on a whole pixel of the tile grid: under half a pixel off, never more
    half_px = first["metres_per_px"] / 2
    assert moved["bbox"][0] == pytest.approx(first["bbox"][0] + 40, abs=half_px)
    assert moved["bbox"][1] == pytest.approx(first["bbox"][1] - 25, abs=half_px)
    assert moved["centre"] == pytest.approx([cx + 40, cy - 25], abs=half_px)


def test_big_parcel_does_not_fit_and_names_the_largest_fitting_scale(demo_client, demo_facts):
    key = demo_facts["over_1km2"]
    description = demo_client.get("/api/v1/preview.json", query_string={"parcel": key, "scale": 500}).get_json()
    assert description["fits"] is False
    assert description["largest_fitting_scale"] in (None, 1000, 2000)
    feature = demo_client.get(f"/api/v1/parcels/{key}").get_json()
    minx, miny, maxx, maxy = shape(feature["geometry"]).bounds
    # 1.2 km² does not fit an A4 map face at 1:2000 (340 m × 470 m) either
    if max(maxx - minx, maxy - miny) > 470:
        assert description["largest_fitting_scale"] is None


@pytest.mark.parametrize(
    "query",
    [
        "parcel=",
        "parcel=05987100199999______",
        "parcel={key}&scale=750",
        "parcel={key}&scale=1:abc",
        "parcel={key}&paper=A0",
        "parcel={key}&orientation=diagonal",
        "parcel={key}&dpi=20",
        "parcel={key}&dpi=5000",
        "parcel={key}&center=1,2",
        "parcel={key}&center=abc",
        "parcel={key}&center=1e400,5",
    ],
)
def test_bad_preview_input_gets_a_clear_4xx(demo_client, query):
    key = first_parcel_with_nenner(demo_client)["properties"]["kennzeichen"]
    for endpoint in ("preview.json", "preview.png"):
        response = demo_client.get(f"/api/v1/{endpoint}?" + query.format(key=key))
        assert 400 <= response.status_code < 500
        assert response.mimetype == "application/problem+json"


def test_preview_pdf_and_geotiff(demo_client):
    key = first_parcel_with_nenner(demo_client)["properties"]["kennzeichen"]
    pdf = demo_client.get("/api/v1/preview.pdf", query_string={"parcel": key})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    tif = demo_client.get("/api/v1/preview.tif", query_string={"parcel": key})
    assert tif.status_code == 200 and tif.data[:4] in (b"II*\x00", b"MM\x00*")


def test_healthz_and_unknown_paths(demo_client):
    assert demo_client.get("/healthz").get_json()["status"] == "ok"
    response = demo_client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = demo_client.post("/api/v1/parcels")
    assert response.status_code == 405


@pytest.mark.parametrize("lang", ["de", "en"])
def test_unreadable_parcel_error_cites_parcels_that_exist(demo_client, lang):
    from gis_testing import found_keys, quoted

    for unreadable in ("quatsch", "05314403900040000"):
        response = demo_client.get(f"/api/v1/parcels/{unreadable}", headers={"Accept-Language": lang})
        assert response.status_code == 400
        detail = response.get_json()["detail"]
        shown, *examples = quoted(detail, lang)
        assert shown == unreadable and len(examples) == 2 and "Rüttenscheid" not in detail
        assert {tuple(found_keys(demo_client, example)) for example in examples} == {tuple(found_keys(demo_client, examples[0]))}
        assert len(found_keys(demo_client, examples[0])) == 1


@pytest.mark.parametrize(
    "typed",
    ["Hauptstraße 3 Lindenhagen", "Hauptstr. 3, Lindenhagen", "Hauptstraße 3 59999 Lindenhagen",
     "hauptstrasse 3, 59999 lindenhagen", "Hauptstraße 3, 59999", "HAUPTSTR 3 LINDENHAGEN"],
)
def test_address_with_place_after_the_street(demo_client, typed):
    from gis_testing import found_keys

    plain = found_keys(demo_client, "Hauptstraße 3")
    assert len(plain) == 1 and found_keys(demo_client, typed) == plain


def test_a_place_the_data_do_not_know_does_not_hide_the_street(demo_client):
    from gis_testing import found_keys

    plain = found_keys(demo_client, "Hauptstraße 3")
    assert found_keys(demo_client, "Hauptstraße 3, Musterstadt") == plain
