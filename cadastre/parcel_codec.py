"""Parcels as compact JSON (geometry as hex WKB), for caches shared between workers."""

from __future__ import annotations

import json
import logging

import shapely

from cadastre.kennzeichen import parse_kennzeichen
from cadastre.model import Parcel

log = logging.getLogger(__name__)


def parcel_to_json(parcel: Parcel) -> bytes:
    return json.dumps(
        {
            "key": parcel.key,
            "wkb": shapely.to_wkb(parcel.geometry, hex=True),
            "gemarkung": parcel.gemarkung_name,
            "flaeche": parcel.flaeche_m2,
            "lage": parcel.lage,
            "aktualitaet": parcel.aktualitaet,
            "nutzung": parcel.nutzung,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def parcel_from_json(data: bytes) -> Parcel | None:
    """The parcel, or None for an entry that cannot be read (a cache must never fail a request)."""
    try:
        record = json.loads(data)
        return Parcel(
            kennzeichen=parse_kennzeichen(record["key"]),
            geometry=shapely.from_wkb(record["wkb"]),
            gemarkung_name=record.get("gemarkung"),
            flaeche_m2=record.get("flaeche"),
            lage=list(record.get("lage") or []),
            aktualitaet=record.get("aktualitaet"),
            nutzung=record.get("nutzung"),
        )
    except (ValueError, KeyError, TypeError, shapely.errors.GEOSException) as exc:
        log.warning("cache: unreadable parcel entry (%s)", exc)
        return None
