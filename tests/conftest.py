"""Shared fixtures: the demo and Neuwerk applications, and the path of the real data beside the repo."""

from __future__ import annotations

import os

import pytest

from gis_testing import GENEROUS_RATE_LIMITS, REPO, require_shared_data


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory):
    from gis_service.app import create_app
    from gis_service.config import load_settings

    settings = load_settings(None, overrides={"instance_path": str(tmp_path_factory.mktemp("instance-demo")),
                                              "limits": {"rate": GENEROUS_RATE_LIMITS}})
    app = create_app(settings)
    app.testing = True
    return app


@pytest.fixture(scope="session")
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture(scope="session")
def neuwerk_app(tmp_path_factory):
    shared = require_shared_data()
    from gis_service.app import create_app
    from gis_service.config import load_settings

    previous = os.environ.get("GIS_SERVICE_SHARED_DATA")
    os.environ["GIS_SERVICE_SHARED_DATA"] = str(shared)
    try:
        settings = load_settings(
            REPO / "examples" / "neuwerk.yaml",
            overrides={"instance_path": str(tmp_path_factory.mktemp("instance-neuwerk")),
                       "limits": {"rate": GENEROUS_RATE_LIMITS}},
        )
    finally:
        if previous is None:
            os.environ.pop("GIS_SERVICE_SHARED_DATA", None)
        else:
            os.environ["GIS_SERVICE_SHARED_DATA"] = previous
    app = create_app(settings)
    app.testing = True
    return app


@pytest.fixture(scope="session")
def neuwerk_client(neuwerk_app):
    return neuwerk_app.test_client()


@pytest.fixture(scope="session")
def demo_facts():
    import json

    return json.loads((REPO / "fixtures" / "demo" / "demo_gemarkung.facts.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def quiet_orders_app(tmp_path_factory):
    """The demo app with orders on, but no worker, mail or payment provider that a generated request could wait on."""
    from gis_service.app import create_app
    from gis_service.config import load_settings

    instance = tmp_path_factory.mktemp("instance-quiet-orders")
    app = create_app(load_settings(None, overrides={
        "instance_path": str(instance), "secret_key": "contract-secret-key-of-at-least-32-bytes",
        "limits": {"rate": GENEROUS_RATE_LIMITS},
        "orders": {"database_url": f"sqlite:///{instance / 'orders.sqlite'}",
                   "smtp": {"enabled": False}, "worker": {"enabled": False},
                   "payment": {"base_url": "http://127.0.0.1:9", "originator_id": "contract",
                               "secret": "contract-secret-" + "x" * 20, "timeout_seconds": 1},
                   "api_keys": [{"name": "formserver", "key": "formserver-key-0123456789"}]}}))
    app.testing = True
    return app
