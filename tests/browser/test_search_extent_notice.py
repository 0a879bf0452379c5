"""The search-extent notice in the browser: examples/nrw.yaml (Essen extent) on MapServer serving Neuwerk under the
NRW names; the search page at 375 px shows it without axe violations, and the live suggestions announce it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from test_accessibility import axe_violations

REPO = Path(__file__).resolve().parents[2]

ADDRESS = "Insel Neuwerk 1"
SENTENCE = "Adressen außerhalb werden nicht gefunden"


def _serve_module():
    name = "gis_fixtures_mapserver_serve"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "fixtures" / "mapserver" / "serve.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def essen_on_neuwerk(tmp_path_factory, serve_app):
    serve = _serve_module()
    if reason := serve.missing_reason("neuwerk"):
        pytest.skip(reason)
    from gis_service.app import create_app
    from gis_service.config import load_settings

    mapserver = serve.MapServer(["neuwerk"]).start()
    patch = pytest.MonkeyPatch()
    patch.setenv("GIS_SERVICE_WMS_URL", mapserver.url("neuwerk"))
    patch.setenv("GIS_SERVICE_WFS_URL", mapserver.url("neuwerk"))
    patch.delenv("GIS_SERVICE_WFS_SEARCH_EXTENT", raising=False)
    instance = tmp_path_factory.mktemp("essen-on-neuwerk")
    app = create_app(load_settings(REPO / "examples" / "nrw.yaml", overrides={
        "instance_path": str(instance), "orders": {"worker": {"enabled": False}}}))
    yield serve_app(app)
    app.extensions["gis_orders"].close()
    patch.undo()
    mapserver.stop()


def test_the_search_page_says_the_search_was_limited(make_page, essen_on_neuwerk):
    page, problems = make_page(375, 740)
    page.goto(f"{essen_on_neuwerk}/embed?q={ADDRESS.replace(' ', '+')}")
    notice = page.locator("#search-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(SENTENCE)
    assert axe_violations(page) == []
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scrolling at 375 px: {widths}"
    assert problems.unexpected() == []


def test_the_suggestions_announce_the_limit(make_page, essen_on_neuwerk):
    page, problems = make_page(375, 740)
    page.goto(f"{essen_on_neuwerk}/embed")
    page.locator("#q").press_sequentially(ADDRESS, delay=20)
    expect(page.locator("#suggestions-status")).to_contain_text(SENTENCE, timeout=15_000)
    assert problems.unexpected() == []
