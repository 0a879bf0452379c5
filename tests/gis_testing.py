"""Test helpers importable from every test folder (pygeoapi installs a top-level `tests` package, so not `tests.*`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import shapely

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GIS_SERVICE_SHARED_DATA", REPO.parent / "shared" / "data"))
NEUWERK_GPKG = SHARED_DATA / "de_hh_neuwerk_alkis" / "alkis_neuwerk_vereinfacht_epsg25832.gpkg"
# Apps shared by many tests make far more requests from one address than a citizen would: their fixtures
# raise the rate limits (limits.rate) instead of switching them off; tests/test_rate_limits.py trips them.
GENEROUS_RATE_LIMITS = {name: "100000/minute" for name in (
    "orders_per_address", "orders_per_recipient", "logins_per_address", "logins_per_account", "searches_per_address",
    "verifications_per_address", "feedback_per_address")}


def require_shared_data() -> Path:
    """The real data folder, or skip the test saying where it was looked for."""
    if not NEUWERK_GPKG.exists():
        pytest.skip(f"real ALKIS data not found at {SHARED_DATA} (../shared/data beside the repository)")
    return SHARED_DATA


def search_help_examples(client, lang: str = "de") -> list[str]:
    """The quoted examples of /embed's search help, in the order shown (address first)."""
    import html
    import re

    page = client.get("/embed", query_string={"lang": lang}).get_data(as_text=True)
    help_text = html.unescape(re.search(r'<p id="search-help">(.*?)</p>', page, re.S).group(1))
    return quoted(help_text, lang)


def quoted(text: str, lang: str = "de") -> list[str]:
    """„A“ … „B“ (German) or “A” … “B” (English) → ["A", "B"]."""
    import re

    return re.findall(r"„([^“]+)“" if lang == "de" else r"“([^”]+)”", text)


def found_keys(client, q: str) -> list[str]:
    """The keys the search box's API answers for q; [] for an error."""
    response = client.get("/api/v1/parcels", query_string={"q": q})
    if response.status_code != 200:
        return []
    return [f["properties"]["kennzeichen"] for f in response.get_json()["parcels"]]
# --- Flur boundaries on a map face -----------------------------------------------------------------


def flur_band_mask(face, labels, margin: int = 3) -> np.ndarray:
    """Pixels of a face drawn without supersampling (300 dpi) in exactly the Flur boundary colour;
    label boxes are left out, because antialiased text has every grey."""
    from renderers import style

    pixels = np.asarray(face.convert("RGB"))
    mask = (pixels == np.array(style.FLUR_LINE, dtype=pixels.dtype)).all(axis=2)
    for label in labels:
        x0, y0, x1, y1 = label.box
        mask[max(0, int(y0) - margin) : int(y1) + margin + 1, max(0, int(x0) - margin) : int(x1) + margin + 1] = False
    return mask


def across_line(mask: np.ndarray, line, reach: float) -> np.ndarray:
    """For samples one pixel apart along `line` (face pixel coordinates, a LineString), whether
    `mask` has a pixel within `reach` pixels across the line there."""
    height, width = mask.shape
    offsets = np.arange(-reach, reach + 0.01, 0.5)
    found = []
    coords = shapely.get_coordinates(line)
    for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
        length = float(np.hypot(x1 - x0, y1 - y0))
        dx, dy = (x1 - x0) / length, (y1 - y0) / length
        for t in np.arange(0.0, length, 1.0):
            xs = np.floor(x0 + dx * t - dy * offsets).astype(int)
            ys = np.floor(y0 + dy * t + dx * offsets).astype(int)
            inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            found.append(bool(mask[ys[inside], xs[inside]].any()))
    return np.array(found)


def runs_and_gaps_mm(found: np.ndarray, dpi: int) -> tuple[list[float], list[float]]:
    """Lengths in millimetres of the inked runs and of the gaps between them, without the first and
    last run (cut by the face edge), from across_line samples."""
    edges = np.flatnonzero(np.diff(found.astype(int))) + 1
    pieces = np.split(found, edges)
    lengths = [(bool(p[0]), len(p) * 25.4 / dpi) for p in pieces]
    inner = lengths[1:-1]
    return [mm for ink, mm in inner if ink], [mm for ink, mm in inner if not ink]


def expected_pattern_mm() -> tuple[list[float], list[float]]:
    """Ink and gap lengths along the line in one period of the style's pattern, in order."""
    from renderers import style

    half = style.FLUR_LINE_MM / 2
    inked = sorted([style.FLUR_DASH_MM] + [(d - half, d + half) for d in style.FLUR_DOTS_MM])
    gaps = [b[0] - a[1] for a, b in zip(inked, inked[1:] + [(inked[0][0] + style.FLUR_PATTERN_MM, 0)])]
    return [b - a for a, b in inked], gaps


def assert_flur_pattern(found: np.ndarray, dpi: int) -> None:
    """The across_line samples along a Flur boundary show the style's dashes and dots, to 0.25 mm."""
    from renderers import style

    runs, gaps = runs_and_gaps_mm(found, dpi)
    inks, spaces = expected_pattern_mm()
    assert len(runs) >= 4, f"no dash pattern along the boundary: runs {runs}"
    tolerance = 0.25
    for mm in runs:
        assert min(abs(mm - ink) for ink in inks) <= tolerance, f"ink run of {mm:.2f} mm; the pattern has {inks}"
    for mm in gaps:
        assert min(abs(mm - gap) for gap in spaces) <= tolerance, f"gap of {mm:.2f} mm; the pattern has {spaces}"
    # Dashes, not only dots: a dash in every period.
    dash = style.FLUR_DASH_MM[1] - style.FLUR_DASH_MM[0]
    length_mm = len(found) * 25.4 / dpi
    assert sum(abs(mm - dash) <= tolerance for mm in runs) >= length_mm // style.FLUR_PATTERN_MM - 1
