"""Map faces composed from the tile grid's cached tiles when a page's resolution is a grid level; every other face from the provider below."""

from __future__ import annotations

import contextvars
import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from PIL import Image

from cadastre.model import BBox
from gis_service.admission import RenderLimiter
from gis_service.errors import UpstreamUnavailable
from gis_service.map_faces import LocalMapFaces, MapFace, MapFaceProvider, MapSource
from gis_service.tile_grid import SCREEN_DPI
from gis_service.tiles import Tile, TileService
from renderers.layout import Layout

log = logging.getLogger(__name__)

# A face edge this close to a grid pixel edge counts as on it (float noise of bbox arithmetic).
_ALIGNED_PX = 1e-6
# Metatiles asked for at once: each is one upstream GetMap, so a page spanning several costs one wait, not several.
_PARALLEL = 8
_POOL = ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="tile-faces")
# Background jobs making metatiles ahead (each a few GetMaps at most) that may wait at once; more are dropped.
AHEAD_QUEUE = 8


@dataclass(frozen=True)
class _Window:
    """Where a face lies on a grid level: its top-left grid pixel and size, and the tiles it touches."""

    z: int
    left: int
    top: int
    width: int
    height: int
    tile_size: int

    @property
    def tiles(self) -> list[tuple[int, int]]:
        size = self.tile_size
        columns = range(self.left // size, (self.left + self.width - 1) // size + 1)
        rows = range(self.top // size, (self.top + self.height - 1) // size + 1)
        return [(x, y) for y in rows for x in columns]


class TileComposedFaces(MapFaceProvider):
    """Faces at a grid level (96 dpi, the resolution of an offered scale) pasted together from cached tiles.

    The page's layout is moved first (align) so that its map face starts on a whole grid pixel: the
    scale stays exact, the edges move by under half a pixel, and the tiles' pixels are the page's
    pixels, with no resampling. When every tile under a face is cached and current, the face costs
    the upstream nothing: moving the print area around a chosen parcel. When some are missing, the
    face is the one exact GetMap of the provider below (a cold page must not wait for up to four
    metatiles, each larger than the page) and the missing metatiles are made in the background, so
    that the next move finds them. Anything else (the official extract at its own dpi, the sharper
    previews of the zoomed viewer, a grid too small for the page) is always one exact face of the
    provider below: the grid's levels are 96-dpi levels, and an extract is made at 150 dpi or more.
    """

    def __init__(self, tiles: TileService, faces: MapFaceProvider, limiter: RenderLimiter, *, ahead_px: int = 0):
        self.tiles = tiles
        self.ahead_px = ahead_px  # how far around a cold face the metatiles are made ahead
        self.faces = faces
        self.grid = tiles.grid
        self.limiter = limiter
        self._ahead = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tiles-ahead")
        self._ahead_waiting = threading.BoundedSemaphore(AHEAD_QUEUE)
        # Composed pages differ from single GetMaps (labels are placed per metatile): their own cache keys.
        self.cache_id = f"{faces.cache_id}+{tiles.prefix.rsplit(':', 1)[-1]}"

    # ------------------------------------------------------------------ MapFaceProvider

    def currency(self) -> str | None:
        return self.faces.currency()

    def render(self, layout: Layout, *, labels_within: BBox | None = None) -> MapFace:
        return self.faces.render(layout, labels_within=labels_within)

    def stand_in(self) -> LocalMapFaces | None:
        return self.faces.stand_in()

    def align(self, layout: Layout) -> Layout:
        """The layout with its map face's top-left corner on the nearest grid pixel corner, if it is at a grid level."""
        z = self.level(layout)
        if z is None:
            return self.faces.align(layout)
        minx, miny, maxx, maxy = layout.bbox
        left, top = self.grid.snap(z, minx, maxy)
        return replace(layout, bbox=(left, top - (maxy - miny), left + (maxx - minx), top))

    def face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        window = self.window(layout)
        if window is None:
            return self.faces.face(layout, encoded=encoded)
        costless = {xy: self.tiles.costless(window.z, *xy) for xy in window.tiles}
        missing = [xy for xy, tile in costless.items() if tile is None]
        if not missing:
            return self.paste(window, costless)  # moving the print area: read once, nobody asked
        kept = all(self.tiles.cache.get(self.tiles.key(window.z, *xy)) is not None for xy in missing)
        try:
            face = self.faces.face(layout, encoded=encoded)
        except UpstreamUnavailable:
            if kept:  # the upstream is down, but every tile is kept, if older: the office's own map, dated
                return self.compose(window)
            raise
        if face.source.origin == "fallback" and kept:
            return self.compose(window)  # the same: better than the substitute drawing
        # A parcel just chosen, a new scale: the tiles here and around are made after this face (not
        # beside it, where they would slow it down), so that moving the print area finds them.
        self.prefetch(layout, self.ahead_px)
        return face

    # ------------------------------------------------------------------ composing

    def level(self, layout: Layout) -> int | None:
        """The grid level a layout is drawn at, or None (another dpi or resolution)."""
        if layout.dpi != SCREEN_DPI:
            return None
        return self.grid.level_of(layout.metres_per_px)

    def window(self, layout: Layout) -> _Window | None:
        """Where the face lies on its level, if it is at a level, on whole grid pixels and inside the grid."""
        z = self.level(layout)
        if z is None:
            return None
        matrix = self.grid.matrix(z)
        ox, oy = self.grid.origin
        minx, _, _, maxy = layout.bbox
        left, top = (minx - ox) / matrix.resolution, (oy - maxy) / matrix.resolution
        if abs(left - round(left)) > _ALIGNED_PX or abs(top - round(top)) > _ALIGNED_PX:
            return None  # not aligned (a caller that planned without align): the exact face instead
        width, height = layout.map_face_size_px
        window = _Window(z, round(left), round(top), width, height, self.grid.tile_size)
        size = self.grid.tile_size
        if window.left < 0 or window.top < 0 or window.left + width > matrix.matrix_width * size \
                or window.top + height > matrix.matrix_height * size:
            return None
        return window

    def available(self, z: int, x: int, y: int) -> bool:
        """Whether a tile costs nothing now: current in the cache, or blank (away from the data)."""
        return self.tiles.costless(z, x, y) is not None

    def fetch(self, z: int, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], Tile]:
        """The tiles, one of each metatile first and those in parallel (each may be a GetMap), then the rest."""
        firsts: dict[tuple[int, int], tuple[int, int]] = {}
        for x, y in wanted:
            meta = self.tiles.metatile(z, x, y)
            firsts.setdefault((meta.x0, meta.y0), (x, y))
        leads = list(firsts.values())
        got: dict[tuple[int, int], Tile] = {}
        if len(leads) > 1:
            # The request's time budget (a context variable) goes along into the helper threads.
            futures = {xy: _POOL.submit(contextvars.copy_context().run, self.tiles.tile, z, *xy)
                       for xy in leads[:_PARALLEL]}
            for xy, future in futures.items():
                got[xy] = future.result()
        for xy in wanted:
            if xy not in got:
                got[xy] = self.tiles.tile(z, *xy)
        return got

    def compose(self, window: _Window) -> MapFace:
        """The face from its tiles, made (or kept ones served) where they are not current."""
        return self.paste(window, self.fetch(window.z, window.tiles))

    def paste(self, window: _Window, tiles: dict[tuple[int, int], Tile]) -> MapFace:
        size = window.tile_size
        with self.limiter.admit(window.width * window.height / 1_000_000):
            canvas = Image.new("RGB", (window.width, window.height), (255, 255, 255))
            for (x, y), tile in tiles.items():
                with Image.open(io.BytesIO(tile.data)) as image:
                    canvas.paste(image.convert("RGB"), (x * size - window.left, y * size - window.top))
        return self.described(canvas, list(tiles.values()))

    def described(self, canvas: Image.Image, tiles: list[Tile]) -> MapFace:
        """The composed face says what its worst tile says: a fallback drawing, else the cache, else current."""
        sources = [tile.source for tile in tiles if tile.source.origin != "blank"]
        for origin in ("fallback", "cache"):
            stand_ins = [s for s in sources if s.origin == origin]
            if stand_ins:
                source = min(stand_ins, key=lambda s: str(s.made or ""))
                attribution = None
                if origin == "fallback" and (fallback := self.stand_in()) is not None:
                    attribution = fallback.source.info().attribution
                return MapFace(source, attribution=attribution, image_=canvas)
        made = [s.made for s in sources if s.made is not None]
        origin = sources[0].origin if sources else self.tiles.origin()
        return MapFace(MapSource(origin, min(made) if made else None), image_=canvas)

    # ------------------------------------------------------------------ fetching ahead

    def prefetch(self, layout: Layout, margin_px: int) -> bool:
        """Makes, in the background, the metatiles under a face and `margin_px` around it that are not cached yet.

        Whether a job was queued: fetching ahead is a favour, never a queue, so beyond AHEAD_QUEUE
        waiting jobs a new one is dropped (and a face off the grid, or a cache that keeps nothing
        current, has nothing to fetch).
        """
        z = self.level(layout)
        # with no time to live nothing made ahead would still be current when asked for
        if z is None or self.tiles.cache.ttl <= 0 or not self._ahead_waiting.acquire(blocking=False):
            return False
        pad = margin_px * self.grid.matrix(z).resolution
        minx, miny, maxx, maxy = layout.bbox
        area = (minx - pad, miny - pad, maxx + pad, maxy + pad)

        def run() -> None:
            try:
                for meta in self.tiles.metatiles(area, [z]):
                    self.tiles.seed(meta)
            except Exception as error:  # noqa: BLE001 - a favour that fails must not disturb anyone
                log.info("fetching ahead at level %d around %s failed: %s", z, area, error)
            finally:
                self._ahead_waiting.release()

        self._ahead.submit(run)
        return True
