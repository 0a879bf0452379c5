"""WMS 1.3.0 client: validated, cached capabilities read by OWSLib; GetMap with DPI, tiling and answer checks."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, ContextManager, Mapping, Sequence

from owslib.wms import WebMapService
from PIL import Image

from wms_clients.base import BBox
from wms_clients.crs import crs_is_north_east
from wms_clients.http import UpstreamError, UpstreamResponse, UpstreamSession
from wms_clients.ows import CapabilitiesCache, check_answer, fetch_capabilities, looks_like_xml

log = logging.getLogger(__name__)

DPI_PARAMS = ("map_resolution", "dpi", "format_options")
BASE_DPI = 96  # the dpi a tile buffer in pixels is meant for
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/webp": (b"RIFF",),
}
# Modes a map image comes in and that convert to RGBA; none takes more than 4 bytes a pixel.
MAP_IMAGE_MODES = frozenset(
    {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I;16", "I;16B", "I;16L"}
)


def swap_axes(crs: str, version: str, override: str | None) -> bool:
    """Whether a WMS BBOX in this CRS goes lat/lon (north first) on the wire."""
    if override == "xy":
        return False
    if override == "yx":
        return True
    if override is not None:
        raise ValueError(f"axis_order must be 'xy', 'yx' or None, not {override!r}")
    return version == "1.3.0" and crs_is_north_east(crs)


def _number(value: float) -> str:
    # Shortest exact form: tile edges computed from the same pixel must match bit for bit.
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class WmsCapabilities:
    """What we use of the server's capabilities, plus OWSLib's parsed object."""

    owslib: object  # owslib WebMapService_1_3_0 / _1_1_1
    layers: tuple[str, ...]
    max_width: int | None
    max_height: int | None
    fetched_at: float
    raw: bytes

    @property
    def title(self) -> str:
        return self.owslib.identification.title or ""

    def crs_options(self, layer: str) -> list[str]:
        return list(self.owslib.contents[layer].crsOptions or [])


@dataclass(frozen=True)
class _Tile:
    x0: int
    y0: int
    x1: int
    y1: int
    buffer: int


def plan_tiles(width: int, height: int, max_width: int, max_height: int, buffer: int = 0) -> list[_Tile]:
    """Split a width×height image into tiles whose requests (with buffer) fit max_width×max_height.

    Tile edges are whole pixels of the full image, so every tile has the full image's exact
    resolution and the stitched image has neither seams nor gaps.
    """
    if width <= max_width and height <= max_height:
        return [_Tile(0, 0, width, height, 0)]
    buffer = max(0, min(buffer, max_width // 8, max_height // 8))
    cols = math.ceil(width / (max_width - 2 * buffer))
    rows = math.ceil(height / (max_height - 2 * buffer))
    xs = [round(i * width / cols) for i in range(cols + 1)]
    ys = [round(j * height / rows) for j in range(rows + 1)]
    return [
        _Tile(xs[i], ys[j], xs[i + 1], ys[j + 1], buffer) for j in range(rows) for i in range(cols)
    ]


class WmsClient:
    """GetMap images of exactly the asked bbox and pixel size from one WMS (1.3.0 by default)."""

    def __init__(
        self,
        url: str,
        layers: Sequence[str],
        session: UpstreamSession | None = None,
        *,
        version: str = "1.3.0",
        crs: str = "EPSG:25832",
        format: str = "image/png",  # noqa: A002 - the WMS parameter's name
        styles: Sequence[str] | None = None,
        transparent: bool = False,
        bgcolor: str | None = None,
        dpi_param: str | None = "map_resolution",
        max_width: int | None = None,
        max_height: int | None = None,
        tile_size: int | tuple[int, int] | None = None,
        tile_buffer: int = 0,
        tile_workers: int = 4,
        axis_order: str | None = None,
        capabilities_ttl: float = 3600.0,
        extra_params: Mapping[str, str] | None = None,
        use_advertised_url: bool = False,
        require_layers: bool = True,
    ):
        if version not in ("1.3.0", "1.1.1"):
            raise ValueError(f"WMS version must be 1.3.0 or 1.1.1, not {version!r}")
        if dpi_param is not None and dpi_param not in DPI_PARAMS:
            raise ValueError(f"dpi_param must be one of {DPI_PARAMS} or None, not {dpi_param!r}")
        if not layers:
            raise ValueError("a WMS client needs at least one layer")
        swap_axes(crs, version, axis_order)  # validates axis_order and the CRS early
        self.url = url
        self.layers = list(layers)
        self.session = session or UpstreamSession(url)
        self.version = version
        self.crs = crs
        self.format = format
        self.styles = list(styles) if styles else None
        self.transparent = transparent
        self.bgcolor = bgcolor
        self.dpi_param = dpi_param
        self.configured_max = (max_width, max_height)
        if isinstance(tile_size, int):
            tile_size = (tile_size, tile_size)
        self.tile_size = tile_size
        self.tile_buffer = tile_buffer
        self.tile_workers = max(1, tile_workers)
        # Wraps each decoding with its size in megapixels; the service sets its render limiter here,
        # so that waiting for the network never holds an allowance meant for pixel work.
        self.decode_guard: Callable[[float], ContextManager[object]] = lambda megapixels: contextlib.nullcontext()
        self.axis_order = axis_order
        self.capabilities_ttl = capabilities_ttl
        self.extra_params = dict(extra_params or {})
        # Many servers advertise internal host names; by default we keep the configured URL.
        self.use_advertised_url = use_advertised_url
        # False for `gis-service check-upstream`, which reports missing layers itself beside the other checks.
        self.require_layers = require_layers
        self._capabilities = CapabilitiesCache(self.url, capabilities_ttl, self._fetch_capabilities)

    # ------------------------------------------------------------------ capabilities

    def capabilities(self, *, refresh: bool = False) -> WmsCapabilities:
        """The server's capabilities, fetched through the session and cached for capabilities_ttl."""
        return self._capabilities.get(refresh=refresh)

    def _fetch_capabilities(self) -> WmsCapabilities:
        content, root, wms = fetch_capabilities(
            self.session, self.url, "WMS", self.version,
            root_name="WMS_Capabilities" if self.version == "1.3.0" else "WMT_MS_Capabilities",
            root_hint=f": is this a WMS {self.version}?",
            read=lambda xml: WebMapService(self.url, version=self.version, xml=xml),
            error=self._error,
        )
        offered = tuple(wms.contents)
        missing = [name for name in self.layers if name not in wms.contents]
        if missing and self.require_layers:
            raise self._error(
                "bad-response",
                f"the WMS lacks the configured layer(s) {', '.join(missing)}; it offers: "
                + ", ".join(offered[:40]) + (" …" if len(offered) > 40 else ""),
            )
        for name in (n for n in self.layers if n in wms.contents):
            options = {c.upper() for c in wms.contents[name].crsOptions or []}
            if options and self.crs.upper() not in options:
                log.warning("%s: layer %s does not list %s (it lists %s)", self.url, name, self.crs, sorted(options))
        if self.format not in (wms.getOperationByName("GetMap").formatOptions or [self.format]):
            log.warning("%s: GetMap does not list the format %s", self.url, self.format)

        def limit(tag: str) -> int | None:
            found = root.find(f"{{*}}Service/{{*}}{tag}")
            try:
                return int(found.text) if found is not None and found.text else None
            except ValueError:
                return None

        return WmsCapabilities(
            owslib=wms,
            layers=offered,
            max_width=limit("MaxWidth"),
            max_height=limit("MaxHeight"),
            fetched_at=time.monotonic(),
            raw=content,
        )

    def max_size(self) -> tuple[int, int]:
        """Largest single GetMap: the smallest of server limits, configured limits and tile size."""
        caps = self.capabilities()
        widths = [v for v in (caps.max_width, self.configured_max[0]) if v]
        heights = [v for v in (caps.max_height, self.configured_max[1]) if v]
        if self.tile_size:
            widths.append(self.tile_size[0])
            heights.append(self.tile_size[1])
        return (min(widths) if widths else 4096, min(heights) if heights else 4096)

    # ------------------------------------------------------------------ GetMap

    def get_map(self, bbox: BBox, width: int, height: int, dpi: float = BASE_DPI) -> Image.Image:
        """An RGBA image of exactly bbox (minx, miny, maxx, maxy in self.crs, x/y order) at width×height."""
        width, height = int(width), int(height)
        minx, miny, maxx, maxy = bbox
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, not {width}×{height}")
        if not (maxx > minx and maxy > miny):
            raise ValueError(f"empty or inverted bbox {bbox}")
        max_w, max_h = self.max_size()
        buffer = math.ceil(self.tile_buffer * dpi / BASE_DPI)
        tiles = plan_tiles(width, height, max_w, max_h, buffer)
        if len(tiles) == 1:
            return self._get_tile(bbox, width, height, dpi)

        res_x, res_y = (maxx - minx) / width, (maxy - miny) / height

        def fetch(tile: _Tile) -> Image.Image:
            b = tile.buffer
            px0, py0, px1, py1 = tile.x0 - b, tile.y0 - b, tile.x1 + b, tile.y1 + b
            tile_bbox = (minx + px0 * res_x, maxy - py1 * res_y, minx + px1 * res_x, maxy - py0 * res_y)
            image = self._get_tile(tile_bbox, px1 - px0, py1 - py0, dpi)
            return image.crop((b, b, b + tile.x1 - tile.x0, b + tile.y1 - tile.y0)) if b else image

        log.debug("%s: %d×%d in %d tiles of at most %d×%d", self.url, width, height, len(tiles), max_w, max_h)
        canvas = None
        # pool.map cancels the tiles not yet started when one fails.
        with ThreadPoolExecutor(min(self.tile_workers, len(tiles)), thread_name_prefix="wms-tile") as pool:
            for tile, image in zip(tiles, pool.map(fetch, tiles)):
                if canvas is None:  # only once a tile is good: a failing upstream costs no full-size canvas
                    canvas = Image.new("RGBA", (width, height))
                canvas.paste(image, (tile.x0, tile.y0))
        return canvas

    def get_map_encoded(
        self, bbox: BBox, width: int, height: int, dpi: float = BASE_DPI, *, decode: bool = True
    ) -> tuple[Image.Image, bytes | None]:
        """get_map(), plus the server's own bytes when the image came in one piece (None when tiled).

        A cache can keep those bytes as they are instead of encoding the image again. The image
        comes in the server's own mode (RGB, P, RGBA …): converting a 300 dpi A3 face to RGBA
        and back costs more than a GetMap. decode=False leaves a PNG that came in one piece
        undecoded (see decode_image): a PDF can embed its data as they are.
        """
        width, height = int(width), int(height)
        max_w, max_h = self.max_size()
        if width <= max_w and height <= max_h and width > 0 and height > 0 and bbox[2] > bbox[0] and bbox[3] > bbox[1]:
            response = self.session.get(
                self._getmap_url(), self.get_map_params(bbox, width, height, dpi), body_kind="getmap"
            )
            return self.decode_image(response, width, height, load=decode), response.content
        return self.get_map(bbox, width, height, dpi), None

    def get_map_params(self, bbox: BBox, width: int, height: int, dpi: float = BASE_DPI) -> dict[str, str]:
        """The GetMap query parameters for one request (no tiling)."""
        minx, miny, maxx, maxy = bbox
        if swap_axes(self.crs, self.version, self.axis_order):
            wire = (miny, minx, maxy, maxx)
        else:
            wire = (minx, miny, maxx, maxy)
        params = {
            "SERVICE": "WMS",
            "VERSION": self.version,
            "REQUEST": "GetMap",
            "LAYERS": ",".join(self.layers),
            "STYLES": ",".join(self.styles) if self.styles else "",
            "CRS" if self.version == "1.3.0" else "SRS": self.crs,
            "BBOX": ",".join(_number(v) for v in wire),
            "WIDTH": str(width),
            "HEIGHT": str(height),
            "FORMAT": self.format,
            "TRANSPARENT": "TRUE" if self.transparent else "FALSE",
            "EXCEPTIONS": "XML" if self.version == "1.3.0" else "application/vnd.ogc.se_xml",
        }
        if self.bgcolor:
            params["BGCOLOR"] = self.bgcolor
        dpi_value = _number(dpi)
        if self.dpi_param == "map_resolution":
            params["MAP_RESOLUTION"] = dpi_value
        elif self.dpi_param == "dpi":
            params["DPI"] = dpi_value
        elif self.dpi_param == "format_options":
            params["FORMAT_OPTIONS"] = f"dpi:{round(dpi)}"
        params.update(self.extra_params)
        return params

    def _getmap_url(self) -> str:
        if not self.use_advertised_url:
            return self.url
        try:
            return self.capabilities().owslib.getOperationByName("GetMap").methods[0]["url"]
        except (KeyError, IndexError, AttributeError):
            return self.url

    def _get_tile(self, bbox: BBox, width: int, height: int, dpi: float) -> Image.Image:
        params = self.get_map_params(bbox, width, height, dpi)
        response = self.session.get(self._getmap_url(), params, body_kind="getmap")
        return self.check_image(response, width, height)

    def check_image(self, response: UpstreamResponse, width: int, height: int) -> Image.Image:
        """The answer as an RGBA image, or UpstreamError saying what came instead."""
        image = self.decode_image(response, width, height)
        return image if image.mode == "RGBA" else image.convert("RGBA")

    def decode_image(self, response: UpstreamResponse, width: int, height: int, *, load: bool = True) -> Image.Image:
        """The answer decoded in the server's own mode (RGB, P, RGBA …), or UpstreamError.

        Size and mode are read from the image header and checked before a pixel is decoded: a
        small PNG can declare 13000×13000 pixels and would take hundreds of MiB to decode.
        With load=False a PNG is only verified (every chunk's CRC, through to its end) and comes
        back opened but not decoded; other formats are decoded all the same.
        """
        content, content_type = response.content, response.content_type
        check_answer(content, "GetMap", self._error, html_instead=" instead of an image")
        if looks_like_xml(content) or "xml" in content_type:
            snippet = " ".join(content[:300].decode("utf-8", "replace").split())
            raise self._error("bad-response", f"GetMap returned XML ({content_type or 'no content type'}) instead of an image", snippet)
        expected = self.format.split(";")[0].strip().lower()
        if content_type and not content_type.startswith("image/"):
            raise self._error("bad-response", f"GetMap returned {content_type} instead of {expected}")
        magic = _MAGIC.get(expected)
        if magic and not content.startswith(magic):
            raise self._error(
                "bad-response",
                f"GetMap returned {len(content)} bytes that are not {expected} (starting {content[:8]!r})",
            )
        try:
            image = Image.open(io.BytesIO(content))  # reads the header only
        except Image.DecompressionBombError as exc:
            raise self._error("too-large", f"GetMap returned an image over the decoding limit ({exc})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._error("bad-response", f"GetMap returned a truncated or corrupt image ({exc})") from exc
        declared_w, declared_h = image.size
        if (declared_w, declared_h) != (width, height):
            larger = declared_w > width or declared_h > height
            raise self._error(
                "too-large" if larger else "bad-response",
                f"GetMap returned an image of {declared_w}×{declared_h} pixels instead of {width}×{height}"
                + (" (not decoded)" if larger else ""),
            )
        if image.mode not in MAP_IMAGE_MODES:
            raise self._error("bad-response", f"GetMap returned an image in mode {image.mode}, not a map image")
        # Pillow itself only warns between MAX_IMAGE_PIXELS and twice that; here the limit holds.
        limit = Image.MAX_IMAGE_PIXELS
        if limit and declared_w * declared_h > limit:
            raise self._error(
                "too-large", f"a {declared_w}×{declared_h} image exceeds the decoding limit of {limit} pixels"
            )
        try:
            if not load and image.format == "PNG":
                image.verify()  # walks the chunks without inflating the pixels
                return Image.open(io.BytesIO(content))
            with self.decode_guard(declared_w * declared_h / 1_000_000):
                image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise self._error("bad-response", f"GetMap returned a truncated or corrupt image ({exc})") from exc
        return image

    def _error(self, kind: str, message: str, said: str | None = None) -> UpstreamError:
        return UpstreamError(
            f"WMS {self.url}: {message}", kind=kind, server_message=said, upstream=self.session.name, url=self.url
        )
