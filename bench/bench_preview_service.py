"""Benchmark: cold previews through the whole PreviewService on the demo data (search index, drawing, PNG, cache write).

Run by hand: .venv/bin/python bench/bench_preview_service.py
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.config import load_settings  # noqa: E402
from gis_service.wiring import build_services  # noqa: E402


def main() -> None:
    services = build_services(load_settings(None, overrides={
        "instance_path": tempfile.mkdtemp(prefix="bench-preview-"),
        "orders": {"worker": {"enabled": False}},
        "preview": {"max_dpi": 300},
    }))
    previews = services.previews
    parcels = [p for p in services.source.parcels if p.kennzeichen.flur in (1, 2)][:40]

    def cold(paper: str, dpi: int, count: int) -> tuple[float, float]:
        times = []
        for i, parcel in enumerate(parcels[:count]):
            # a centre never asked for before, so nothing comes from the cache
            centre = parcel.geometry.centroid
            start = time.perf_counter()
            plan = previews.plan_from_args({
                "parcel": parcel.key, "paper": paper, "dpi": str(dpi), "scale": "1000",
                "center": f"{centre.x + i * 0.37},{centre.y}",
            })
            previews.png(plan)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000, max(times) * 1000

    print("| case | n | median | max |")
    print("|---|---|---|---|")
    for paper, dpi, count in (("A4", 96, 40), ("A3", 300, 8)):
        median, peak = cold(paper, dpi, count)
        print(f"| {paper} portrait 1:1000, {dpi} dpi, cold | {count} | {median:.1f} ms | {peak:.1f} ms |")
    print(f"peak RSS of the whole process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
