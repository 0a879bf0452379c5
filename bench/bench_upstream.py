"""Preview through the MapServer upstream (cold and cached) against a direct GetMap of the same image; run by hand."""

from __future__ import annotations

import argparse
import importlib.util
import io
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import requests  # noqa: E402
from PIL import Image  # noqa: E402

TARGET_FACTOR, TARGET_EXTRA_MS, TARGET_CACHED_MS = 1.15, 30.0, 5.0


def load_serve():
    spec = importlib.util.spec_from_file_location("gis_fixtures_mapserver_serve", ROOT / "fixtures" / "mapserver" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def mapserver_missing(dataset: str) -> str | None:
    """Why MapServer cannot serve `dataset` here, as a sentence for stderr, or None when it can."""
    reason = load_serve().missing_reason(dataset)
    return f"cannot serve {dataset}: {reason}" if reason else None


def upstream_source(dataset: str, url: str) -> dict:
    """The service's "source" settings: WMS and WFS at `url` (MapServer, or a proxy before it), the dataset's Land."""
    land = "02" if dataset == "neuwerk" else "05"
    return {"type": "upstream", "wms": {"url": url}, "wfs": {"url": url}, "default_land": land}


def middle_square(extent: tuple[float, float, float, float], side_m: float = 3000.0) -> str:
    """A bbox parameter for a square at the middle of the data: parcel searches are limited to 10 km²."""
    minx, miny, maxx, maxy = extent
    cx, cy, half = (minx + maxx) / 2, (miny + maxy) / 2, side_m / 2
    return f"{cx - half},{cy - half},{cx + half},{cy + half}"


def start_mapserver(dataset: str, maxsize: int) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "fixtures" / "mapserver" / "serve.py"), "--dataset", dataset, "--port", str(port),
         "--maxsize", str(maxsize)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/{dataset}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url, params={"SERVICE": "WMS", "REQUEST": "GetCapabilities"}, timeout=5).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"MapServer did not start on port {port}")


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000.0


def p90_ms(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)] * 1000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="neuwerk", choices=["neuwerk", "demo"],
                        help="what MapServer serves (neuwerk needs ../shared/data)")
    parser.add_argument("--previews", type=int, default=30, help="distinct cold previews (each a different parcel)")
    parser.add_argument("--cached", type=int, default=200, help="requests for one cached preview")
    parser.add_argument("--paper", default="A4")
    parser.add_argument("--orientation", default="portrait")
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--dpi", type=int, default=96)
    parser.add_argument("--maxsize", type=int, default=4096,
                        help="MapServer MAXSIZE; the direct GetMap is one request, so the face must fit (A3 300 dpi: 8192)")
    args = parser.parse_args(argv)

    if missing := mapserver_missing(args.dataset):
        print(missing, file=sys.stderr)
        return 2

    from waitress.server import create_server

    from gis_service.app import create_app
    from gis_service.config import load_settings

    # MapServer in a process of its own, as a real upstream is: its HTTP wrapper must not share
    # this process's interpreter lock with the service being measured.
    mapserver, upstream = start_mapserver(args.dataset, args.maxsize)
    instance = Path(tempfile.mkdtemp(prefix="bench-upstream-"))
    settings = load_settings(None, overrides={
        "instance_path": str(instance),
        "source": upstream_source(args.dataset, upstream),
        "preview": {"scales": sorted({500, 1000, 2000, args.scale}), "default_scale": 1000},
    })
    app = create_app(settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    service = f"http://127.0.0.1:{server.effective_port}"
    previews = app.extensions["gis_previews"]
    wms = app.extensions["gis_source"].wms

    http = requests.Session()
    direct = requests.Session()
    print(f"MapServer {upstream} ({args.dataset}); service {service}; cache {instance / 'cache'}", flush=True)

    # Parcels as a citizen meets them: found by a search first (the WFS answer is then known).
    box = middle_square(app.extensions["gis_services"].source.info().extent)
    body = http.get(f"{service}/api/v1/parcels", params={"bbox": box, "limit": 100}).json()
    keys = [f["id"] for f in body["parcels"]]
    random.Random(7).shuffle(keys)
    keys = keys[: args.previews + 5]

    def params(key: str) -> dict:
        return {"parcel": key, "scale": args.scale, "paper": args.paper, "orientation": args.orientation, "dpi": args.dpi}

    def getmap_params(key: str) -> dict:
        plan = previews.plan_from_args({k: str(v) for k, v in params(key).items()})
        width, height = plan.layout.map_face_size_px
        return wms.get_map_params(plan.layout.bbox, width, height, plan.layout.dpi)

    # Warm-up: capabilities, connections, fonts, MapServer's file cache; not measured.
    for key in keys[:5]:
        http.get(f"{service}/api/v1/parcels/{key}")
        direct.get(upstream, params=getmap_params(key)).raise_for_status()
        http.get(f"{service}/api/v1/preview.png", params=params(key)).raise_for_status()

    cold, straight, cold_lookup = [], [], []
    for i, key in enumerate(keys[5:5 + args.previews]):
        http.get(f"{service}/api/v1/parcels/{key}")  # the search result the citizen clicked
        gm = getmap_params(key)

        def time_direct(gm: dict = gm) -> None:
            start = time.perf_counter()
            answer = direct.get(upstream, params=gm)
            answer.raise_for_status()
            Image.open(io.BytesIO(answer.content)).verify()
            straight.append(time.perf_counter() - start)

        def time_service(key: str = key) -> None:
            start = time.perf_counter()
            answer = http.get(f"{service}/api/v1/preview.png", params=params(key))
            answer.raise_for_status()
            cold.append(time.perf_counter() - start)
            assert answer.headers["X-Map-Source"].startswith("upstream"), answer.headers["X-Map-Source"]

        # Alternate the order, so neither side always runs on a warmer MapServer.
        for step in ((time_direct, time_service) if i % 2 == 0 else (time_service, time_direct)):
            step()

    # Cold including the WFS lookup of a parcel never seen (preview link opened directly): a
    # fresh app, so that its parcel cache is empty.
    fresh = create_app(load_settings(None, overrides={
        "instance_path": str(Path(tempfile.mkdtemp(prefix="bench-upstream-fresh-"))),
        "source": upstream_source(args.dataset, upstream),
        "preview": {"scales": sorted({500, 1000, 2000, args.scale}), "default_scale": 1000},
    })).test_client()
    fresh.get("/healthz")
    fresh.get("/api/v1/preview.png", query_string=params(keys[0]))
    for key in keys[5:5 + min(10, args.previews)]:
        start = time.perf_counter()
        assert fresh.get("/api/v1/preview.png", query_string=params(key)).status_code == 200
        cold_lookup.append(time.perf_counter() - start)

    cached = []
    key = keys[5]
    for _ in range(args.cached):
        start = time.perf_counter()
        answer = http.get(f"{service}/api/v1/preview.png", params=params(key))
        cached.append(time.perf_counter() - start)
        assert answer.status_code == 200

    mapserver.terminate()
    mapserver.wait(10)

    direct_ms, cold_ms, cached_ms = median_ms(straight), median_ms(cold), median_ms(cached)
    limit = TARGET_FACTOR * direct_ms + TARGET_EXTRA_MS
    rows = [
        ("direct GetMap (same image, same MapServer)", straight),
        ("preview cold (parcel known from the search)", cold),
        ("preview cold incl. WFS parcel lookup", cold_lookup),
        ("preview cached", cached),
    ]
    face = previews.plan_from_args({k: str(v) for k, v in params(keys[5]).items()}).layout
    print()
    print(f"{args.paper} {args.orientation} 1:{args.scale} {args.dpi} dpi, map face "
          f"{face.map_face_size_px[0]}×{face.map_face_size_px[1]} px, page {face.image_px[0]}×{face.image_px[1]} px; "
          f"{args.dataset} via MapServer CGI (own process); service over HTTP (waitress, 4 threads)")
    print()
    print("| measurement | n | median | p90 |")
    print("|---|---|---|---|")
    for name, values in rows:
        print(f"| {name} | {len(values)} | {median_ms(values):.1f} ms | {p90_ms(values):.1f} ms |")
    print()
    verdict_cold = "met" if cold_ms <= limit else "MISSED"
    verdict_cached = "met" if cached_ms < TARGET_CACHED_MS else "MISSED"
    print(f"cold target: median ≤ {TARGET_FACTOR} × {direct_ms:.1f} + {TARGET_EXTRA_MS:.0f} = {limit:.1f} ms → "
          f"{cold_ms:.1f} ms, {verdict_cold} (overhead over the direct GetMap: {cold_ms - direct_ms:+.1f} ms)")
    print(f"cached target: median < {TARGET_CACHED_MS:.0f} ms → {cached_ms:.2f} ms, {verdict_cached}")
    return 0 if verdict_cold == verdict_cached == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
