"""Test helpers importable from every test folder (pygeoapi installs a top-level `tests` package, so not `tests.*`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GIS_SERVICE_SHARED_DATA", REPO.parent / "shared" / "data"))
NEUWERK_GPKG = SHARED_DATA / "de_hh_neuwerk_alkis" / "alkis_neuwerk_vereinfacht_epsg25832.gpkg"


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
