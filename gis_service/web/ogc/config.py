"""pygeoapi configuration and OpenAPI document for one app, generated from our settings into the instance folder."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from catalogues import in_languages
from gis_service.web.ogc import CRS84, EPSG25832, FEATURES_ID, MAPS_ID, PROCESS_ID
from gis_service.web.ogc.features import QUERYABLES

# Germany, for a source whose extent is not known without asking the upstream.
GERMANY_CRS84 = [5.5, 47.2, 15.5, 55.1]
MOUNT = "/ogc"


def extent_crs84(extent) -> list[float]:
    from gis_service.parcels import transformer

    minx, miny, maxx, maxy = extent
    if not (maxx > minx and maxy > miny):
        return list(GERMANY_CRS84)
    west, south, east, north = transformer("EPSG:25832", "CRS84").transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    return [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]


def known_extent(source) -> tuple[float, float, float, float] | None:
    """The source's extent if it is known without asking an upstream (app creation must not wait)."""
    from gis_service.upstream_source import UpstreamSource

    if isinstance(source, UpstreamSource):
        if source.extent is not None:
            return source.extent
        if source.fallback is not None:
            return source.fallback.info().extent
        return None
    return source.info().extent


def pygeoapi_config(settings, source, instance: Path, url: str) -> dict:
    """The pygeoapi configuration: the features and maps collections and the preview process."""
    extent = known_extent(source)
    bbox = extent_crs84(extent) if extent is not None else list(GERMANY_CRS84)
    attribution = getattr(settings.source, "attribution", "") or "ALKIS"
    name = getattr(settings.source, "name", "") or "Liegenschaftskataster"
    spatial = {"bbox": bbox, "crs": CRS84}
    return {
        "server": {
            "bind": {"host": settings.server.host, "port": settings.server.port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["de-DE", "en-US"],
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": settings.ogc.max_items},
            "map": {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "attribution": "© OpenStreetMap contributors",
            },
            "manager": {"name": "Dummy", "connection": "", "output_dir": str(instance / "ogc" / "jobs")},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": settings.ogc.title,
                "description": in_languages("ogc_description", name=name),
                "keywords": ["ALKIS", "Liegenschaftskataster", "Flurstück", "Liegenschaftskarte"],
                "keywords_type": "theme",
                "terms_of_service": attribution,
                "url": url,
            },
            "license": {"name": settings.ogc.licence or attribution, "url": settings.ogc.licence_url or url},
            "provider": {"name": name},
            "contact": {"name": name},
        },
        "resources": {
            FEATURES_ID: {
                "type": "collection",
                "title": in_languages("ogc_parcels_title"),
                "description": in_languages("ogc_parcels_description", name=name),
                "keywords": ["Flurstück", "ALKIS"],
                "links": [],
                "extents": {"spatial": spatial},
                "limits": {"default_items": 100, "max_items": settings.ogc.max_items},
                "providers": [
                    {
                        "type": "feature",
                        "name": "gis_service.web.ogc.features.FlurstueckProvider",
                        "data": "configured-source",
                        "id_field": "kennzeichen",
                        "title_field": "label",
                        "properties": list(QUERYABLES),
                        "storage_crs": EPSG25832,
                        "crs": [CRS84, EPSG25832],
                        "always_xy": True,
                        "max_items": settings.ogc.max_items,
                    }
                ],
            },
            MAPS_ID: {
                "type": "collection",
                "title": in_languages("ogc_map_title"),
                "description": in_languages("ogc_map_description", name=name),
                "keywords": ["Liegenschaftskarte", "ALKIS"],
                "links": [],
                "extents": {"spatial": spatial},
                "providers": [
                    {
                        "type": "map",
                        "name": "gis_service.web.ogc.maps.LiegenschaftskarteProvider",
                        "data": "configured-source",
                        "storage_crs": EPSG25832,
                        "crs": [EPSG25832],
                        "format": {"name": "png", "mimetype": "image/png"},
                    }
                ],
            },
            PROCESS_ID: {"type": "process", "processor": {"name": "gis_service.web.ogc.process.VorschauProcessor"}},
        },
    }


def write_documents(settings, source, instance: Path, url: str) -> tuple[Path, Path, dict, dict]:
    """Write pygeoapi-config.yml and pygeoapi-openapi.yml into <instance>/ogc; return paths and contents."""
    from pygeoapi.openapi import get_oas

    folder = Path(instance) / "ogc"
    (folder / "jobs").mkdir(parents=True, exist_ok=True)
    config = pygeoapi_config(settings, source, Path(instance), url)
    openapi = get_oas(config, fail_on_invalid_collection=True)
    config_path, openapi_path = folder / "pygeoapi-config.yml", folder / "pygeoapi-openapi.yml"
    _write(config_path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    _write(openapi_path, yaml.safe_dump(openapi, allow_unicode=True, sort_keys=False))
    return config_path, openapi_path, config, openapi


def _write(path: Path, text: str) -> None:
    # Several workers may start at once: each writes its own file and renames it into place.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
