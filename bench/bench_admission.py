"""Benchmark: sixteen 4096² map images with bboxes never asked before, at once, against one server process.

Run by hand: .venv/bin/python bench/bench_admission.py [--requests 16] [--size 4096]
Prints how each was answered, the time until all were, /healthz latency meanwhile and the server's
memory (RSS) before, at the peak and after the burst. tests/test_admission.py runs the same burst.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The demo Gemarkung's extent (EPSG:25832), where every view has parcels to draw.
DEMO_CENTRE = (352900.0, 5703300.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class BurstResult:
    statuses: list[int] = field(default_factory=list)
    retry_after_missing: int = 0
    seconds: float = 0.0
    health_latencies: list[float] = field(default_factory=list)
    health_failures: int = 0
    rss_before: float = 0.0
    rss_peak: float = 0.0
    rss_after: float = 0.0


def start_server(instance: str, threads: int = 8) -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = (
        "import sys; from waitress import serve; from gis_service.app import create_app; "
        "from gis_service.config import load_settings; "
        f"app = create_app(load_settings(None, overrides={{'instance_path': {instance!r}, "
        "'orders': {'worker': {'enabled': False}}, 'cache': {'memory_mb': 0}})); "
        f"serve(app, host='127.0.0.1', port={port}, threads={threads})"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
            return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def get(url: str, timeout: float = 60) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, dict(error.headers)


def burst(base: str, pid: int, requests: int = 16, size: int = 4096, seed: int = 1) -> BurstResult:
    """`requests` map images of size² px at once, each a bbox never asked before; /healthz polled meanwhile."""
    result = BurstResult()
    get(f"{base}/api/v1/map.png?bbox=352800,5703200,352900,5703300&width=256&height=256")  # warm-up
    time.sleep(0.5)
    result.rss_before = rss_mib(pid)
    rng = random.Random(seed)
    urls = []
    for _ in range(requests):
        span = rng.uniform(600, 1400)
        x = DEMO_CENTRE[0] + rng.uniform(-300, 300)
        y = DEMO_CENTRE[1] + rng.uniform(-300, 300)
        urls.append(f"{base}/api/v1/map.png?bbox={x - span / 2:.2f},{y - span / 2:.2f},{x + span / 2:.2f},"
                    f"{y + span / 2:.2f}&width={size}&height={size}")
    done = threading.Event()
    lock = threading.Lock()

    def fetch(url: str) -> None:
        status, headers = get(url)
        with lock:
            result.statuses.append(status)
            if status == 503 and "Retry-After" not in headers:
                result.retry_after_missing += 1

    def watch() -> None:
        while not done.is_set():
            result.rss_peak = max(result.rss_peak, rss_mib(pid))
            start = time.perf_counter()
            try:
                status, _ = get(f"{base}/healthz", timeout=10)
                if status != 200:
                    result.health_failures += 1
            except OSError:
                result.health_failures += 1
            result.health_latencies.append(time.perf_counter() - start)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    workers = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    result.seconds = time.perf_counter() - started
    done.set()
    watcher.join(15)
    time.sleep(1.0)
    result.rss_after = rss_mib(pid)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as instance:
        process, base = start_server(instance)
        try:
            r = burst(base, process.pid, args.requests, args.size)
        finally:
            process.kill()
    counts = {status: r.statuses.count(status) for status in sorted(set(r.statuses))}
    print(f"{args.requests} × {args.size}² map.png at once: answered {counts} in {r.seconds:.1f} s")
    print(f"/healthz meanwhile: {len(r.health_latencies)} polls, max {max(r.health_latencies):.2f} s, "
          f"{r.health_failures} failed")
    print(f"server RSS: {r.rss_before:.0f} MiB before, {r.rss_peak:.0f} MiB peak "
          f"(+{r.rss_peak - r.rss_before:.0f}), {r.rss_after:.0f} MiB after")


if __name__ == "__main__":
    main()
