"""Configuration of the upstream source, the cache and the OGC API: examples load, mistakes name the key."""

from __future__ import annotations

import pytest

from gis_service.config import ConfigError, load_settings
from gis_testing import REPO


def test_nrw_example_points_at_the_nrw_services_and_takes_url_overrides(monkeypatch, tmp_path):
    from gis_service.upstream_source import UpstreamSource
    from gis_service.wiring import build_source

    monkeypatch.delenv("GIS_SERVICE_WMS_URL", raising=False)
    monkeypatch.delenv("GIS_SERVICE_WFS_URL", raising=False)
    settings = load_settings(REPO / "examples" / "nrw.yaml", overrides={"instance_path": str(tmp_path)})
    assert settings.source.type == "upstream"
    assert settings.source.wms.url == "https://www.wms.nrw.de/geobasis/wms_nw_alkis"
    assert settings.source.wms.layers == ["adv_alkis_tatsaechliche_nutzung", "adv_alkis_flurstuecke", "adv_alkis_gebaeude"]
    assert settings.source.wfs.url == "https://www.wfs.nrw.de/geobasis/wfs_nw_alkis_vereinfacht"
    assert settings.source.wfs.typename == "ave:Flurstueck" and settings.source.fields.kennzeichen == "flstkennz"

    monkeypatch.setenv("GIS_SERVICE_WMS_URL", "http://wms.example.invalid/alkis")
    monkeypatch.setenv("GIS_SERVICE_WFS_URL", "http://wfs.example.invalid/alkis")
    settings = load_settings(REPO / "examples" / "nrw.yaml", overrides={"instance_path": str(tmp_path)})
    assert settings.source.wms.url == "http://wms.example.invalid/alkis"
    assert settings.source.wfs.url == "http://wfs.example.invalid/alkis"
    if settings.source.gemarkungen_file and settings.source.gemarkungen_file.exists():
        source = build_source(settings)  # builds clients without asking the network
        assert isinstance(source, UpstreamSource)
        index = source.wfs.configured_gemarkungen
        assert [ref.schluessel for ref in index.by_name("Rüttenscheid")] == ["053144"]


def test_mapserver_example_has_a_fallback(tmp_path):
    settings = load_settings(REPO / "examples" / "mapserver-demo.yaml", overrides={"instance_path": str(tmp_path)})
    assert settings.source.fallback is not None and settings.source.fallback.dataset.is_file()
    assert settings.cache.backend == "disk"


@pytest.mark.parametrize(
    ("source", "extra", "fragment"),
    [
        ({"type": "upstream", "wfs": {"url": "http://x"}}, {}, "source.wms: Field required"),
        ({"type": "upstream", "wms": {"url": "ftp://x"}, "wfs": {"url": "http://x"}}, {}, "source.wms.url"),
        ({"type": "upstream", "wms": {"url": "http://x", "dpi_param": "dots"}, "wfs": {"url": "http://x"}}, {},
         "dpi_param"),
        ({"type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"}, "fallback": {"name": "x"}}, {},
         "fallback needs its own dataset"),
        ({"type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"}, "extent": [5, 5, 1, 1]}, {},
         "source.extent"),
        ({"type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"}, "http": {"timeout": 3}}, {},
         "source.http.timeout: unknown key"),
        ({"type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"},
          "http": {"max_body_mb": {"getmap": 0}}}, {}, "source.http.max_body_mb.getmap"),
        ({"type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"},
          "http": {"max_body_mb": {"images": 5}}}, {}, "source.http.max_body_mb.images: unknown key"),
        ({"type": "upstream", "wms": {"url": "http://x", "max_image_pixels": 1000}, "wfs": {"url": "http://x"}}, {},
         "source.wms.max_image_pixels"),
        ({"type": "cloud"}, {}, "source"),
        ({}, {"cache": {"backend": "redis"}}, "cache: backend redis needs redis_url"),
        ({}, {"cache": {"backend": "memcached"}}, "cache.backend"),
        ({}, {"ogc": {"url": "https://example.de/api"}}, "ogc.url"),
    ],
)
def test_mistakes_name_the_key(source, extra, fragment):
    overrides = {**extra}
    if source:
        overrides["source"] = source
    with pytest.raises(ConfigError) as error:
        load_settings(None, overrides=overrides)
    assert fragment in str(error.value)


def test_missing_gemarkungen_file_is_a_config_error(tmp_path):
    from gis_service.wiring import build_source

    settings = load_settings(None, overrides={"instance_path": str(tmp_path), "source": {
        "type": "upstream", "wms": {"url": "http://x"}, "wfs": {"url": "http://x"},
        "gemarkungen_file": str(tmp_path / "missing.json")}})
    with pytest.raises(ConfigError, match="source.gemarkungen_file"):
        build_source(settings)


def test_ogc_can_be_switched_off(tmp_path):
    from gis_service.app import create_app

    app = create_app(load_settings(None, overrides={"instance_path": str(tmp_path), "ogc": {"enabled": False}}))
    assert app.test_client().get("/ogc/").status_code == 404


UPSTREAM_VARIABLES = ("GIS_SERVICE_WMS_URL", "GIS_SERVICE_WFS_URL", "GIS_SERVICE_WMS_LAYERS", "GIS_SERVICE_WMS_DPI_PARAM",
                      "GIS_SERVICE_WFS_TYPENAME", "GIS_SERVICE_WFS_SEARCH_EXTENT", "GIS_SERVICE_UPSTREAM_USER",
                      "GIS_SERVICE_UPSTREAM_PASSWORD")


@pytest.mark.parametrize("example", ["nrw.yaml", "mapserver-demo.yaml"])
def test_every_upstream_key_of_the_examples_comes_from_the_environment(example, monkeypatch, tmp_path):
    for name in UPSTREAM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings(REPO / "examples" / example, overrides={"instance_path": str(tmp_path)}).source
    assert defaults.http.auth is None  # an empty user name is no authentication
    monkeypatch.setenv("GIS_SERVICE_WMS_LAYERS", "nutzung, grenzen,gebaeude")
    monkeypatch.setenv("GIS_SERVICE_WMS_DPI_PARAM", "format_options")
    monkeypatch.setenv("GIS_SERVICE_WFS_TYPENAME", "ax:Flurstueck")
    monkeypatch.setenv("GIS_SERVICE_WFS_SEARCH_EXTENT", "466000, 5973000,469000,5977000")
    monkeypatch.setenv("GIS_SERVICE_UPSTREAM_USER", "kataster")
    monkeypatch.setenv("GIS_SERVICE_UPSTREAM_PASSWORD", "geheim: mit Doppelpunkt")
    source = load_settings(REPO / "examples" / example, overrides={"instance_path": str(tmp_path)}).source
    assert source.wms.layers == ["nutzung", "grenzen", "gebaeude"]
    assert source.wms.dpi_param == "format_options"
    assert source.wfs.typename == "ax:Flurstueck"
    assert source.wfs.search_extent == (466000.0, 5973000.0, 469000.0, 5977000.0)
    assert (source.http.auth.user, source.http.auth.password) == ("kataster", "geheim: mit Doppelpunkt")
    # Empty switches off what may be off: no search limit, no DPI parameter; a password stays text as written.
    monkeypatch.setenv("GIS_SERVICE_UPSTREAM_PASSWORD", "0123")
    monkeypatch.setenv("GIS_SERVICE_WFS_SEARCH_EXTENT", "")
    monkeypatch.setenv("GIS_SERVICE_WMS_DPI_PARAM", "none")
    source = load_settings(REPO / "examples" / example, overrides={"instance_path": str(tmp_path)}).source
    assert source.wfs.search_extent is None and source.wms.dpi_param is None
    assert source.http.auth.password == "0123"


@pytest.mark.parametrize(("variable", "value", "fragment"), [
    ("GIS_SERVICE_WFS_SEARCH_EXTENT", "466000,5973000,469000", "source.wfs.search_extent"),
    ("GIS_SERVICE_WFS_SEARCH_EXTENT", "469000,5973000,466000,5977000", "minx < maxx"),
    ("GIS_SERVICE_WFS_SEARCH_EXTENT", "a,b,c,d", "source.wfs.search_extent"),
    ("GIS_SERVICE_WMS_DPI_PARAM", "dots", "source.wms.dpi_param"),
    ("GIS_SERVICE_WMS_LAYERS", " , ", "source.wms.layers"),
])
def test_wrong_values_from_the_environment_name_the_key(variable, value, fragment, monkeypatch, tmp_path):
    for name in UPSTREAM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_settings(REPO / "examples" / "nrw.yaml", overrides={"instance_path": str(tmp_path)})
