"""`gis-service check-upstream`, the search-extent warning at start and the notice in search answers, on the
real MapServer serving Neuwerk under the NRW names (examples/nrw.yaml pointed at it, as in issue 14)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from pyogrio import read_info
from service_support import make_app

from gis_service.cli import main
from gis_service.config import load_settings
from gis_service.upstream_check import FAIL, OK, WARN, dark_share, exit_code, search_extent_check
from gis_testing import NEUWERK_GPKG, REPO
from wms_clients.base import SearchLimit

NRW = REPO / "examples" / "nrw.yaml"
ESSEN = (352000.0, 5694000.0, 372000.0, 5709000.0)  # examples/nrw.yaml's search_extent
ADDRESS = "Insel Neuwerk 1"  # one of Neuwerk's addresses (../shared/data/README.md)


@pytest.fixture
def nrw_on_neuwerk(monkeypatch, neuwerk_upstream_url):
    """examples/nrw.yaml with only the URLs set from the environment, as the operator did."""
    for name in ("GIS_SERVICE_WFS_SEARCH_EXTENT", "GIS_SERVICE_WMS_DPI_PARAM", "GIS_SERVICE_WMS_LAYERS",
                 "GIS_SERVICE_WFS_TYPENAME", "GIS_SERVICE_UPSTREAM_USER", "GIS_SERVICE_UPSTREAM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIS_SERVICE_WMS_URL", neuwerk_upstream_url)
    monkeypatch.setenv("GIS_SERVICE_WFS_URL", neuwerk_upstream_url)
    return monkeypatch


def _run(capsys, *args) -> tuple[int, str]:
    code = main(["--log-level", "ERROR", "check-upstream", "--config", str(NRW), *args])
    return code, capsys.readouterr().out


def _lines(output: str, mark: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(mark + " ")]


def test_essen_extent_on_neuwerk_fails_with_the_fix_and_the_fix_turns_every_check_green(nrw_on_neuwerk, capsys):
    code, out = _run(capsys)
    assert code == 2, out
    failed = _lines(out, "✗")
    assert [line.split(":")[0] for line in failed] == ["✗ wfs.search_extent"], out
    assert "every address search finds nothing" in failed[0]
    # MapServer's DPI vendor parameter is MAP_RESOLUTION; the example's `dpi` leaves lines as thin at 300 dpi.
    warned = _lines(out, "!")
    assert [line.split(":")[0] for line in warned] == ["! wms.dpi"], out
    fixes = [line.strip() for line in out.splitlines() if line.startswith("    fix:")]
    extent_fix = next(f for f in fixes if "search_extent" in f)
    dpi_fix = next(f for f in fixes if "dpi_param" in f)
    assert "GIS_SERVICE_WMS_DPI_PARAM=map_resolution" in dpi_fix
    suggested = re.search(r"GIS_SERVICE_WFS_SEARCH_EXTENT=([\d.,]+)", extent_fix).group(1)
    # The suggestion is the data's own extent: the GeoPackage's parcels (MapServer adds at most 50 m).
    minx, miny, maxx, maxy = read_info(NEUWERK_GPKG, layer="flurstueck", force_total_bounds=True)["total_bounds"]
    numbers = [float(v) for v in suggested.split(",")]
    for got, want in zip(numbers, (minx, miny, maxx, maxy)):
        assert abs(got - want) <= 60, (numbers, (minx, miny, maxx, maxy))

    # The operator applies both fixes from the environment only: every check is green.
    nrw_on_neuwerk.setenv("GIS_SERVICE_WFS_SEARCH_EXTENT", suggested)
    nrw_on_neuwerk.setenv("GIS_SERVICE_WMS_DPI_PARAM", "map_resolution")
    code, out = _run(capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["exit_code"] == 0 and report["verdict"] == "ok", out
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert set(statuses.values()) == {OK}
    for name in ("wms.capabilities", "wms.layers", "wms.crs", "wms.format", "wfs.capabilities", "wfs.feature_type",
                 "wfs.crs", "wfs.output_format", "wfs.search_extent", "wms.dpi", "timing.getmap", "timing.getfeature",
                 "fields.kennzeichen", "fields.geometry", "fields.flaeche"):
        assert name in statuses, name
    dpi = next(c for c in report["checks"] if c["name"] == "wms.dpi")
    assert "map_resolution" in dpi["message"]


def test_missing_layer_and_feature_type_fail_with_what_the_service_offers(nrw_on_neuwerk, capsys):
    nrw_on_neuwerk.setenv("GIS_SERVICE_WMS_LAYERS", "adv_alkis_flurstuecke,adv_alkis_gebaeude_xx")
    nrw_on_neuwerk.setenv("GIS_SERVICE_WFS_TYPENAME", "ave:Flurstuck")
    code, out = _run(capsys)
    assert code == 2
    layers = next(line for line in _lines(out, "✗") if line.startswith("✗ wms.layers"))
    assert "adv_alkis_gebaeude_xx" in layers and "adv_alkis_gebaeude," in layers
    assert "set source.wfs.typename: ave:Flurstueck (or GIS_SERVICE_WFS_TYPENAME=ave:Flurstueck)" in out


def test_a_field_the_feature_type_lacks_is_named_with_a_near_candidate(nrw_on_neuwerk, tmp_path, capsys):
    text = NRW.read_text(encoding="utf-8").replace("flaeche: flaeche", "flaeche: amtliche_flaeche")
    config = tmp_path / "nrw-wrong-field.yaml"
    config.write_text(text.replace("../../shared/data", str(REPO.parent / "shared" / "data")), encoding="utf-8")
    code = main(["--log-level", "ERROR", "check-upstream", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 2  # the Essen extent is still there
    line = next(line for line in _lines(out, "!") if line.startswith("! fields.flaeche"))
    assert "amtliche_flaeche is missing" in line
    assert "set source.fields.flaeche: flaeche" in out


def test_a_local_source_is_no_upstream(capsys, monkeypatch):
    monkeypatch.delenv("GIS_SERVICE_CONFIG", raising=False)
    code = main(["--log-level", "ERROR", "check-upstream"])
    assert code == 2 and "no upstream" in capsys.readouterr().out


def test_an_unreachable_service_fails_and_names_the_url_variables(nrw_on_neuwerk, capsys):
    from service_support import free_port

    nowhere = f"http://127.0.0.1:{free_port()}/alkis"
    nrw_on_neuwerk.setenv("GIS_SERVICE_WMS_URL", nowhere)
    nrw_on_neuwerk.setenv("GIS_SERVICE_WFS_URL", nowhere)
    code, out = _run(capsys)
    assert code == 2
    assert [line.split(":")[0] for line in _lines(out, "✗")] == ["✗ wms.capabilities", "✗ wfs.capabilities"], out
    assert "GIS_SERVICE_WMS_URL=" in out and "GIS_SERVICE_WFS_URL=" in out


def test_search_extent_check_from_values():
    service = (466275.0, 5973883.0, 468636.0, 5976087.0)
    assert search_extent_check(None).status == OK
    assert search_extent_check(SearchLimit(ESSEN, service)).status == FAIL
    half = (466275.0, 5973883.0, 467455.0, 5976087.0)
    partly = search_extent_check(SearchLimit(half, service))
    assert partly.status == WARN and "50%" in partly.message
    assert search_extent_check(SearchLimit((466000.0, 5973000.0, 469000.0, 5977000.0), service)).status == OK
    assert search_extent_check(SearchLimit(ESSEN, None)).status == WARN
    assert exit_code([search_extent_check(None)]) == 0
    assert exit_code([search_extent_check(None), partly]) == 1


def test_dark_share_grows_with_line_width():
    from PIL import Image, ImageDraw

    thin, thick = (Image.new("RGB", (100, 100), "white") for _ in range(2))
    ImageDraw.Draw(thin).line((0, 50, 100, 50), fill="black", width=1)
    ImageDraw.Draw(thick).line((0, 50, 100, 50), fill="black", width=3)
    assert dark_share(thin) == pytest.approx(0.01) and dark_share(thick) == pytest.approx(0.03)


# ---------------------------------------------------------------------------- at start and in answers


def _app(tmp_path, name):
    return make_app(load_settings(NRW, overrides={"instance_path": str(tmp_path / name)}))


def test_the_start_warns_about_the_extent_without_an_extra_request(nrw_on_neuwerk, tmp_path, mapserver, caplog):
    good_extent = "466000,5973000,469000,5977000"
    nrw_on_neuwerk.setenv("GIS_SERVICE_WFS_SEARCH_EXTENT", good_extent)
    good = _app(tmp_path, "good")
    before = mapserver.hits("neuwerk")
    with caplog.at_level(logging.WARNING, logger="gis_service"):
        good.extensions["gis_source"].info()  # what `gis-service serve` asks at start
    good_cost = mapserver.hits("neuwerk") - before
    assert not [r for r in caplog.records if "search_extent" in r.getMessage()]

    nrw_on_neuwerk.delenv("GIS_SERVICE_WFS_SEARCH_EXTENT")
    bad = _app(tmp_path, "bad")
    caplog.clear()
    before = mapserver.hits("neuwerk")
    with caplog.at_level(logging.WARNING, logger="gis_service"):
        bad.extensions["gis_source"].info()
        bad.extensions["gis_source"]._info_at = float("-inf")  # a later refresh with the same capabilities
        bad.extensions["gis_source"].info()
    warnings = [r.getMessage() for r in caplog.records if "search_extent" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per capabilities document, not per refresh
    assert "every address search finds nothing" in warnings[0] and "GIS_SERVICE_WFS_SEARCH_EXTENT=" in warnings[0]
    # the check costs no request: the same as with a good extent (capabilities and the data currency)
    assert good_cost >= 1 and mapserver.hits("neuwerk") - before == good_cost


def test_an_empty_address_search_says_it_was_limited(nrw_on_neuwerk, tmp_path):
    client = _app(tmp_path, "essen").test_client()
    answer = client.get("/api/v1/parcels", query_string={"q": ADDRESS})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["total"] == 0 and body["notice"]["code"] == "search-extent"
    assert body["notice"]["search_extent"] == list(ESSEN)
    assert body["notice"]["text"].startswith("Die Adresssuche ist auf einen Ausschnitt beschränkt (Ost 352000–372000")
    english = client.get("/api/v1/parcels", query_string={"q": ADDRESS, "lang": "en"}).get_json()
    assert english["notice"]["text"].startswith("The address search is limited to an area (east 352000–372000")
    page = client.get("/embed", query_string={"q": ADDRESS})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="search-notice"' in html and "Adressen außerhalb werden nicht gefunden" in html
    # A search by parcel is not limited: no notice even where it finds nothing.
    missing = client.get("/api/v1/parcels", query_string={"q": "020125___09999______"}).get_json()
    assert missing["total"] == 0 and "notice" not in missing

    nrw_on_neuwerk.setenv("GIS_SERVICE_WFS_SEARCH_EXTENT", "466000,5973000,469000,5977000")
    fixed = _app(tmp_path, "fixed").test_client()
    found = fixed.get("/api/v1/parcels", query_string={"q": ADDRESS}).get_json()
    assert found["total"] >= 1 and "notice" not in found
    nothing = fixed.get("/api/v1/parcels", query_string={"q": "Hauptstraße 999"}).get_json()
    assert nothing["total"] == 0 and "notice" not in nothing  # the limit covers the data: nothing left out
    page = fixed.get("/embed", query_string={"q": "Hauptstraße 999"}).get_data(as_text=True)
    assert 'id="search-notice"' not in page
