"""CRS names as OGC services write them, and which axis comes first (EPSG registry vs. convention)."""

from __future__ import annotations

import re
from functools import lru_cache

from pyproj import CRS

# AdV (NAS) CRS names that German cadastral services still write.
_ADV_CRS = {
    "ETRS89_UTM32": 25832, "ETRS89_UTM33": 25833,
    "DE_DHDN_3GK2": 31466, "DE_DHDN_3GK3": 31467, "DE_DHDN_3GK4": 31468, "DE_DHDN_3GK5": 31469,
}


@lru_cache(maxsize=64)
def crs_is_north_east(crs: str) -> bool:
    """Whether the CRS's first axis is northing/latitude (EPSG:4326, 31466–31469), per the EPSG registry."""
    axes = CRS.from_user_input(crs).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def crs_code(srs_name: str | None) -> str | None:
    """'EPSG:n' for the common ways of writing a CRS in GML, else None."""
    if not srs_name:
        return None
    text = srs_name.strip()
    if match := re.search(r"(?:EPSG|epsg)(?::[\d.]*)?::?(\d+)$", text):
        return f"EPSG:{match.group(1)}"
    if match := re.search(r"/def/crs/EPSG/[^/]+/(\d+)$", text):
        return f"EPSG:{match.group(1)}"
    if match := re.search(r"epsg\.xml#(\d+)$", text):
        return f"EPSG:{match.group(1)}"
    if match := re.search(r"urn:adv:crs:([A-Za-z0-9_]+)", text):
        code = _ADV_CRS.get(match.group(1))
        return f"EPSG:{code}" if code else None
    if re.search(r"CRS:?84$", text):
        return "OGC:CRS84"
    return None


@lru_cache(maxsize=128)
def srs_is_north_east(srs_name: str) -> bool:
    """Whether coordinates under this srsName come north/lat first.

    URN and http URI forms follow the EPSG registry (urn:ogc:def:crs:EPSG::4326 is lat/lon).
    The short form "EPSG:4326" and the old ".../epsg.xml#4326" are x/y by long-standing
    convention (GeoServer, GDAL); a server that does otherwise needs the override.
    """
    code = crs_code(srs_name)
    if code is None:
        return False
    text = srs_name.strip()
    if text.upper().startswith("EPSG:") or "epsg.xml#" in text:
        return False
    return crs_is_north_east(code)


def urn(crs: str) -> str:
    """"EPSG:25832" → "urn:ogc:def:crs:EPSG::25832" (the form WFS 2.0 servers answer in); others unchanged."""
    code = crs_code(crs)
    if code and code.startswith("EPSG:"):
        return "urn:ogc:def:crs:EPSG::" + code.split(":")[1]
    return crs
