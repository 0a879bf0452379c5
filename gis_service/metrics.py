"""Prometheus metrics of the service, summed across gunicorn workers (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

# prometheus-client decides at import whether values live in files shared by the workers: the
# process manager (deploy/gunicorn.conf.py) sets this variable before any worker starts.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

HTTP_REQUESTS = Counter("gis_http_requests_total", "HTTP requests answered, by route pattern, method and status",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("gis_http_request_duration_seconds", "Time to answer, by route pattern", ["route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
MAP_ANSWERS = Counter("gis_map_answers_total",
                      "Images answered, by where the map came from (upstream, local, cache = stale during an "
                      "upstream failure, fallback)", ["source"])
UPSTREAM_REQUESTS = Counter("gis_upstream_requests_total", "Requests to the upstream, by service and outcome "
                            "(ok, timeout, unavailable, circuit-open, bad-response, …)", ["service", "outcome"])
UPSTREAM_SECONDS = Histogram("gis_upstream_request_duration_seconds", "Upstream request time incl. retries",
                             ["service"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
UPSTREAM_CIRCUIT_OPEN = Gauge("gis_upstream_circuit_open", "1 while the circuit to this upstream service is open "
                              "in any worker", ["service"], multiprocess_mode="max")
CACHE_LOOKUPS = Counter("gis_cache_lookups_total", "Cache lookups: hit (fresh), stale (kept for outages), miss",
                        ["result"])
METATILES = Counter("gis_metatiles_total", "Metatiles: made (one GetMap or drawing, cut into tiles), coalesced (a "
                    "request that waited for another's metatile instead of asking again), failed", ["outcome"])
RENDER_SECONDS = Histogram("gis_render_duration_seconds", "Time a render held its place in the render limiter",
                           buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
RENDER_WAITING = Gauge("gis_render_queue_length", "Renders waiting for the render limiter, all workers",
                       multiprocess_mode="livesum")
RENDER_REFUSED = Counter("gis_render_refused_total", "Renders refused with 503 because the queue was full or too slow")


@dataclass(frozen=True)
class Reading:
    """A value read when metrics are scraped (from the database, shared by every worker), not counted in a process."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def count_request(route: str | None, method: str, status: int, seconds: float, map_source: str | None) -> None:
    route = route or "unmatched"  # a 404's path is not a label: it would grow without bound
    HTTP_REQUESTS.labels(route, method if method in _METHODS else "other", str(status)).inc()
    HTTP_SECONDS.labels(route).observe(seconds)
    if map_source:
        MAP_ANSWERS.labels(map_source.split(";")[0].strip()).inc()


def count_upstream(service: str, outcome: str, seconds: float, circuit_open: bool) -> None:
    UPSTREAM_REQUESTS.labels(service, outcome).inc()
    if outcome != "circuit-open":
        UPSTREAM_SECONDS.labels(service).observe(seconds)
    UPSTREAM_CIRCUIT_OPEN.labels(service).set(1 if circuit_open else 0)


def count_metatile(outcome: str) -> None:
    METATILES.labels(outcome).inc()


def count_cache_lookup(result: str) -> None:
    CACHE_LOOKUPS.labels(result).inc()


def exposition(readings: Iterable[Reading] = ()) -> bytes:
    """The text format: this process's (or every worker's) counters, then the readings taken now."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    families: dict[str, GaugeMetricFamily] = {}
    for reading in readings:
        family = families.get(reading.name)
        if family is None:
            family = families[reading.name] = GaugeMetricFamily(reading.name, reading.help,
                                                                 labels=sorted(reading.labels))
        family.add_metric([reading.labels[k] for k in sorted(reading.labels)], reading.value)
    read = CollectorRegistry()
    read.register(_Families(list(families.values())))
    return counted + generate_latest(read)


class _Families:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families
