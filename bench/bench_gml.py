"""GML ring joining: many curve segments read by GmlReader, against the quadratic join it replaced; run by hand."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from lxml import etree  # noqa: E402

from wms_clients.gml import GmlReader, join_segments  # noqa: E402


def quadratic_join(parts: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The join before: a new list for every segment, so n segments copy O(n²) points."""
    points: list[tuple[float, float]] = []
    for more in parts:
        points = points + (more[1:] if points and more and points[-1] == more[0] else more)
    return points


def ring(n: int) -> tuple[str, list[list[tuple[float, float]]]]:
    corners = [(round(1000 * math.cos(2 * math.pi * i / n), 3), round(1000 * math.sin(2 * math.pi * i / n), 3))
               for i in range(n)]
    parts = [[corners[i], corners[(i + 1) % n]] for i in range(n)]
    segments = "".join(
        f"<gml:LineStringSegment><gml:posList>{a[0]} {a[1]} {b[0]} {b[1]}</gml:posList></gml:LineStringSegment>"
        for a, b in parts
    )
    xml = (
        '<gml:Polygon xmlns:gml="http://www.opengis.net/gml/3.2" srsName="urn:ogc:def:crs:EPSG::25832"><gml:exterior>'
        f"<gml:Ring><gml:curveMember><gml:Curve><gml:segments>{segments}</gml:segments></gml:Curve></gml:curveMember>"
        "</gml:Ring></gml:exterior></gml:Polygon>"
    )
    return xml, parts


def best_of(runs: int, call) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, nargs="+", default=[1_000, 5_000, 20_000, 50_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'segments':>9} {'read (ms)':>10} {'join (ms)':>10} {'old join (ms)':>14}")
    for n in args.segments:
        xml, parts = ring(n)
        element = etree.fromstring(xml.encode())
        reader = GmlReader()
        read = best_of(args.runs, lambda: reader.read(element))
        join = best_of(args.runs, lambda: join_segments(parts))
        old = best_of(args.runs, lambda: quadratic_join(parts))
        assert join_segments(parts) == quadratic_join(parts)
        print(f"{n:>9} {read * 1000:>10.1f} {join * 1000:>10.1f} {old * 1000:>14.1f}")


if __name__ == "__main__":
    main()
