"""OGC API via pygeoapi: configuration generation, the mount at /ogc, the parcel and map providers, the preview process."""

from __future__ import annotations

FEATURES_ID = "flurstuecke"
MAPS_ID = "liegenschaftskarte"
PROCESS_ID = "liegenschaftskarte-vorschau"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"
