"""What the electronic seal adds to an official extract: PAdES signing time on real extract PDFs; run by hand.

The extracts are made by the service's own ExtractProducer on the demo data at the extract dpi; the seal
certificate and CA are made at run time (as in the tests). B-T uses pyHanko's in-process test TSA, so its
figure is the signing work for a timestamp without the network round trip to a real authority.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

PARCEL = "05987100100090______"  # the order tests' parcel in the demo Gemarkung


def extracts(instance: Path) -> dict[str, bytes]:
    from gis_service.config import load_settings
    from gis_service.orders.fulfilment import ExtractProducer, ExtractSpec
    from gis_service.wiring import build_services

    settings = load_settings(None, overrides={"instance_path": str(instance), "orders": {"worker": {"enabled": False}}})
    services = build_services(settings)
    producer = ExtractProducer(services.pipeline, settings.orders.office, settings.orders.extract)
    made = {}
    for paper in ("A4", "A3"):
        spec = ExtractSpec(order_number="LK-2026-BENCH1", parcel_key=PARCEL, paper=paper, orientation="portrait",
                           scale=1000, centre=None, created=date.today(), verification_code="7K3QD-M9XRT-2BHVW",
                           verification_url="https://kataster.example/verify/7K3QD-M9XRT-2BHVW")
        started = time.perf_counter()
        made[paper] = producer.produce(spec)
        print(f"  made the {paper} extract at {settings.orders.extract.dpi} dpi: {len(made[paper]) / 1e6:.2f} MB "
              f"in {(time.perf_counter() - started) * 1000:.0f} ms", file=sys.stderr)
    return made


def timings(seal, pdf: bytes, runs: int) -> list[float]:
    seal(pdf)  # warm-up: imports, key loading
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        seal(pdf)
        result.append((time.perf_counter() - started) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from seal_support import PASSPHRASE, dummy_timestamper, make_pki

    from gis_service.config import SealSettings
    from gis_service.orders.seal import Sealer, load_sealer

    with tempfile.TemporaryDirectory() as folder:
        pdfs = extracts(Path(folder) / "instance")
        pki = make_pki()
        p12 = Path(folder) / "siegel.p12"
        p12.write_bytes(pki.pkcs12)
        started = time.perf_counter()
        b_b = load_sealer(SealSettings(pkcs12_path=p12), environ={"GIS_SERVICE_SEAL_PASSPHRASE": PASSPHRASE})
        load_ms = (time.perf_counter() - started) * 1000
        b_t = Sealer(b_b.signer, timestamper=dummy_timestamper(pki))

    print(f"seal certificate: EC P-256, loaded from PKCS#12 in {load_ms:.0f} ms (once, at start)\n")
    print("| extract | PDF size | level | runs | median | max | growth |")
    print("|---|---|---|---|---|---|---|")
    for paper, pdf in pdfs.items():
        for sealer in (b_b, b_t):
            times = timings(sealer.seal, pdf, args.runs)
            growth = len(sealer.seal(pdf)) - len(pdf)
            label = sealer.level + (" (in-process test TSA)" if sealer.level == "B-T" else "")
            print(f"| {paper} portrait 1:1000, 300 dpi | {len(pdf) / 1e6:.2f} MB | {label} | {args.runs} | "
                  f"{statistics.median(times):.1f} ms | {max(times):.1f} ms | +{growth / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
