"""Benchmark: parcel search by key and by point over the demo data and a generated set of 100,000 parcels.

Run by hand: .venv/bin/python bench/bench_search.py [--parcels 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write as ogr_write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.config import DEMO_DATASET  # noqa: E402
from gis_service.parcels import ParcelService  # noqa: E402
from wms_clients.base import FieldMapping  # noqa: E402
from wms_clients.local import LocalSource, LocalSourceConfig  # noqa: E402


def generate_grid(path: Path, count: int) -> None:
    """`count` square parcels of 20 m × 30 m in a grid, spread over 4 Fluren, NRW field names."""
    columns = int(count**0.5) + 1
    xs = 350_000 + (np.arange(count) % columns) * 20.0
    ys = 5_700_000 + (np.arange(count) // columns) * 30.0
    geometries = shapely.multipolygons([[shapely.box(x, y, x + 20, y + 30)] for x, y in zip(xs, ys)])
    flur = (np.arange(count) % 4) + 1
    zaehler = (np.arange(count) // 4) + 1
    keys = np.array([f"059871{f:03d}{z:05d}______" for f, z in zip(flur, zaehler)], dtype=object)
    fields = {
        "flstkennz": keys,
        "gemaschl": np.array(["059871"] * count, dtype=object),
        "gemarkung": np.array(["Lindenhagen"] * count, dtype=object),
        "flur": flur.astype("int32"),
        "flstnrzae": np.array([str(z) for z in zaehler], dtype=object),
        "flaeche": np.full(count, 600.0),
        "lagebeztxt": np.array([f"Teststraße {i % 200 + 1}" for i in range(count)], dtype=object),
    }
    ogr_write(
        path,
        shapely.to_wkb(geometries),
        list(fields.values()),
        list(fields.keys()),
        layer="flurstueck",
        driver="GPKG",
        geometry_type="MultiPolygon",
        crs="EPSG:25832",
    )


def measure(label: str, source: LocalSource, rounds: int = 2000) -> None:
    service = ParcelService(source)
    rng = random.Random(1)
    parcels = [rng.choice(source.parcels) for _ in range(rounds)]
    points = [p.geometry.representative_point() for p in parcels]

    def timed(fn, items):
        times = []
        for item in items:
            start = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000, max(times) * 1000

    key_median, key_peak = timed(lambda p: service.get(p.key), parcels)
    point_median, point_peak = timed(lambda pt: service.search_point(pt.x, pt.y), points)
    print(f"| {label} | {len(source.parcels):,} | {key_median:.3f} ms | {key_peak:.2f} ms | {point_median:.3f} ms | {point_peak:.2f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=100_000)
    args = parser.parse_args()
    print("| data | parcels | key median | key max | point median | point max |")
    print("|---|---|---|---|---|---|")
    measure("demo", LocalSource(LocalSourceConfig(dataset=DEMO_DATASET)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grid.gpkg"
        generate_grid(path, args.parcels)
        start = time.perf_counter()
        source = LocalSource(
            LocalSourceConfig(dataset=path, fields=FieldMapping(land=None, nenner=None, aktualitaet=None, nutzung=None))
        )
        load = time.perf_counter() - start
        measure(f"generated grid (load {load:.1f} s)", source)


if __name__ == "__main__":
    main()
