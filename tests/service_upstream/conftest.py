"""Fixtures for the service on a WMS/WFS upstream: MapServer, the fault server, apps on local and upstream sources."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gis_testing import REPO

HERE = Path(__file__).resolve().parent
for folder in (HERE, REPO / "tests" / "upstream"):  # service_support, upstream_fakes
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from service_support import load_serve, make_app, upstream_settings  # noqa: E402
from upstream_fakes import FaultServer  # noqa: E402

serve = load_serve()
DEMO_GPKG = REPO / "fixtures" / "demo" / "demo_gemarkung.gpkg"


@pytest.fixture(scope="session")
def mapserver():
    """MapServer 8 serving the demo data (and Neuwerk, where ../shared/data is present)."""
    if not Path(serve.MAPSERV).exists():
        pytest.skip(f"{serve.MAPSERV} is not installed (Debian cgi-mapserver)")
    datasets = [name for name in ("demo", "neuwerk") if serve.missing_reason(name) is None]
    if "demo" not in datasets:
        pytest.skip(serve.missing_reason("demo") or "demo data missing")
    server = serve.MapServer(datasets).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_upstream_url(mapserver):
    return mapserver.url("demo")


@pytest.fixture(scope="session")
def neuwerk_upstream_url(mapserver):
    if "neuwerk" not in mapserver.datasets:
        pytest.skip(serve.missing_reason("neuwerk") or "neuwerk is not served")
    return mapserver.url("neuwerk")


@pytest.fixture(scope="session")
def local_app(tmp_path_factory):
    from gis_service.config import load_settings

    return make_app(load_settings(None, overrides={"instance_path": str(tmp_path_factory.mktemp("local"))}))


@pytest.fixture(scope="session")
def upstream_app(tmp_path_factory, demo_upstream_url):
    return make_app(upstream_settings(tmp_path_factory.mktemp("upstream"), demo_upstream_url))


@pytest.fixture(scope="session", params=["local", "upstream"])
def source_kind(request):
    return request.param


@pytest.fixture(scope="session")
def any_app(source_kind, request):
    """The same demo data as the local source and through the MapServer upstream."""
    return request.getfixturevalue(f"{source_kind}_app")


@pytest.fixture(scope="session")
def any_client(any_app):
    return any_app.test_client()


@pytest.fixture(scope="session")
def fault_server():
    server = FaultServer()
    yield server
    server.stop()


@pytest.fixture
def faults(fault_server):
    fault_server.reset()
    return fault_server


@pytest.fixture(scope="session")
def demo_facts():
    import json

    return json.loads((REPO / "fixtures" / "demo" / "demo_gemarkung.facts.json").read_text(encoding="utf-8"))
