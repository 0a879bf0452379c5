"""The core checks on the demo data, once on the local source and once through the MapServer upstream."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from PIL import Image
from shapely.geometry import shape

from gis_testing import REPO

EXAMPLE = "05987100100090______"  # Mühlenweg 12a in the demo Gemarkung


def keys(body) -> list[str]:
    return [f["properties"]["kennzeichen"] for f in body["parcels"]]


def test_parcel_by_key_in_several_forms(any_client):
    for form in (EXAMPLE, "05-9871-001-00090", "9871 1 90", "Gemarkung Lindenhagen Flur 1 Flurstück 90"):
        response = any_client.get(f"/api/v1/parcels/{form}")
        assert response.status_code == 200, (form, response.get_json())
        body = response.get_json()
        assert body["properties"]["kennzeichen"] == EXAMPLE
        assert body["properties"]["label"] == "Gemarkung Lindenhagen, Flur 1, Flurstück 90"
        assert body["properties"]["lage"] == ["Mühlenweg 12a"]


def test_unknown_parcel_is_404_in_german_and_english(any_client):
    response = any_client.get("/api/v1/parcels/05987100199999______")
    assert response.status_code == 404 and "nicht gefunden" in response.get_json()["detail"]
    response = any_client.get("/api/v1/parcels/05987100199999______", headers={"Accept-Language": "en"})
    assert "not found" in response.get_json()["detail"]


def test_parcel_by_point_address_and_attributes(any_client, demo_facts):
    geometry = shape(any_client.get(f"/api/v1/parcels/{EXAMPLE}").get_json()["geometry"])
    inside = geometry.representative_point()
    assert keys(any_client.get(f"/api/v1/parcels?x={inside.x}&y={inside.y}").get_json()) == [EXAMPLE]
    body = any_client.get("/api/v1/parcels", query_string={"q": "muehlenweg 12 A"}).get_json()
    assert keys(body)[0] == EXAMPLE
    body = any_client.get("/api/v1/parcels", query_string={"gemarkung": "9871", "flur": "1", "zaehler": "90"}).get_json()
    assert keys(body) == [EXAMPLE]
    several = demo_facts["several_addresses"]
    body = any_client.get(f"/api/v1/parcels/{several}").get_json()
    assert len(body["properties"]["lage"]) >= 2


def test_both_sources_give_the_same_parcels(local_app, upstream_app):
    local, upstream = local_app.test_client(), upstream_app.test_client()
    bbox = "352750,5703200,352950,5703400"
    a = local.get(f"/api/v1/parcels?bbox={bbox}&limit=100").get_json()
    b = upstream.get(f"/api/v1/parcels?bbox={bbox}&limit=100").get_json()
    assert a["total"] == b["total"] and keys(a) == keys(b)
    for fa, fb in zip(a["parcels"], b["parcels"]):
        assert shape(fa["geometry"]).symmetric_difference(shape(fb["geometry"])).area < 0.01, fa["id"]
        assert fa["properties"]["flaeche_m2"] == pytest.approx(fb["properties"]["flaeche_m2"])


def test_preview_json_and_png(any_client, source_kind):
    params = {"parcel": EXAMPLE, "scale": 1000, "paper": "A4", "orientation": "landscape", "dpi": 96}
    description = any_client.get("/api/v1/preview.json", query_string=params).get_json()
    response = any_client.get("/api/v1/preview.png", query_string=params)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Map-Source"].split(";")[0] == ("local" if source_kind == "local" else "upstream")
    image = Image.open(io.BytesIO(response.data))
    assert list(image.size) == description["image_px"]
    left, top, right, bottom = description["map_face_px"]
    minx, _, maxx, _ = description["bbox"]
    assert (maxx - minx) * 1000 / ((right - left) * 25.4 / 96) == pytest.approx(1000, rel=1e-3)
    assert description["fits"] is True


def test_preview_plan_is_the_same_on_both(local_app, upstream_app):
    params = {"parcel": EXAMPLE, "scale": 500, "paper": "A3", "orientation": "portrait", "dpi": 150, "center": "352850.5,5703320.25"}
    a = local_app.test_client().get("/api/v1/preview.json", query_string=params).get_json()
    b = upstream_app.test_client().get("/api/v1/preview.json", query_string=params).get_json()
    assert a == b


def test_map_png_for_the_web_map(any_client, source_kind):
    response = any_client.get("/api/v1/map.png?bbox=352750,5703200,352950,5703400&width=300&height=200")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(io.BytesIO(response.data)).size == (300, 200)
    assert response.headers["X-Map-Source"].startswith("local" if source_kind == "local" else "upstream")


def test_embed_flow_search_preview_select(any_client):
    html = any_client.get("/embed", query_string={"q": "Mühlenweg 12a"}).get_data(as_text=True)
    links = re.findall(r'href="([^"]*/embed/preview[^"]*)"', html)
    assert links and EXAMPLE in links[0]
    html = any_client.get(links[0].replace("&amp;", "&")).get_data(as_text=True)
    image = re.search(r'<img[^>]+src="([^"]*preview\.png[^"]*)"', html)
    assert image and any_client.get(image.group(1).replace("&amp;", "&")).status_code == 200
    response = any_client.post("/embed/select", data={"parcel": EXAMPLE, "scale": "500", "paper": "A3",
                                                      "orientation": "landscape"})
    assert response.status_code == 200 and EXAMPLE in response.get_data(as_text=True)


def test_healthz_names_the_source(any_client, source_kind):
    body = any_client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert ("MapServer" in body["source"] or "Testdienst" in body["source"]) == (source_kind == "upstream")


def test_cli_preview_through_the_upstream(tmp_path, demo_upstream_url):
    config = tmp_path / "upstream.yaml"
    config.write_text(
        "source:\n  type: upstream\n  default_land: '05'\n"
        f"  wms: {{url: '{demo_upstream_url}'}}\n  wfs: {{url: '{demo_upstream_url}'}}\n"
        f"instance_path: '{tmp_path / 'instance'}'\n",
        encoding="utf-8",
    )
    out = tmp_path / "vorschau.png"
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from gis_service.cli import main; sys.exit(main())",
         "preview", "--config", str(config), "9871 1 90", "-o", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Flurstück 90" in done.stdout and Image.open(out).size[0] > 500


def test_search_help_cites_only_what_the_search_finds(any_client, source_kind):
    """Local data give examples; an upstream is not asked at start, so its help describes the forms."""
    from gis_testing import found_keys, search_help_examples

    examples = search_help_examples(any_client)
    if source_kind == "upstream":
        assert examples == []
        assert "Straße und Hausnummer" in any_client.get("/embed").get_data(as_text=True)
        return
    assert len(examples) == 3
    for example in examples:
        assert len(found_keys(any_client, example)) == 1, example


def test_configured_examples_are_shown_on_an_upstream(tmp_path_factory, demo_upstream_url):
    from service_support import make_app, upstream_settings

    from gis_service.config import SearchExamplesSettings
    from gis_testing import found_keys, quoted, search_help_examples

    settings = upstream_settings(tmp_path_factory.mktemp("upstream-examples"), demo_upstream_url)
    settings.search.examples = SearchExamplesSettings(address="Mühlenweg 12a", parcel=["9871 1 90"])
    client = make_app(settings).test_client()
    assert search_help_examples(client, "en") == ["Mühlenweg 12a", "9871 1 90"]
    assert found_keys(client, "Mühlenweg 12a, Lindenhagen") == found_keys(client, "9871 1 90") == [EXAMPLE]
    assert quoted(client.get("/api/v1/parcels/Flurstück xyz").get_json()["detail"])[1:] == ["9871 1 90"]
