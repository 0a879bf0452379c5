"""Fixtures for the upstream clients: a real MapServer 8 on loopback and a misbehaving HTTP server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _load_serve():
    # By path: "fixtures" is also the name of a PyPI package that could shadow the folder.
    spec = importlib.util.spec_from_file_location("gis_fixtures_mapserver_serve", REPO / "fixtures" / "mapserver" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


serve = _load_serve()
NEUWERK_GPKG = serve.DATASETS["neuwerk"].gpkg
DEMO_GPKG = serve.DATASETS["demo"].gpkg


def pytest_configure(config):
    config.addinivalue_line("markers", "mapserver: needs /usr/bin/mapserv (Debian cgi-mapserver)")


# ---------------------------------------------------------------------------- MapServer


@pytest.fixture(scope="session")
def mapserver():
    """MapServer serving every dataset available here (neuwerk needs ../shared/data)."""
    if not Path(serve.MAPSERV).exists():
        pytest.skip(f"{serve.MAPSERV} is not installed (Debian cgi-mapserver)")
    datasets = [name for name in ("neuwerk", "demo") if serve.missing_reason(name) is None]
    if not datasets:
        pytest.skip("no dataset to serve: " + "; ".join(serve.missing_reason(n) or "" for n in ("neuwerk", "demo")))
    server = serve.MapServer(datasets).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def neuwerk_url(mapserver):
    if "neuwerk" not in mapserver.datasets:
        pytest.skip(serve.missing_reason("neuwerk") or "neuwerk is not served")
    return mapserver.url("neuwerk")


@pytest.fixture(scope="session")
def demo_url(mapserver):
    if "demo" not in mapserver.datasets:
        pytest.skip(serve.missing_reason("demo") or "demo is not served")
    return mapserver.url("demo")


@pytest.fixture(scope="session")
def wms_target(mapserver):
    """(url, a 400 m square around the data's centre) on whichever dataset is served, Neuwerk first.

    The odd centimetres keep straight boundaries off exact pixel edges, where rounding decides.
    """
    import pyogrio

    name = mapserver.datasets[0]
    bounds = pyogrio.read_info(serve.DATASETS[name].gpkg, layer="flurstueck", force_total_bounds=True)["total_bounds"]
    if name == "neuwerk":
        cx, cy = 467100.137, 5974500.291  # the village: dense parcels and buildings
    else:
        cx, cy = round((bounds[0] + bounds[2]) / 2) + 0.137, round((bounds[1] + bounds[3]) / 2) + 0.291
    return mapserver.url(name), (cx - 200.0, cy - 200.0, cx + 200.0, cy + 200.0)


def read_parcels(gpkg: Path) -> list[dict]:
    """Parcels straight from a GeoPackage with pyogrio: attributes plus a shapely geometry."""
    import pyogrio
    import pyogrio.raw
    import shapely

    meta, _, geometry, fields = pyogrio.raw.read(gpkg, layer="flurstueck")
    names = list(meta["fields"])
    rows = []
    for i, wkb in enumerate(geometry):
        row = {name: fields[j][i] for j, name in enumerate(names)}
        row["geometry"] = shapely.from_wkb(wkb)
        rows.append(row)
    return rows


@pytest.fixture(scope="session")
def neuwerk_parcels():
    if not NEUWERK_GPKG.exists():
        pytest.skip(f"real ALKIS data not found at {NEUWERK_GPKG.parent} (../shared/data beside the repository)")
    return read_parcels(NEUWERK_GPKG)


# ---------------------------------------------------------------------------- faults

from upstream_fakes import FaultServer  # noqa: E402 - after the sys.path set-up


@pytest.fixture(scope="session")
def fault_server_session():
    server = FaultServer()
    yield server
    server.stop()


@pytest.fixture
def faults(fault_server_session):
    fault_server_session.reset()
    return fault_server_session


@pytest.fixture
def refused_url():
    """A loopback URL where nothing listens."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/wms"
