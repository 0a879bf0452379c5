"""Tiles through the MapServer upstream: one GetMap per metatile, seams that cut no label, GDAL reading the WMTS,
the upstream's faults (stale tile or a clear error), and one GetMap across two worker processes (Redis, disk)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
from PIL import Image
from service_support import LiveServer, SwitchableProxy, make_app, redis_prefix, upstream_settings

from gis_testing import REPO

TILE_URL = "/wmts/1.0.0/liegenschaftskarte/default/UTM32Kataster/{z}/{y}/{x}.png"
CENTRE = (352_850.0, 5_703_320.0)  # Mühlenweg in the demo Gemarkung
# A metatile is a 1536 px GetMap: on two busy cores MapServer may take a second for it.
BUDGET = 3.0
MARGIN = 1.0
FAST_HTTP = {"connect_timeout": 0.5, "read_timeout": 2.5, "total_timeout": 3.0, "retries": 0, "failure_threshold": 1000}
REDIS_URL = os.environ.get("GIS_SERVICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class CountingProxy(SwitchableProxy):
    """The switchable proxy that also counts GetMap requests and may make each of them slow."""

    def __init__(self, target: str, delay: float = 0.0):
        self.getmaps = 0
        self.delay = delay
        self._count_lock = threading.Lock()
        super().__init__(target)

    def _handle(self, handler, body: bytes) -> None:
        if "request=getmap" in handler.path.lower():
            with self._count_lock:
                self.getmaps += 1
            time.sleep(self.delay)
        super()._handle(handler, body)


@pytest.fixture
def counting_proxy(demo_upstream_url):
    proxy = CountingProxy(demo_upstream_url)
    yield proxy
    proxy.stop()


def level_and_tile(app, scale: int, at=CENTRE) -> tuple[int, int, int]:
    grid = app.extensions["gis_tiles"].grid
    z = grid.level_of(scale * 0.0254 / 96)
    return (z, *grid.tile_at(z, *at))


def stitched(client, z: int, x0: int, y0: int, columns: int, rows: int) -> np.ndarray:
    block = Image.new("RGB", (columns * 256, rows * 256))
    for j in range(rows):
        for i in range(columns):
            response = client.get(TILE_URL.format(z=z, x=x0 + i, y=y0 + j))
            assert response.status_code == 200, response.data[:200]
            block.paste(Image.open(io.BytesIO(response.data)).convert("RGB"), (i * 256, j * 256))
    return np.asarray(block).astype(int)


def _metatiles(outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("gis_metatiles_total", {"outcome": outcome}) or 0.0


def test_the_tiles_of_one_metatile_cost_one_getmap(counting_proxy, tmp_path):
    app = make_app(upstream_settings(tmp_path, counting_proxy.url))
    z, x, y = level_and_tile(app, 1000)
    x0, y0 = x - x % 4, y - y % 4
    client = app.test_client()
    before = counting_proxy.getmaps
    made, coalesced = _metatiles("made"), _metatiles("coalesced")

    def one(offset: tuple[int, int]):
        return app.test_client().get(TILE_URL.format(z=z, x=x0 + offset[0], y=y0 + offset[1]))

    with ThreadPoolExecutor(8) as pool:  # sixteen requests at once, as a browser opening the map
        answers = list(pool.map(one, [(i, j) for j in range(4) for i in range(4)]))
    assert all(a.status_code == 200 and a.headers["X-Map-Source"].startswith("upstream; date=") for a in answers)
    assert counting_proxy.getmaps - before == 1
    assert _metatiles("made") - made == 1 and _metatiles("coalesced") - coalesced >= 1  # as /metrics tells it
    # the neighbour metatile is one more; asking again costs nothing
    assert client.get(TILE_URL.format(z=z, x=x0 + 4, y=y0)).status_code == 200
    assert client.get(TILE_URL.format(z=z, x=x0, y=y0)).status_code == 200
    assert counting_proxy.getmaps - before == 2


# ------------------------------------------------------------------------------------------ seams


def _reference(app, z: int, x0: int, y0: int, size: int, margin: int) -> np.ndarray:
    """One GetMap of the whole block with a wide margin, cropped: what the map looks like without seams."""
    grid = app.extensions["gis_tiles"].grid
    bbox = grid.block_bbox(z, x0, y0, size, size, margin)
    wms = app.extensions["gis_services"].source.wms
    side = size * 256 + 2 * margin
    response = requests.get(wms.url, params=wms.get_map_params(bbox, side, side, 96), timeout=120)
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    return np.asarray(image.crop((margin, margin, margin + size * 256, margin + size * 256))).astype(int)


def _label_windows_across_seams(app, z: int, x0: int, y0: int, size: int, buffer_m: float):
    """Pixel windows around the labels of parcels smaller than the buffer whose label box crosses a metatile seam."""
    grid = app.extensions["gis_tiles"].grid
    minx, miny, maxx, maxy = grid.block_bbox(z, x0, y0, size, size)
    res = grid.matrix(z).resolution
    seam = size * 256 // 2  # metatiles of 4 in a block of 8: one seam across, one down
    parcels, _ = app.extensions["gis_services"].source.in_bbox((minx, miny, maxx, maxy), limit=1000)
    windows = []
    for parcel in parcels:
        bx0, by0, bx1, by1 = parcel.geometry.bounds
        if bx1 - bx0 > buffer_m or by1 - by0 > buffer_m or bx0 < minx or by0 < miny or bx1 > maxx or by1 > maxy:
            continue  # a long street parcel is labelled where its clipped shape puts it: no seam question
        point = parcel.geometry.representative_point()
        px, py = (point.x - minx) / res, (maxy - point.y) / res
        box = (int(px) - 40, int(py) - 16, int(px) + 40, int(py) + 16)
        if box[0] < seam < box[2] or box[1] < seam < box[3]:
            windows.append((parcel.label, box))
    return windows


def test_seams_do_not_cut_labels(mapserver, demo_upstream_url, tmp_path):
    """Tiles of two metatiles side by side against one GetMap of the whole area: every small parcel's label
    that lies across the seam is drawn whole and in the same place; without a buffer it is not."""
    with_buffer = make_app(upstream_settings(tmp_path / "buffer", demo_upstream_url))
    z, x, y = level_and_tile(with_buffer, 1000)
    x0, y0, size = x - x % 4, y - y % 4 - 4, 8  # two metatiles across, two down: many labels on their seams
    buffer_px = with_buffer.extensions["gis_tiles"].settings.metatile_buffer_px
    assert buffer_px == 256
    resolution = with_buffer.extensions["gis_tiles"].grid.matrix(z).resolution
    reference = _reference(with_buffer, z, x0, y0, size, margin=1024)
    windows = _label_windows_across_seams(with_buffer, z, x0, y0, size, buffer_px * resolution)
    assert len(windows) >= 5, windows  # the test means something only with labels on the seams

    def differing(tiles: np.ndarray, box) -> int:
        left, top, right, bottom = box
        return int((np.abs(tiles[top:bottom, left:right] - reference[top:bottom, left:right]).sum(axis=2) > 48).sum())

    tiles = stitched(with_buffer.test_client(), z, x0, y0, size, size)
    assert {label: differing(tiles, box) for label, box in windows if differing(tiles, box)} == {}

    without = make_app(upstream_settings(tmp_path / "none", demo_upstream_url))
    without.extensions["gis_tiles"].settings = without.extensions["gis_tiles"].settings.model_copy(
        update={"metatile_buffer_px": 0})
    bare = stitched(without.test_client(), z, x0, y0, size, size)
    cut = [label for label, box in windows if differing(bare, box)]
    assert len(cut) >= 2, "without a buffer, labels on the seam should be cut or lost"


# ------------------------------------------------------------------------------------------ GDAL


def _gdal_env(tmp_path) -> dict:
    return {"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "HOME": str(tmp_path),
            "GDAL_DEFAULT_WMS_CACHE_PATH": str(tmp_path / "gdalwmscache")}


@pytest.mark.skipif(shutil.which("gdalinfo") is None, reason="GDAL is not installed (Debian gdal-bin)")
def test_gdal_opens_the_wmts_and_reads_a_window_that_matches_the_tiles(any_app, tmp_path):
    live = LiveServer(any_app)
    try:
        capabilities = f"WMTS:{live.url}/wmts/1.0.0/WMTSCapabilities.xml"
        info = subprocess.run(["gdalinfo", "-json", capabilities], capture_output=True, text=True, timeout=120,
                              env=_gdal_env(tmp_path), cwd=tmp_path)
        assert info.returncode == 0, info.stderr
        described = json.loads(info.stdout)
        assert described["driverShortName"] == "WMTS"
        assert re.search(r'ID\["EPSG",\s*25832\]', described["coordinateSystem"]["wkt"])
        grid = any_app.extensions["gis_tiles"].grid
        assert described["geoTransform"][1] == pytest.approx(grid.resolutions[-1])  # the finest level
        minx, miny, maxx, maxy = any_app.extensions["gis_source"].info().extent
        # the layer's bounding box, on whole pixels of the finest level
        assert described["geoTransform"][0] == pytest.approx(minx, abs=grid.resolutions[-1])
        assert described["geoTransform"][3] == pytest.approx(maxy, abs=grid.resolutions[-1])

        # GDAL reads the finest level (1:500 at 96 dpi) at its own resolution
        z, x, y = level_and_tile(any_app, 500)
        assert z == len(grid.resolutions) - 1
        x0, y0 = x - x % 4, y - y % 4
        left, bottom, right, top = grid.block_bbox(z, x0 + 3, y0 + 3, 2, 2)  # across the corner of four metatiles
        out = tmp_path / "window.tif"
        translated = subprocess.run(
            ["gdal_translate", "-q", "-projwin", repr(left), repr(top), repr(right), repr(bottom), capabilities,
             str(out)],
            capture_output=True, text=True, timeout=120, env=_gdal_env(tmp_path), cwd=tmp_path)
        assert translated.returncode == 0, translated.stderr
        window = np.asarray(Image.open(out).convert("RGB")).astype(int)
        expected = stitched(any_app.test_client(), z, x0 + 3, y0 + 3, 2, 2)
        assert window.shape == expected.shape == (512, 512, 3)
        assert (window == expected).all()
    finally:
        live.stop()
    assert not (REPO / "gdalwmscache").exists()


# ------------------------------------------------------------------------------------------ faults


@pytest.fixture
def proxied_tiles(counting_proxy, tmp_path):
    """Upstream behind the switchable proxy; cache TTL 0, so every tile asks the upstream first."""
    settings = upstream_settings(tmp_path, counting_proxy.url, http=FAST_HTTP, request_timeout=BUDGET, retry_after=45,
                                 cache={"ttl_seconds": 0, "stale_seconds": 3600})
    return make_app(settings)


@pytest.mark.parametrize("mode", ["hang", "error500", "html", "bomb", "down"])
def test_upstream_down_serves_the_last_tile_marked_stale(counting_proxy, proxied_tiles, mode):
    client = proxied_tiles.test_client()
    url = TILE_URL.format(**dict(zip("zxy", level_and_tile(proxied_tiles, 1000))))
    good = client.get(url)
    assert good.status_code == 200 and good.headers["X-Map-Source"].startswith("upstream; date=")
    if mode == "down":
        counting_proxy.stop()  # nothing listens any more: connection refused
        proxied_tiles.extensions["gis_services"].source.wms.session.close()  # no kept-alive connection either
    else:
        counting_proxy.mode = mode
    start = time.monotonic()
    stale = client.get(url)
    elapsed = time.monotonic() - start
    assert stale.status_code == 200 and elapsed < BUDGET + MARGIN, (mode, elapsed)
    assert re.fullmatch(r"cache; date=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stale.headers["X-Map-Source"])
    assert stale.headers["Cache-Control"] == "no-store" and "ETag" not in stale.headers
    assert stale.data == good.data


def test_no_stale_tile_and_no_fallback_is_503_in_time(counting_proxy, proxied_tiles):
    client = proxied_tiles.test_client()
    z, x, y = level_and_tile(proxied_tiles, 500)
    counting_proxy.mode = "hang"
    start = time.monotonic()
    response = client.get(TILE_URL.format(z=z, x=x, y=y), headers={"Accept": "text/html"})
    assert time.monotonic() - start < BUDGET + MARGIN
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["code"] == "upstream-unavailable"
    english = client.get(TILE_URL.format(z=z, x=x, y=y), headers={"Accept-Language": "en"})
    assert english.status_code == 503 and "cannot be reached" in english.get_json()["detail"]


@pytest.mark.parametrize("fault", ["not-png", "truncated-png", "wrong-size", "service-exception", "error500"])
def test_garbage_from_the_wms_is_the_fallback_drawing_or_503(faults, fault, demo_upstream_url, tmp_path):
    from gis_service.config import DEMO_DATASET

    with_fallback = make_app(upstream_settings(tmp_path / "a", faults.url(f"wms-large/{fault}"), demo_upstream_url,
                                               layers=["test"], fallback=DEMO_DATASET, http=FAST_HTTP,
                                               request_timeout=BUDGET))
    url = TILE_URL.format(**dict(zip("zxy", level_and_tile(with_fallback, 1000))))
    response = with_fallback.test_client().get(url)
    assert response.status_code == 200 and response.headers["X-Map-Source"].startswith("fallback")
    assert response.headers["Cache-Control"] == "no-store"
    drawn = np.asarray(Image.open(io.BytesIO(response.data)).convert("L"))
    assert drawn.shape == (256, 256) and (drawn < 128).mean() > 0.005  # the fallback's lines, not a blank
    # a stand-in is not kept: the next request asks the upstream again
    before = faults.hits.get(f"wms-large/{fault}", 0)
    with_fallback.test_client().get(url)
    assert faults.hits.get(f"wms-large/{fault}", 0) > before

    without = make_app(upstream_settings(tmp_path / "b", faults.url(f"wms-large/{fault}"), demo_upstream_url,
                                         layers=["test"], http=FAST_HTTP, request_timeout=BUDGET))
    response = without.test_client().get(url)
    assert response.status_code == 503 and response.get_json()["code"] == "upstream-unavailable"


# ------------------------------------------------------------------------------------------ across workers

WORKER = """
import json, sys, threading, time
sys.path[:0] = {paths!r}
from service_support import upstream_settings
from gis_service.wiring import build_services
from pathlib import Path

services = build_services(upstream_settings(Path({instance!r}), {url!r}, cache={cache!r},
                                            http={{"read_timeout": 20, "total_timeout": 30}}, request_timeout=30))
tiles = services.tiles
grid = tiles.grid
z = grid.level_of(1000 * 0.0254 / 96)
x, y = grid.tile_at(z, {centre!r}[0], {centre!r}[1])
x0, y0 = x - x % 4, y - y % 4
services.source.info()  # the WFS's service information before the race, not during it
results = {{}}

def one(i):
    tile = tiles.tile(z, x0 + i, y0 + i)
    results[i] = [tile.source.origin, tile.etag]

time.sleep(max(0.0, {start!r} - time.time()))
threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


@pytest.mark.parametrize("backend", ["redis", "disk"])
def test_two_worker_processes_make_one_metatile_once(demo_upstream_url, tmp_path, backend):
    if backend == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        except (redis.RedisError, OSError) as exc:
            pytest.skip(f"no Redis at {REDIS_URL} ({exc})")
        cache = {"backend": "redis", "redis_url": REDIS_URL, "key_prefix": redis_prefix()}
    else:
        cache = {"backend": "disk", "path": str(tmp_path / "shared-cache")}
    proxy = CountingProxy(demo_upstream_url, delay=1.0)  # slow enough that both workers ask while it draws
    try:
        start = time.time() + 4.0
        paths = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "service_upstream"), str(REPO / "tests" / "upstream")]
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER.format(paths=paths, instance=str(tmp_path / f"w{i}"),
                                                                  url=proxy.url, cache=cache, centre=CENTRE, start=start)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            for i in range(2)
        ]
        outputs = [worker.communicate(timeout=90) for worker in workers]
        for worker, (out, err) in zip(workers, outputs):
            assert worker.returncode == 0, err[-2000:]
        results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
        assert proxy.getmaps == 1, f"{proxy.getmaps} GetMaps for one metatile"
        for i in ("0", "1", "2"):
            assert results[0][i] == results[1][i] and results[0][i][0] == "upstream"
    finally:
        proxy.stop()
        if backend == "redis":
            from gis_service.cache import RedisCache

            RedisCache(REDIS_URL, cache["key_prefix"], 1, 1).clear()


# ------------------------------------------------------------------------------------------ seeding


def test_seed_against_a_failing_wms_exits_1_and_says_what_failed(faults, demo_upstream_url, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "instance_path": str(tmp_path / "instance"),
        "source": {"type": "upstream", "wms": {"url": faults.url("wms-large/error500"), "layers": ["test"]},
                   "wfs": {"url": demo_upstream_url}, "http": FAST_HTTP},
    }), encoding="utf-8")  # JSON is YAML
    done = subprocess.run([sys.executable, "-m", "gis_service.cli", "seed", "--config", str(config), "--levels", "3",
                           "--bbox", "352700,5703200,352900,5703400"], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "seed: failed: level 3" in done.stderr and "run the same command again" in done.stderr
    assert faults.hits.get("wms-large/error500", 0) >= 1


def test_redis_lock_is_one_holder_expires_and_never_frees_another_holders_lock():
    import redis

    from gis_service.cache import RedisCache

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc})")
    prefix = redis_prefix()
    one, other = RedisCache(REDIS_URL, prefix, 60, 60), RedisCache(REDIS_URL, prefix, 60, 60)  # two workers
    try:
        held = one.try_lock("metatile 5/0/0", 30)
        assert held is not None and other.try_lock("metatile 5/0/0", 30) is None
        held.release()
        assert (again := other.try_lock("metatile 5/0/0", 30)) is not None
        again.release()
        # a holder that died frees the lock after its seconds; its late release leaves the next holder's alone
        dead = one.try_lock("metatile 5/4/0", 0.3)
        assert dead is not None and other.try_lock("metatile 5/4/0", 30) is None
        time.sleep(0.5)
        successor = other.try_lock("metatile 5/4/0", 30)
        assert successor is not None
        dead.release()
        assert one.try_lock("metatile 5/4/0", 30) is None
        successor.release()
    finally:
        one.clear()
        one.close()
        other.close()
