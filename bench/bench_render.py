"""Preview render time and peak memory (map face + compose + PNG) on synthetic town quarters; run by hand."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (paper, orientation, scale, dpi, runs, supersample override or None)
CASES = {
    "A4-portrait-1000-96dpi": ("A4", "portrait", 1000, 96, 20, None),
    "A4-portrait-1000-96dpi-no-aa": ("A4", "portrait", 1000, 96, 20, 1),
    "A4-landscape-500-96dpi": ("A4", "landscape", 500, 96, 20, None),
    "A3-portrait-1000-300dpi": ("A3", "portrait", 1000, 300, 5, None),
    "A3-landscape-1000-300dpi": ("A3", "landscape", 1000, 300, 5, None),
    "A4-portrait-1000-96dpi-fluren": ("A4", "portrait", 1000, 96, 20, None),
    "A3-portrait-1000-300dpi-fluren": ("A3", "portrait", 1000, 300, 5, None),
}
# These cases split the town into two Fluren along a street: Flur boundary and Flur numbers drawn.
FLUREN_CASES = {"A4-portrait-1000-96dpi-fluren", "A3-portrait-1000-300dpi-fluren"}
CENTRE = (353210.0, 5703420.0)


def run_case(name: str) -> dict:
    """Runs in its own process so that peak RSS belongs to this case alone."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "renderers")]
    import render_synth
    import shapely

    from renderers import export
    from renderers.compose import TitleBlock, compose_page
    from renderers.layout import make_layout
    from renderers.map import draw_map_face
    from renderers.pdf import DocumentInfo, page_pdf

    paper, orientation, scale, dpi, runs, supersample = CASES[name]
    layout = make_layout(paper, orientation, scale, dpi, CENTRE)
    minx, miny, maxx, maxy = layout.bbox
    features = render_synth.town(CENTRE, maxx - minx, maxy - miny)
    if name in FLUREN_CASES:
        features.fluren = render_synth.two_fluren(CENTRE, maxx - minx, maxy - miny)
    parcel = render_synth.pick_parcel(features, CENTRE, with_nenner=True)
    title = TitleBlock.for_parcel(parcel, layout, created="2024-06-01")
    attribution = "© Übungsamt für Bodenmanagement, dl-de/zero-2-0 (synthetische Daten)"
    bbox = shapely.box(*layout.bbox)
    in_face = {
        "parcels": sum(p.geometry.intersects(bbox) for p in features.parcels),
        "buildings": sum(b.geometry.intersects(bbox) for b in features.buildings),
        "addresses": sum(a.point.intersects(bbox) for a in features.addresses),
    }

    def once() -> tuple[float, float, float, int]:
        t0 = time.perf_counter()
        face = draw_map_face(layout, features, supersample=supersample)
        t1 = time.perf_counter()
        page = compose_page(layout, face, parcel=parcel, title=title, attribution=attribution)
        t2 = time.perf_counter()
        png = export.to_png(page)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2, len(png)

    first = sum(once()[:3])  # fonts loaded, caches cold
    samples = [once() for _ in range(runs)]
    total = [sum(s[:3]) * 1000 for s in samples]
    result = {
        "case": name,
        "image_px": list(layout.image_px),
        "in_face": in_face,
        "runs": runs,
        "first_ms": first * 1000,
        "min_ms": min(total),
        "median_ms": statistics.median(total),
        "max_ms": max(total),
        "face_ms": statistics.median(s[0] for s in samples) * 1000,
        "compose_ms": statistics.median(s[1] for s in samples) * 1000,
        "png_ms": statistics.median(s[2] for s in samples) * 1000,
        "png_kib": samples[-1][3] / 1024,
    }
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if dpi >= 300:
        face = draw_map_face(layout, features)
        page = compose_page(layout, face, parcel=parcel, title=title, attribution=attribution)
        info = DocumentInfo(title="Liegenschaftskarte", subject="Bench", author="", created=datetime.now(timezone.utc))
        t0 = time.perf_counter()
        # The vector page around the face (the face encoded once, losslessly), as previews make it.
        pdf = page_pdf(layout, face, parcel_geometry=parcel.geometry, title=title, attribution=attribution,
                       watermark=None, heading="Liegenschaftskarte", info=info, alt_text="Karte")
        t1 = time.perf_counter()
        tif = export.to_geotiff(page, layout)
        t2 = time.perf_counter()
        result.update(
            pdf_ms=(t1 - t0) * 1000, pdf_kib=len(pdf) / 1024, tif_ms=(t2 - t1) * 1000, tif_kib=len(tif) / 1024
        )
        result["export_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process (internal)")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run (default: all)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    rows = []
    for name in args.only or CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name], check=True, capture_output=True, text=True, cwd=ROOT
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    header = (
        f"{'case':28} {'image px':>11} {'parcels':>7} {'first':>7} {'min':>7} {'median':>7} {'max':>7} "
        f"{'face':>6} {'compose':>7} {'png':>6} {'RSS MiB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        size = "×".join(str(v) for v in r["image_px"])
        print(
            f"{r['case']:28} {size:>11} {r['in_face']['parcels']:>7} {r['first_ms']:7.1f} "
            f"{r['min_ms']:7.1f} {r['median_ms']:7.1f} {r['max_ms']:7.1f} {r['face_ms']:6.1f} "
            f"{r['compose_ms']:7.1f} {r['png_ms']:6.1f} {r['peak_rss_mib']:7.0f}"
        )
    for r in rows:
        if "pdf_ms" in r:
            print(
                f"{r['case']}: PDF {r['pdf_ms']:.0f} ms ({r['pdf_kib']:.0f} KiB), "
                f"GeoTIFF {r['tif_ms']:.0f} ms ({r['tif_kib']:.0f} KiB); peak RSS with exports "
                f"{r['export_rss_mib']:.0f} MiB"
            )
    print(
        "times in ms (map face + compose + PNG encode); targets: A4 96 dpi median < 50 ms, "
        "A3 300 dpi median < 1500 ms and peak RSS < 400 MiB"
    )
    # Other work on the machine inflates median and max; min is the cost on a quiet machine.
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
