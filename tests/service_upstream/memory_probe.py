"""Eight concurrent A3 previews against one WMS in a fresh process; prints the peak RSS growth as JSON (Linux /proc)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(HERE), str(REPO / "tests" / "upstream")]

from service_support import make_app, upstream_settings  # noqa: E402

EXAMPLE = "05987100100090______"
CENTRE = (352850.0, 5703320.0)  # inside the example parcel


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def params(i: int) -> dict:
    # A centre of its own per request: eight different GetMaps, nothing coalesced or cached.
    return {"parcel": EXAMPLE, "scale": 1000, "paper": "A3", "orientation": "portrait", "dpi": 96,
            "center": f"{CENTRE[0] + 4 * i:.2f},{CENTRE[1]:.2f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wms", required=True)
    parser.add_argument("--wfs", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--fallback", help="a fallback dataset (GeoPackage)")
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()

    settings = upstream_settings(
        Path(args.instance), args.wms, args.wfs, layers=["test"], request_timeout=5.0,
        fallback=Path(args.fallback) if args.fallback else None,
        http={"connect_timeout": 1.0, "read_timeout": 3.0, "total_timeout": 5.0, "retries": 0,
              "failure_threshold": 1000},
    )
    app = make_app(settings)
    warm = app.test_client()
    # Warm up what every preview needs (parcel, capabilities, fonts, code paths) on other centres.
    assert warm.get("/api/v1/parcels/" + EXAMPLE).status_code == 200
    for i in range(2):
        warm.get("/api/v1/preview.png", query_string=params(100 + i))
    gc.collect()

    baseline = status_kib("VmRSS")
    peak_reset = reset_peak()
    sampled = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            sampled.append(status_kib("VmRSS"))

    answers: list[tuple[int, str]] = []
    start = threading.Barrier(args.requests)

    def preview(i: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.get("/api/v1/preview.png", query_string=params(i))
        answers.append((response.status_code, response.headers.get("X-Map-Source", "")))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=preview, args=(i,)) for i in range(args.requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    sampler.join()
    peak = max(max(sampled), status_kib("VmHWM") if peak_reset else 0)
    print(json.dumps({
        "baseline_mib": round(baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - baseline) / 1024, 1),
        "peak_from": "VmHWM and samples" if peak_reset else "samples every 2 ms",
        "answers": sorted(answers),
    }))


if __name__ == "__main__":
    main()
