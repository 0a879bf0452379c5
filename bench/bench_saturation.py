"""Benchmark: mixed citizen traffic at the saturation point on the README's deployment, for minutes on end.

Run by hand: .venv/bin/python bench/bench_saturation.py [--minutes 10] [--ramp-seconds 20]

The deployment is the README's: gunicorn with 2 worker processes (gthread, 4 threads each) on the
embedded demo data, the orders on a fresh PostgreSQL database, the cache and the rate limits in Redis
(default limits),
the payment simulator and a real SMTP server (aiosmtpd) beside it. Clients come from 300 addresses
(`X-Forwarded-For` behind one trusted proxy), as citizens behind the municipality's reverse proxy would.

First a ramp finds the saturation point (the smallest number of concurrent clients that reaches 95 %
of the best throughput); then that load runs for `--minutes`. Printed: answers by status and kind,
latencies, throughput and the gunicorn processes' memory per minute. Anything other than a 2xx/3xx,
a 4xx the request deserved, or a deliberate 429/503 counts as an error.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "orders"), str(REPO / "tests"), str(REPO / "bench")]

from bench_support import start_gunicorn  # noqa: E402

from order_support import (  # noqa: E402  (the tests' real parts: PostgreSQL, SMTP, payment simulator)
    PG_ADMIN_URLS,
    Postgres,
    free_port,
    order_body,
    order_settings,
    payment_simulator,
    smtp_server,
    subprocess_env,
    token_of,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
DEMO_CENTRE = (352900.0, 5703300.0)
ADDRESSES = ["Mühlenweg 12a", "Muehlenweg 3", "Lindenhagen Mühlenweg", "Am Anger 5", "Dorfstr. 1", "Kirchweg"]
# Deliberately wrong requests a careless client sends; each must be a 4xx, never a 5xx.
BAD_REQUESTS = ["/api/v1/preview.png?parcel=xyz&scale=1000", "/api/v1/map.png?bbox=1,2,3&width=10&height=10",
                "/api/v1/preview.png?parcel=05987100100090______&scale=⁵⁰⁰", "/api/v1/parcels?q=" + "x" * 5000,
                "/api/v1/map.png?bbox=0,0,900000,9000000&width=4096&height=4096"]


def admin_postgres() -> Postgres:
    import sqlalchemy as sa

    for url in filter(None, PG_ADMIN_URLS):
        try:
            engine = sa.create_engine(url)
            with engine.connect():
                pass
            engine.dispose()
            return Postgres(url)
        except sa.exc.SQLAlchemyError:
            continue
    raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")


def process_tree_rss_mib(pid: int) -> float:
    """RSS of gunicorn's master and its workers together."""
    total = 0.0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)  # (kind, status)
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: list = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            self.latencies[kind].append(seconds)
            self.done += 1
            deliberate_4xx = kind == "bad" and 400 <= status < 500
            if status >= 500 and status != 503 or status == 0 or (400 <= status < 500 and status != 429
                                                                     and not deliberate_4xx):
                self.errors.append((kind, status, detail[:200]))


class Traffic:
    """One citizen's next request, drawn from a mix like the picker's and the order form's."""

    MIX = [("search", 25), ("parcel", 10), ("point", 5), ("preview_cold", 20), ("preview_cached", 20),
           ("map", 10), ("pdf", 3), ("order", 3), ("order_paid", 1), ("bad", 2),
           ("health", 1)]

    def __init__(self, base: str, parcels: list[str], rng: random.Random, simulator):
        self.base = base
        self.simulator = simulator
        self.parcels = parcels
        self.rng = rng
        self.kinds = [k for k, w in self.MIX for _ in range(w)]
        self.session = requests.Session()

    def one(self, tally: Tally) -> None:
        kind = self.rng.choice(self.kinds)
        method, path, body = "GET", "", None
        parcel = self.rng.choice(self.parcels)
        x = DEMO_CENTRE[0] + self.rng.uniform(-400, 400)
        y = DEMO_CENTRE[1] + self.rng.uniform(-400, 400)
        if kind == "search":
            path = "/api/v1/parcels?q=" + requests.utils.quote(self.rng.choice(ADDRESSES))
        elif kind == "parcel":
            path = f"/api/v1/parcels/{parcel}"
        elif kind == "point":
            path = f"/api/v1/parcels?x={x:.1f}&y={y:.1f}"
        elif kind == "preview_cold":
            path = (f"/api/v1/preview.png?parcel={parcel}&scale=1000&paper=A4&orientation=portrait"
                    f"&center={x:.1f},{y:.1f}")
        elif kind == "preview_cached":
            path = f"/api/v1/preview.png?parcel={self.parcels[0]}&scale=1000&paper=A4&orientation=portrait"
        elif kind == "map":
            span = self.rng.uniform(150, 600)
            path = (f"/api/v1/map.png?bbox={x - span:.1f},{y - span / 2:.1f},{x + span:.1f},{y + span / 2:.1f}"
                    "&width=800&height=400")
        elif kind == "pdf":
            path = f"/api/v1/preview.pdf?parcel={parcel}&scale=1000&paper=A4&orientation=portrait"
        elif kind in ("order", "order_paid"):
            method, path = "POST", "/api/v1/orders"
            body = order_body(parcel=self.parcels[0])
        elif kind == "bad":
            path = self.rng.choice(BAD_REQUESTS)
        else:
            path = "/healthz"
        # each request from one of 300 citizens' addresses (the rate limits count per address)
        headers = {"X-Forwarded-For": f"10.1.{self.rng.randrange(2)}.{self.rng.randrange(1, 151)}"}
        if body is not None:
            headers["Idempotency-Key"] = secrets.token_hex(12)
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, json=body, headers=headers, timeout=60,
                                            allow_redirects=False)
            response.content  # noqa: B018  (read the whole body, as a browser would)
            status, detail = response.status_code, (response.text if response.status_code >= 500 else "")
            if kind == "order_paid" and status == 201:
                status, detail = self.pay(response.json(), headers)
        except requests.RequestException as exc:
            status, detail = 0, repr(exc)
        tally.add(kind, status, time.perf_counter() - started, f"{method} {path[:120]}: {detail}")


    def pay(self, order: dict, headers: dict) -> tuple[int, str]:
        """The citizen pays in the simulator and comes back; the worker then makes and mails the extract."""
        start = self.session.get(f"{self.base}/embed/order/{order['order_number']}/pay",
                                 params={"t": token_of(order["status_url"])}, headers=headers,
                                 allow_redirects=False, timeout=60)
        if start.status_code != 303:
            return start.status_code, start.text[:200]
        back = self.simulator.pay(start.headers["Location"])
        answer = self.session.get(back, headers=headers, allow_redirects=False, timeout=60)
        return answer.status_code, answer.text[:200] if answer.status_code >= 400 else ""


def run_load(base: str, parcels: list[str], clients: int, seconds: float, tally: Tally, seed: int,
             simulator) -> None:
    stop = time.monotonic() + seconds

    def citizen(i: int) -> None:
        traffic = Traffic(base, parcels, random.Random(seed * 1000 + i), simulator)
        while time.monotonic() < stop:
            traffic.one(tally)

    threads = [threading.Thread(target=citizen, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)


def parcels_near_centre(base: str) -> list[str]:
    x, y = DEMO_CENTRE
    answer = requests.get(f"{base}/api/v1/parcels", params={"bbox": f"{x - 300},{y - 300},{x + 300},{y + 300}",
                                                             "limit": 50}, timeout=30)
    answer.raise_for_status()
    keys = [feature["id"] for feature in answer.json()["parcels"]]
    return ["05987100100090______"] + keys


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else 0.0)


def report(title: str, tally: Tally, seconds: float) -> None:
    print(f"\n## {title}: {tally.done} requests in {seconds:.0f} s = {tally.done / seconds:.1f} requests/s")
    by_status = Counter()
    for (_, status), n in tally.statuses.items():
        by_status[status] += n
    print("answers by status:", dict(sorted(by_status.items())))
    print("| kind | n | statuses | median ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(tally.latencies):
        values = tally.latencies[kind]
        statuses = {s: n for (k, s), n in sorted(tally.statuses.items()) if k == kind}
        print(f"| {kind} | {len(values)} | {statuses} | {statistics.median(values) * 1000:.0f} | "
              f"{percentile(values, 95) * 1000:.0f} | {percentile(values, 99) * 1000:.0f} |")
    print(f"errors (not a 2xx/3xx, a deserved 4xx or a deliberate 429/503): {len(tally.errors)}")
    for error in tally.errors[:10]:
        print("  ", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--ramp-seconds", type=float, default=20)
    parser.add_argument("--ramp", default="1,2,4,8,16,32")
    parser.add_argument("--clients", type=int, help="skip the ramp and run with this many concurrent clients")
    args = parser.parse_args()
    postgres = admin_postgres()
    prefix = f"gis-bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="bench-saturation-") as tmp, smtp_server() as mailbox, \
            payment_simulator() as simulator:
        tmp_path = Path(tmp)
        port = free_port()
        settings = order_settings(instance=tmp_path / "instance", db_url=postgres.new_database(), port=port,
                                  simulator=simulator, smtp=mailbox)
        settings["cache"] = {"backend": "redis", "redis_url": REDIS_URL, "key_prefix": prefix}
        settings["limits"] = {"rate": {"storage_uri": REDIS_URL, "key_prefix": prefix + "-limits"}}
        settings["server"] = {"trusted_proxies": 1}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        process, base = start_gunicorn(config, port, subprocess_env())
        try:
            parcels = parcels_near_centre(base)
            clients = args.clients
            if clients is None:
                print("| concurrent clients | requests/s | median ms | errors |")
                print("|---|---|---|---|")
                best, rates = 0.0, []
                for n in [int(v) for v in args.ramp.split(",")]:
                    tally = Tally()
                    run_load(base, parcels, n, args.ramp_seconds, tally, seed=n, simulator=simulator)
                    rate = tally.done / args.ramp_seconds
                    all_latencies = [v for values in tally.latencies.values() for v in values]
                    print(f"| {n} | {rate:.1f} | {statistics.median(all_latencies) * 1000:.0f} | {len(tally.errors)} |")
                    rates.append((n, rate))
                    best = max(best, rate)
                clients = next(n for n, rate in rates if rate >= 0.95 * best)
                print(f"saturation point: {clients} concurrent clients ({best:.1f} requests/s at best)")
            tally = Tally()
            memory: list[tuple[float, float]] = []
            seconds = args.minutes * 60
            stop = threading.Event()

            def sample() -> None:
                started = time.monotonic()
                while not stop.is_set():
                    memory.append((time.monotonic() - started, process_tree_rss_mib(process.pid)))
                    stop.wait(10)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            run_load(base, parcels, clients, seconds, tally, seed=7, simulator=simulator)
            elapsed = time.monotonic() - started
            stop.set()
            sampler.join(15)
            report(f"{args.minutes:g} min at {clients} concurrent clients", tally, elapsed)
            print("\ngunicorn master + 2 workers, RSS per minute (MiB):")
            for minute in range(int(args.minutes) + 1):
                values = [m for t, m in memory if minute * 60 <= t < (minute + 1) * 60]
                if values:
                    print(f"  minute {minute + 1}: min {min(values):.0f}, max {max(values):.0f}")
            print(f"mails delivered to the SMTP server: {len(mailbox.messages)}; gunicorn alive: {process.poll() is None}")
        finally:
            process.terminate()
            process.wait(30)
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = client.keys(prefix + "*")  # the cache's and the rate limits' keys
            if keys:
                client.delete(*keys)
            postgres.drop_all()


if __name__ == "__main__":
    main()
