"""A cached tile on one gunicorn worker (wrk), the same with a matching ETag (304), and what a cold metatile costs; run by hand.

Run: .venv/bin/python bench/bench_tiles.py [--seconds 20] [--connections 4]
Needs wrk (Debian package wrk; scripts/install installs it). Goal: a cached tile at ≥ 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import requests  # noqa: E402
from bench_support import start_gunicorn  # noqa: E402

DEMO_CENTRE = (352_850.0, 5_703_320.0)
TARGET_RPS = 1000.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None) -> tuple[float, str, str]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # the latency distribution's lines ("     50%    2.81ms"), not a "+/- Stdev" column that ends in 50%
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads of the one worker")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    instance = Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    config = instance / "config.yaml"
    # As deployed (disk cache with the memory layer in front), minus the request log lines on stdout.
    config.write_text(f"instance_path: {instance}\nlogging: {{requests: false}}\norders: {{worker: {{enabled: false}}}}\n",
                      encoding="utf-8")
    process, base = start_gunicorn(config, free_port(), {**os.environ, "PYTHONPATH": str(ROOT)}, workers=1,
                                   threads=args.threads)
    try:
        grid = requests.get(base + "/tiles/map.json", timeout=10).json()
        z = grid["scaleLevels"]["1000"]
        res = grid["resolutions"][z] * grid["tileSize"]
        x = int((DEMO_CENTRE[0] - grid["origin"][0]) // res)
        y = int((grid["origin"][1] - DEMO_CENTRE[1]) // res)
        url = base + grid["url"].format(z=z, x=x, y=y)

        started = time.perf_counter()
        first = requests.get(url, timeout=60)
        cold_ms = (time.perf_counter() - started) * 1000
        neighbour = base + grid["url"].format(z=z, x=x + (1 if x % 4 < 3 else -1), y=y)
        started = time.perf_counter()
        requests.get(neighbour, timeout=60)
        sibling_ms = (time.perf_counter() - started) * 1000
        tag = first.headers["ETag"]

        rps, p50, p99 = wrk(url, args.seconds, args.connections)
        rps304, p50_304, p99_304 = wrk(url, args.seconds, args.connections, {"If-None-Match": tag})
        print(f"one gunicorn worker (gthread, {args.threads} threads), wrk -t2 -c{args.connections} "
              f"-d{args.seconds}s, demo data, tile {z}/{y}/{x} ({len(first.content):,} bytes)\n")
        print("| case | requests/s | p50 | p99 |")
        print("|---|---|---|---|")
        print(f"| cached tile, 200 | {rps:,.0f} | {p50} | {p99} |")
        print(f"| cached tile, If-None-Match → 304 | {rps304:,.0f} | {p50_304} | {p99_304} |")
        print(f"\nfirst tile of a metatile (drawn, 4×4 tiles + 256 px buffer, cut, stored): {cold_ms:.0f} ms; "
              f"another tile of it afterwards: {sibling_ms:.1f} ms")
        verdict = "met" if rps >= TARGET_RPS else "NOT met"
        print(f"goal ≥ {TARGET_RPS:,.0f} requests/s for a cached tile: {verdict}")
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
