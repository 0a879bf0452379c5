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
