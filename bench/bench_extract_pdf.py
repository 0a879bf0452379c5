"""The official extract PDF (A3, 300 dpi, cold) through the MapServer upstream against a direct GetMap of the same face; run by hand."""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from bench_upstream import mapserver_missing, median_ms, middle_square, p90_ms, start_mapserver, upstream_source  # noqa: E402

TARGET_FACTOR, TARGET_EXTRA_MS = 1.15, 50.0


def raster_pdf(page, pdf_info) -> bytes:
    """Yesterday's way, for comparison only: the whole page composed as one picture (face decoded,
    highlight and furniture painted), put into a PDF by reportlab (which encodes it again)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from renderers.export import page_size_pt

    image = page.image
    out = io.BytesIO()
    width, height = page_size_pt(page.layout)
    c = canvas.Canvas(out, pagesize=(width, height), pageCompression=1)
    c.setTitle(pdf_info)
    c.drawImage(ImageReader(image), 0, 0, width=width, height=height)
    c.showPage()
    c.save()
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="neuwerk", choices=["neuwerk", "demo"],
                        help="what MapServer serves (neuwerk needs ../shared/data)")
    parser.add_argument("--extracts", type=int, default=10, help="cold extracts (each a different parcel)")
    parser.add_argument("--paper", default="A3")
    parser.add_argument("--orientation", default="portrait")
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--maxsize", type=int, default=8192, help="MapServer MAXSIZE: the face must come in one GetMap")
    parser.add_argument("--raster", action="store_true", help="also time the old raster page path on the same faces")
    args = parser.parse_args(argv)

    if missing := mapserver_missing(args.dataset):
        print(missing, file=sys.stderr)
        return 2

    from gis_service.app import create_app
    from gis_service.config import load_settings
    from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec

    mapserver, upstream = start_mapserver(args.dataset, args.maxsize)
    settings = load_settings(None, overrides={
        "instance_path": str(Path(tempfile.mkdtemp(prefix="bench-extract-"))),
        "source": upstream_source(args.dataset, upstream),
        "preview": {"scales": sorted({500, 1000, 2000, args.scale}), "default_scale": 1000},
    })
    app = create_app(settings)
    services = app.extensions["gis_services"]
    producer = ExtractProducer(services.pipeline, settings.orders.office, settings.orders.extract)
    wms = app.extensions["gis_source"].wms
    direct = requests.Session()
    print(f"MapServer {upstream} ({args.dataset}); extract at {settings.orders.extract.dpi} dpi", flush=True)

    box = middle_square(services.source.info().extent)
    body = app.test_client().get("/api/v1/parcels", query_string={"bbox": box, "limit": 100}).get_json()
    keys = [f["id"] for f in body["parcels"]]
    random.Random(11).shuffle(keys)
    keys = keys[: args.extracts + 3]

    def spec(key: str) -> ExtractSpec:
        return ExtractSpec(order_number="LK-2026-BENCH", parcel_key=key, paper=args.paper, orientation=args.orientation,
                           scale=args.scale, centre=None, created=date.today(), verification_code="K7QM-4XTP-9WRC",
                           verification_url="https://kataster.example.de/verify/K7QM4XTP9WRC")

    def getmap(key: str) -> float:
        layout = producer.plan(spec(key)).layout
        width, height = layout.map_face_size_px
        start = time.perf_counter()
        answer = direct.get(upstream, params=wms.get_map_params(layout.bbox, width, height, layout.dpi))
        answer.raise_for_status()
        Image.open(io.BytesIO(answer.content)).verify()
        return time.perf_counter() - start

    # Warm-up (capabilities, connections, fonts, MapServer's file cache); each parcel looked up once, as
    # the order form did before the extract is made.
    for key in keys:
        services.parcels.get(key)
    for key in keys[:3]:
        getmap(key)
        producer.produce(spec(key))

    straight, cold, sizes, raster, document = [], [], [], [], []
    for i, key in enumerate(keys[3:]):
        def time_extract(key: str = key) -> None:
            start = time.perf_counter()
            pdf = producer.produce(spec(key))
            cold.append(time.perf_counter() - start)
            sizes.append(len(pdf))

        # Alternate the order, so neither side always runs on a warmer MapServer.
        for step in ((lambda: straight.append(getmap(key)), time_extract) if i % 2 == 0
                     else (time_extract, lambda: straight.append(getmap(key)))):
            step()
        # The face is cached now: these time the page work alone, the new way and (--raster) the old.
        page = producer.page(spec(key))
        start = time.perf_counter()
        page.pdf(title="Auszug aus der Liegenschaftskarte LK-2026-BENCH", author=settings.orders.office.name)
        document.append(time.perf_counter() - start)
        if args.raster:
            start = time.perf_counter()
            raster_pdf(page, "raster")
            raster.append(time.perf_counter() - start)

    mapserver.terminate()
    mapserver.wait(10)

    layout = producer.plan(spec(keys[3])).layout
    direct_ms, cold_ms = median_ms(straight), median_ms(cold)
    limit = TARGET_FACTOR * direct_ms + TARGET_EXTRA_MS
    print()
    print(f"{args.paper} {args.orientation} 1:{args.scale} {layout.dpi} dpi, map face "
          f"{layout.map_face_size_px[0]}×{layout.map_face_size_px[1]} px; {args.dataset} via MapServer CGI (own process)")
    print()
    print("| measurement | n | median | p90 |")
    print("|---|---|---|---|")
    print(f"| direct GetMap (same face, same MapServer) | {len(straight)} | {direct_ms:.1f} ms | {p90_ms(straight):.1f} ms |")
    print(f"| official extract PDF, cold (GetMap + PDF) | {len(cold)} | {cold_ms:.1f} ms | {p90_ms(cold):.1f} ms |")
    over = [c - d for c, d in zip(cold, straight)]
    print(f"| extract minus GetMap, same parcel | {len(over)} | {median_ms(over):.1f} ms | {p90_ms(over):.1f} ms |")
    print(f"| the PDF alone (face cached, PNG data embedded) | {len(document)} | {median_ms(document):.1f} ms "
          f"| {p90_ms(document):.1f} ms |")
    if raster:
        print(f"| for comparison: raster page + PDF of it (face cached) | {len(raster)} | {median_ms(raster):.1f} ms "
              f"| {p90_ms(raster):.1f} ms |")
    print()
    print(f"PDF size median {statistics.median(sizes) / 1024:.0f} KiB")
    verdict = "met" if cold_ms <= limit else "MISSED"
    print(f"target: median ≤ {TARGET_FACTOR} × {direct_ms:.1f} + {TARGET_EXTRA_MS:.0f} = {limit:.1f} ms → {cold_ms:.1f} ms, "
          f"{verdict} (over the direct GetMap: {cold_ms - direct_ms:+.1f} ms)")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
