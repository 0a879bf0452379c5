"""Gemarkung names from JSON files: a key → name map, or the NRW list by Katasteramt."""

from __future__ import annotations

import json
from pathlib import Path

from cadastre.kennzeichen import GemarkungRef


def load_gemarkungen_file(path: Path, default_land: str | None) -> list[GemarkungRef]:
    """{"053144": "Rüttenscheid", …}, or the NRW list (Katasteramt → "Name (nummer)" → {"schluessel": …})."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    refs: list[GemarkungRef] = []
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        for key, name in data.items():
            refs.append(GemarkungRef(land=key[:2], nummer=key[2:6], name=name))
        return refs
    if not default_land:
        raise ValueError("the NRW list carries 4-digit Gemarkung numbers: set default_land (e.g. '05')")
    for gemarkungen in data.values():
        for label, entry in gemarkungen.items():
            number = str(entry.get("schluessel", "")).zfill(4)
            name = label.rsplit(" (", 1)[0].strip()
            if number.isdigit() and len(number) == 4:
                refs.append(GemarkungRef(land=default_land, nummer=number, name=name))
    return refs
