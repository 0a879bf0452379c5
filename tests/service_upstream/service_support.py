"""Helpers for the service-on-upstream tests: apps on MapServer, a switchable proxy, a live HTTP server."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

from gis_testing import GENEROUS_RATE_LIMITS, REPO


def load_serve():
    """fixtures/mapserver/serve.py, loaded by path ("fixtures" is also a PyPI package name)."""
    name = "gis_fixtures_mapserver_serve"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "fixtures" / "mapserver" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def upstream_settings(instance: Path, wms_url: str, wfs_url: str | None = None, *, layers=None,
                      fallback: Path | None = None, cache: dict | None = None, http: dict | None = None,
                      **source) -> "Settings":  # noqa: F821
    from gis_service.config import load_settings

    src = {
        "type": "upstream",
        "wms": {"url": wms_url, **({"layers": layers} if layers else {})},
        "wfs": {"url": wfs_url or wms_url},
        "default_land": "05",
        "http": {"connect_timeout": 1.0, "read_timeout": 2.0, "total_timeout": 3.0, "retries": 1, "backoff": 0.05,
                 **(http or {})},
        **source,
    }
    if fallback is not None:
        src["fallback"] = {"dataset": str(fallback), "attribution": "Ersatzdaten (Demo)"}
    # every request of a test client comes from one address: the search limit is not what these tests are about
    overrides = {"instance_path": str(instance), "source": src, "limits": {"rate": GENEROUS_RATE_LIMITS}}
    if cache is not None:
        overrides["cache"] = cache
    return load_settings(None, overrides=overrides)


def make_app(settings):
    from gis_service.app import create_app

    app = create_app(settings)
    app.testing = True
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_prefix() -> str:
    """A key prefix of its own for each test run, so runs (and CI) never see each other's keys."""
    return f"gis-test-{uuid.uuid4().hex[:12]}"


class SwitchableProxy:
    """A real HTTP server in front of another one; `mode` makes it pass, hang, fail or refuse.

    Tests switch a healthy upstream into a failing one without changing the service's URL (and
    so its cache keys): pass → answers as the target does; hang → holds the connection and says
    nothing; error500 → HTTP 500; html → a proxy's HTML error page with status 200; bomb → every
    GetMap answered with a small PNG that declares 13000×13000 pixels, the rest passed on.
    """

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.mode = "pass"
        self.hits = 0
        self.stop_event = threading.Event()
        self._session = requests.Session()
        from upstream_fakes import serve_requests  # tests/upstream, on the path via conftest

        self._server, _ = serve_requests(self._handle)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handle(self, handler, body: bytes) -> None:
        self.hits += 1
        mode = self.mode
        if mode == "hang":
            self.stop_event.wait(30)
            return
        if mode == "error500":
            return self._send(handler, 500, "text/plain", b"Internal Server Error")
        if mode == "html":
            return self._send(handler, 200, "text/html", b"<html><head><title>Wartung</title></head><body>Wartungsarbeiten</body></html>")
        if mode == "bomb" and "request=getmap" in handler.path.lower():
            from upstream_fakes import png_bomb

            return self._send(handler, 200, "image/png", png_bomb())
        path = handler.path if handler.path.startswith("/") else "/" + handler.path
        try:
            if handler.command == "POST":
                upstream = self._session.post(self.target + path, data=body, timeout=30,
                                              headers={"Content-Type": handler.headers.get("Content-Type", "text/xml")})
            else:
                upstream = self._session.get(self.target + path, timeout=30)
        except requests.RequestException:
            return self._send(handler, 502, "text/plain", b"proxy: target unreachable")
        self._send(handler, upstream.status_code, upstream.headers.get("Content-Type", "application/octet-stream"),
                   upstream.content)

    @staticmethod
    def _send(handler, status: int, content_type: str, body: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()


class LiveServer:
    """The Flask app behind a real threaded HTTP server (werkzeug) on a free loopback port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
