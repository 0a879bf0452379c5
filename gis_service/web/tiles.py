"""The tile service over HTTP: WMTS 1.0.0 REST (capabilities and tiles), the TileMatrixSet as OGC JSON, and the picker's map.json."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from catalogues import msg
from gis_service.errors import NotFound, bad_parameter
from gis_service.tile_grid import GRID_ID, screen_resolution, wmts_capabilities
from gis_service.tiles import TileService
from gis_service.web.responses import image_response

blueprint = Blueprint("tiles", __name__)

LAYER = "liegenschaftskarte"
WMTS = "/wmts/1.0.0"
_INDEX = re.compile(r"\d{1,7}")


def tile_service() -> TileService:
    return current_app.extensions["gis_tiles"]


def _index(name: str, text: str) -> int:
    if not _INDEX.fullmatch(text):
        raise bad_parameter(name, msg("tiles_give_a_whole_number_from_0"))
    return int(text)


def _known_grid(grid: str) -> None:
    if grid != GRID_ID:
        raise NotFound(msg("tiles_there_is_no_tile_matrix_set", grid=grid, GRID_ID=GRID_ID),
                       code="unknown-tile-matrix-set")


@blueprint.get(f"{WMTS}/WMTSCapabilities.xml")
def capabilities():
    service = tile_service()
    info = current_app.extensions["gis_source"].info()
    body = wmts_capabilities(service.grid, base_url=request.url_root.rstrip("/") + WMTS, layer=LAYER,
                             title="Liegenschaftskarte", data_extent=info.extent, attribution=info.attribution)
    response = Response(body, mimetype="application/xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@blueprint.get(f"{WMTS}/{LAYER}/default/<grid>/<z>/<y>/<x>.png")
def tile(grid: str, z: str, y: str, x: str):
    _known_grid(grid)
    service = tile_service()
    found = service.tile(_index("TileMatrix", z), _index("TileCol", x), _index("TileRow", y))
    return image_response(found.data, "image/png", found.source, currency=service.faces.currency(),
                          max_age=service.settings.ttl_seconds, etag=found.etag)


@blueprint.get("/tiles/tileMatrixSets")
def tile_matrix_sets():
    link = url_for("tiles.tile_matrix_set", grid=GRID_ID, _external=True)
    return jsonify({"tileMatrixSets": [{"id": GRID_ID, "title": tile_service().grid.describe()["title"],
                                        "links": [{"rel": "self", "href": link, "type": "application/json"}]}]})


@blueprint.get("/tiles/tileMatrixSets/<grid>")
def tile_matrix_set(grid: str):
    _known_grid(grid)
    return jsonify(tile_service().grid.describe())


@blueprint.get("/tiles/map.json")
def map_json():
    """The picker map's description (below) for other clients."""
    return jsonify(map_description())


def map_description() -> dict:
    """What the picker's map needs: the grid, the tile URL template, where the data are (also in the picker's page)."""
    service = tile_service()
    grid = service.grid
    info = current_app.extensions["gis_source"].info()
    scales = current_app.extensions["gis_settings"].preview.scales
    base = url_for("tiles.tile", grid=GRID_ID, z="0", y="0", x="0").rsplit("/", 3)[0]
    return {
        "tileMatrixSet": GRID_ID,
        "crs": "EPSG:25832",
        "extent": list(grid.extent),
        "origin": list(grid.origin),
        "tileSize": grid.tile_size,
        "metatileSize": service.settings.metatile_size,  # tiles per side made in one upstream request
        "resolutions": grid.resolutions,
        # the level showing each offered scale exactly on a 96 dpi screen
        "scaleLevels": {str(scale): grid.level_of(screen_resolution(scale)) for scale in scales},
        "url": base + "/{z}/{y}/{x}.png",
        "dataExtent": list(info.extent),
        "attribution": info.attribution,
        "capabilities": url_for("tiles.capabilities"),
        "tileMatrixSetUrl": url_for("tiles.tile_matrix_set", grid=GRID_ID),
    }
