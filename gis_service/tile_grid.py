"""The tile grid "UTM32Kataster" (EPSG:25832): levels from the offered scales at 96 dpi, tile ↔ bbox, and its OGC description."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from catalogues import msg
from gis_service.config import PreviewSettings, TileSettings
from gis_service.errors import NotFound

GRID_ID = "UTM32Kataster"
CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/25832"
CRS_URN = "urn:ogc:def:crs:EPSG::25832"
SCREEN_DPI = 96
# OGC's "standardized rendering pixel" (WMTS 1.0.0, 2D-TMS): scale denominators are stated for 0.28 mm pixels.
OGC_PIXEL_M = 0.00028
# Float noise when a bbox edge lies exactly on a tile edge must not add a row of tiles.
_EDGE_EPS = 1e-6


class TileError(NotFound):
    """A tile address outside the grid: a level, row or column that does not exist (404)."""

    code = "tile-out-of-range"


def screen_resolution(scale: float, dpi: float = SCREEN_DPI) -> float:
    """Metres per pixel of `scale` on a screen of `dpi` (scale × 0.0254 / dpi)."""
    return scale * 0.0254 / dpi


@dataclass(frozen=True)
class TileMatrix:
    """One level: its resolution, the scale it shows at 96 dpi, and how many tiles wide and high it is."""

    z: int
    resolution: float  # metres per pixel
    matrix_width: int
    matrix_height: int
    tile_size: int

    @property
    def scale(self) -> float:
        """The scale this level shows on a 96 dpi screen (1:scale)."""
        return self.resolution * SCREEN_DPI / 0.0254

    @property
    def scale_denominator(self) -> float:
        """OGC's scale denominator (0.28 mm pixels), as WMTS and 2D-TMS state it."""
        return self.resolution / OGC_PIXEL_M

    @property
    def tile_ground(self) -> float:
        return self.resolution * self.tile_size


@dataclass(frozen=True)
class TileGrid:
    """A fixed-origin grid: level 0 is the coarsest; tile (z, x, y) counts columns right and rows down from the origin."""

    extent: tuple[float, float, float, float]
    tile_size: int
    matrices: tuple[TileMatrix, ...]
    identifier: str = GRID_ID

    @classmethod
    def from_settings(cls, tiles: TileSettings, preview: PreviewSettings) -> TileGrid:
        """Levels: the screen resolution of every offered scale, plus `overview_levels` coarser ones (×2 each)."""
        finest_first = sorted({screen_resolution(scale) for scale in preview.scales})
        coarsest = finest_first[-1]
        overviews = [coarsest * 2 ** (i + 1) for i in range(tiles.overview_levels)]
        return cls.with_resolutions(tiles.extent, tiles.tile_size_px, sorted(finest_first + overviews, reverse=True))

    @classmethod
    def with_resolutions(cls, extent, tile_size: int, resolutions) -> TileGrid:
        minx, miny, maxx, maxy = extent
        matrices = []
        for z, resolution in enumerate(resolutions):
            ground = resolution * tile_size
            matrices.append(TileMatrix(z, resolution, math.ceil((maxx - minx) / ground - _EDGE_EPS),
                                       math.ceil((maxy - miny) / ground - _EDGE_EPS), tile_size))
        return cls(tuple(extent), tile_size, tuple(matrices))

    @property
    def origin(self) -> tuple[float, float]:
        return self.extent[0], self.extent[3]

    @property
    def resolutions(self) -> list[float]:
        return [m.resolution for m in self.matrices]

    def matrix(self, z: int) -> TileMatrix:
        if not 0 <= z < len(self.matrices):
            last = len(self.matrices) - 1
            raise TileError(msg("tile_grid_level_does_not_exist_the_levels", z=z, last=last))
        return self.matrices[z]

    def level_of(self, resolution: float, tolerance: float = 1e-9) -> int | None:
        """The level with exactly this resolution (relative tolerance), or None."""
        for m in self.matrices:
            if abs(m.resolution - resolution) <= tolerance * m.resolution:
                return m.z
        return None

    def check(self, z: int, x: int, y: int) -> TileMatrix:
        m = self.matrix(z)
        if not (0 <= x < m.matrix_width and 0 <= y < m.matrix_height):
            columns, rows = f"0 … {m.matrix_width - 1}", f"0 … {m.matrix_height - 1}"
            raise TileError(msg("tile_grid_tile_lies_outside_level_columns_rows", x=x, y=y, z=z, columns=columns, rows=rows))
        return m

    def tile_bbox(self, z: int, x: int, y: int) -> tuple[float, float, float, float]:
        """Ground extent of a tile: minx, miny, maxx, maxy."""
        return self.block_bbox(z, x, y, 1, 1)

    def block_bbox(self, z: int, x: int, y: int, columns: int, rows: int,
                   buffer_px: int = 0) -> tuple[float, float, float, float]:
        """Ground extent of `columns` × `rows` tiles from (x, y), widened by `buffer_px` pixels on every side."""
        m = self.matrix(z)
        ox, oy = self.origin
        ground, pad = m.tile_ground, buffer_px * m.resolution
        return (ox + x * ground - pad, oy - (y + rows) * ground - pad,
                ox + (x + columns) * ground + pad, oy - y * ground + pad)

    def tile_at(self, z: int, px: float, py: float) -> tuple[int, int]:
        """The tile (x, y) holding a ground point."""
        m = self.matrix(z)
        ox, oy = self.origin
        return math.floor((px - ox) / m.tile_ground), math.floor((oy - py) / m.tile_ground)

    def tile_range(self, z: int, bbox) -> tuple[int, int, int, int] | None:
        """Columns and rows (x0, y0, x1, y1 inclusive) of the tiles touching bbox, clipped to the grid; None if none."""
        m = self.matrix(z)
        ox, oy = self.origin
        minx, miny, maxx, maxy = bbox
        g = m.tile_ground
        x0 = max(0, math.floor((minx - ox) / g + _EDGE_EPS))
        x1 = min(m.matrix_width - 1, math.ceil((maxx - ox) / g - _EDGE_EPS) - 1)
        y0 = max(0, math.floor((oy - maxy) / g + _EDGE_EPS))
        y1 = min(m.matrix_height - 1, math.ceil((oy - miny) / g - _EDGE_EPS) - 1)
        if x1 < x0 or y1 < y0:
            return None
        return x0, y0, x1, y1

    def tiles_covering(self, z: int, bbox) -> Iterator[tuple[int, int]]:
        """Every tile (x, y) of level z touching bbox, row by row."""
        span = self.tile_range(z, bbox)
        if span is None:
            return
        x0, y0, x1, y1 = span
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                yield x, y

    def snap(self, z: int, px: float, py: float) -> tuple[float, float]:
        """A ground point moved to the nearest pixel corner of level z (tile-composed images keep the grid's pixels)."""
        m = self.matrix(z)
        ox, oy = self.origin
        res = m.resolution
        return ox + round((px - ox) / res) * res, oy - round((oy - py) / res) * res

    def describe(self) -> dict:
        """The grid as OGC Two Dimensional Tile Matrix Set 2.0 JSON (OGC 17-083r4)."""
        ox, oy = self.origin
        return {
            "id": self.identifier,
            "title": "ETRS89 / UTM 32N, levels at the scales of the Liegenschaftskarte (96 dpi)",
            "crs": CRS_URI,
            "orderedAxes": ["E", "N"],
            "boundingBox": {"lowerLeft": [self.extent[0], self.extent[1]],
                            "upperRight": [self.extent[2], self.extent[3]], "crs": CRS_URI},
            "tileMatrices": [
                {
                    "id": str(m.z),
                    "title": f"1:{m.scale:,.0f} at {SCREEN_DPI} dpi".replace(",", "."),
                    "scaleDenominator": m.scale_denominator,
                    "cellSize": m.resolution,
                    "cornerOfOrigin": "topLeft",
                    "pointOfOrigin": [ox, oy],
                    "tileWidth": m.tile_size,
                    "tileHeight": m.tile_size,
                    "matrixWidth": m.matrix_width,
                    "matrixHeight": m.matrix_height,
                }
                for m in self.matrices
            ],
        }


def wmts_capabilities(grid: TileGrid, *, base_url: str, layer: str, title: str, data_extent=None,
                      attribution: str | None = None) -> bytes:
    """The WMTS 1.0.0 capabilities (RESTful, one PNG layer) of this grid; `data_extent` bounds the layer.

    GDAL's WMTS driver takes the layer's extent from its BoundingBox in the grid's CRS, and the
    TileMatrixSetLimits tell clients which tiles hold data at all.
    """
    from xml.etree import ElementTree as ET

    from pyproj import Transformer

    wmts, ows, xlink = "http://www.opengis.net/wmts/1.0", "http://www.opengis.net/ows/1.1", "http://www.w3.org/1999/xlink"
    ET.register_namespace("", wmts)
    ET.register_namespace("ows", ows)
    ET.register_namespace("xlink", xlink)

    def el(parent, ns: str, tag: str, text: str | None = None, **attrs) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    def corners(parent, tag: str, bbox, **attrs) -> None:
        box = el(parent, ows, tag, **attrs)
        el(box, ows, "LowerCorner", f"{bbox[0]:.6f} {bbox[1]:.6f}")
        el(box, ows, "UpperCorner", f"{bbox[2]:.6f} {bbox[3]:.6f}")

    known = data_extent is not None and data_extent[2] > data_extent[0] and data_extent[3] > data_extent[1]
    extent = tuple(data_extent) if known else grid.extent
    root = ET.Element(f"{{{wmts}}}Capabilities", {"version": "1.0.0"})
    ident = el(root, ows, "ServiceIdentification")
    el(ident, ows, "Title", title)
    el(ident, ows, "ServiceType", "OGC WMTS")
    el(ident, ows, "ServiceTypeVersion", "1.0.0")
    if attribution:
        el(ident, ows, "AccessConstraints", attribution)
    contents = el(root, wmts, "Contents")
    lay = el(contents, wmts, "Layer")
    el(lay, ows, "Title", title)
    to_wgs84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
    corners(lay, "WGS84BoundingBox", to_wgs84.transform_bounds(*extent, densify_pts=11))
    el(lay, ows, "Identifier", layer)
    corners(lay, "BoundingBox", extent, crs=CRS_URN)
    style = el(lay, wmts, "Style", isDefault="true")
    el(style, ows, "Identifier", "default")
    el(lay, wmts, "Format", "image/png")
    link = el(lay, wmts, "TileMatrixSetLink")
    el(link, wmts, "TileMatrixSet", grid.identifier)
    if known:
        limits = el(link, wmts, "TileMatrixSetLimits")
        for m in grid.matrices:
            span = grid.tile_range(m.z, extent)
            if span is None:
                continue
            x0, y0, x1, y1 = span
            item = el(limits, wmts, "TileMatrixLimits")
            el(item, wmts, "TileMatrix", str(m.z))
            el(item, wmts, "MinTileRow", str(y0))
            el(item, wmts, "MaxTileRow", str(y1))
            el(item, wmts, "MinTileCol", str(x0))
            el(item, wmts, "MaxTileCol", str(x1))
    template = f"{base_url}/{layer}/default/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png"
    el(lay, wmts, "ResourceURL", format="image/png", resourceType="tile", template=template)
    tms = el(contents, wmts, "TileMatrixSet")
    el(tms, ows, "Identifier", grid.identifier)
    el(tms, ows, "SupportedCRS", CRS_URN)
    ox, oy = grid.origin
    for m in grid.matrices:
        node = el(tms, wmts, "TileMatrix")
        el(node, ows, "Identifier", str(m.z))
        el(node, wmts, "ScaleDenominator", repr(m.scale_denominator))
        el(node, wmts, "TopLeftCorner", f"{ox!r} {oy!r}")  # EPSG:25832 is easting, northing
        el(node, wmts, "TileWidth", str(m.tile_size))
        el(node, wmts, "TileHeight", str(m.tile_size))
        el(node, wmts, "MatrixWidth", str(m.matrix_width))
        el(node, wmts, "MatrixHeight", str(m.matrix_height))
    el(root, wmts, "ServiceMetadataURL", **{f"{{{xlink}}}href": f"{base_url}/WMTSCapabilities.xml"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
