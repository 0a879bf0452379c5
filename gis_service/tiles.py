"""Tiles of the grid from the face providers through metatiles: cut, cached, made once across workers, stale while the upstream is down."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from PIL import Image

from cadastre.errors import CadastreError
from gis_service import metrics
from gis_service.admission import RenderLimiter
from gis_service.cache import Cache, CacheEntry
from gis_service.config import TileSettings
from gis_service.errors import map_unavailable
from gis_service.map_faces import MapFaceProvider, MapSource
from gis_service.tile_grid import TileGrid
from gis_service.time_budget import call_bounded
from renderers import export
from renderers.layout import make_view
from wms_clients.http import UpstreamError

log = logging.getLogger(__name__)

# How often a request waiting for another worker's metatile looks into the cache.
POLL_S = 0.05
# A Redis lock of a worker that died frees itself after this (a metatile GetMap takes seconds at most).
LOCK_S = 60.0


@dataclass(frozen=True)
class Tile:
    """One tile as PNG, where it came from (MapSource) and its entity tag."""

    data: bytes
    source: MapSource
    etag: str

    @property
    def degraded(self) -> bool:
        return self.source.degraded


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass(frozen=True)
class Metatile:
    """meta × meta tiles (fewer at the grid's edge) fetched as one image with a buffer all round."""

    z: int
    x0: int
    y0: int
    columns: int
    rows: int

    def tiles(self):
        for y in range(self.y0, self.y0 + self.rows):
            for x in range(self.x0, self.x0 + self.columns):
                yield x, y


class TileService:
    """tile(z, x, y) → Tile; seed(...) fills the cache. Nothing here knows HTTP.

    A tile counts as current for the cache TTL and while the data currency it was made under is
    still the source's. Otherwise its metatile is made again: by one thread of one worker at a
    time (a lock in the cache backend), the others wait for its tiles. When that fails, the last
    good tile is served marked as `cache`, else a tile of the fallback drawing, else 503.
    """

    def __init__(self, grid: TileGrid, faces: MapFaceProvider, cache: Cache, settings: TileSettings, *,
                 deadline: Callable[[], float], data_extent: Callable[[], tuple[float, float, float, float]],
                 margin_m: float, limiter: RenderLimiter, retry_after: Callable[[], int] = lambda: 30):
        self.grid = grid
        self.faces = faces
        self.cache = cache
        self.settings = settings
        self.deadline = deadline
        self.data_extent = data_extent
        self.margin_m = margin_m
        self.retry_after = retry_after
        self.limiter = limiter
        shape = "|".join([grid.identifier, repr(grid.extent), str(grid.tile_size), repr(grid.resolutions)])
        self.prefix = f"tile:{faces.cache_id}:{hashlib.sha256(shape.encode()).hexdigest()[:12]}"
        blank = export.to_png(Image.new("RGB", (grid.tile_size, grid.tile_size), (255, 255, 255)))
        self.blank = Tile(blank, MapSource("blank"), _etag(blank))

    # ------------------------------------------------------------------ reading

    def key(self, z: int, x: int, y: int) -> str:
        return f"{self.prefix}:{z}/{x}/{y}"

    def metatile(self, z: int, x: int, y: int) -> Metatile:
        m = self.grid.matrix(z)
        n = self.settings.metatile_size
        x0, y0 = x - x % n, y - y % n
        return Metatile(z, x0, y0, min(n, m.matrix_width - x0), min(n, m.matrix_height - y0))

    def has_data(self, z: int, x: int, y: int) -> bool:
        """Whether the tile lies within reach of the data (else it is blank and nobody is asked)."""
        minx, miny, maxx, maxy = self.grid.tile_bbox(z, x, y)
        dminx, dminy, dmaxx, dmaxy = self.data_extent()
        if not (dmaxx > dminx and dmaxy > dminy):
            return True  # an upstream whose extent is not known yet
        m = self.margin_m
        return not (maxx < dminx - m or minx > dmaxx + m or maxy < dminy - m or miny > dmaxy + m)

    def tile(self, z: int, x: int, y: int) -> Tile:
        """The tile (TileError when it is not in the grid; 503 when nothing can be served)."""
        self.grid.check(z, x, y)
        if not self.has_data(z, x, y):
            return self.blank
        key = self.key(z, x, y)
        entry = self.cache.get(key)
        currency = self.faces.currency()
        if entry is not None and self.cache.is_current(entry, currency):
            return self._from_entry(entry, self.origin())
        try:
            return self._made(z, x, y, key)
        except (UpstreamError, CadastreError) as error:
            metrics.count_metatile("failed")
            return self._instead(z, x, y, entry, error)

    def cached(self, z: int, x: int, y: int) -> bool:
        """Whether a current tile is in the cache (seeding skips those)."""
        entry = self.cache.get(self.key(z, x, y))
        return entry is not None and self.cache.is_current(entry, self.faces.currency())

    def costless(self, z: int, x: int, y: int) -> Tile | None:
        """The tile if it costs nothing now (blank, away from the data, or current in the cache), else None."""
        if not self.has_data(z, x, y):
            return self.blank
        entry = self.cache.get(self.key(z, x, y))
        if entry is not None and self.cache.is_current(entry, self.faces.currency()):
            return self._from_entry(entry, self.origin())
        return None

    def origin(self) -> str:
        """Where this service's freshly made tiles come from: drawn here, or the upstream."""
        return "local" if self.faces.cache_id.startswith("local:") else "upstream"

    @staticmethod
    def _from_entry(entry: CacheEntry, origin: str) -> Tile:
        return Tile(entry.data, MapSource.of_entry(origin, entry), entry.meta.get("etag") or _etag(entry.data))

    def _instead(self, z: int, x: int, y: int, entry: CacheEntry | None, error: Exception) -> Tile:
        if entry is not None:
            log.warning("tile %d/%d/%d: the source failed, serving the tile cached %.0f s ago: %s",
                        z, x, y, entry.age(), error)
            return self._from_entry(entry, "cache")
        stand_in = self.faces.stand_in()
        if stand_in is not None:
            log.warning("tile %d/%d/%d: the source failed, drawing from the fallback dataset: %s", z, x, y, error)
            view = make_view(self.grid.tile_bbox(z, x, y), self.grid.tile_size, self.grid.tile_size)
            data = stand_in.render(view).encoded()
            return Tile(data, MapSource("fallback", stand_in.currency()), _etag(data))
        log.warning("tile %d/%d/%d: the source failed, nothing to serve instead: %s", z, x, y, error)
        if isinstance(error, CadastreError):
            raise error
        raise map_unavailable(self.retry_after()) from error

    # ------------------------------------------------------------------ making

    def _made(self, z: int, x: int, y: int, key: str) -> Tile:
        """Make the tile's metatile, or wait while another thread or worker makes it, within the deadline."""
        deadline = self.deadline()
        meta = self.metatile(z, x, y)
        while True:
            made = call_bounded(lambda: self._make_if_free(meta, (x, y)), deadline, "metatile")
            if made is not None:
                return made
            # Someone else is making this metatile: its tiles reach the cache when it is done.
            while time.monotonic() < deadline:
                time.sleep(POLL_S)
                entry = self.cache.get(key)
                if entry is not None and self.cache.is_current(entry, self.faces.currency()):
                    metrics.count_metatile("coalesced")
                    return self._from_entry(entry, self.origin())
                if self._free(meta):
                    break  # the other one gave up or failed: try ourselves
            else:
                raise UpstreamError("metatile: still being made by another request at the deadline", kind="timeout")

    def _lock_name(self, meta: Metatile) -> str:
        return f"{self.prefix}:meta:{meta.z}/{meta.x0}/{meta.y0}"

    def _free(self, meta: Metatile) -> bool:
        lock = self.cache.try_lock(self._lock_name(meta), LOCK_S)
        if lock is None:
            return False
        lock.release()
        return True

    def _make_if_free(self, meta: Metatile, wanted: tuple[int, int]) -> Tile | None:
        """In the upstream pool: under the metatile's lock, its tiles (unless another worker just made them).

        None when the lock is held elsewhere. The lock is taken and given back in this one thread,
        so a request that stops waiting leaves no lock behind and the tiles still reach the cache.
        """
        lock = self.cache.try_lock(self._lock_name(meta), LOCK_S)
        if lock is None:
            return None
        with lock:
            currency = self.faces.currency()
            entry = self.cache.get(self.key(meta.z, *wanted))
            if entry is not None and self.cache.is_current(entry, currency):
                return self._from_entry(entry, self.origin())
            return self.render_metatile(meta, currency)[wanted]

    def render_metatile(self, meta: Metatile, currency: str | None) -> dict[tuple[int, int], Tile]:
        """One GetMap (or drawing) of the metatile with its buffer, cut into tiles and stored."""
        size, buffer = self.grid.tile_size, self.settings.metatile_buffer_px
        bbox = self.grid.block_bbox(meta.z, meta.x0, meta.y0, meta.columns, meta.rows, buffer)
        view = make_view(bbox, meta.columns * size + 2 * buffer, meta.rows * size + 2 * buffer)
        core = self.grid.block_bbox(meta.z, meta.x0, meta.y0, meta.columns, meta.rows)
        face = self.faces.render(view, labels_within=core)
        metrics.count_metatile("made")
        width, height = view.map_face_size_px
        # An upstream's PNG comes undecoded: decoding it is counted like any face's.
        with self.limiter.admit(width * height / 1_000_000):
            image = face.image
        tiles: dict[tuple[int, int], Tile] = {}
        for x, y in meta.tiles():
            left, top = buffer + (x - meta.x0) * size, buffer + (y - meta.y0) * size
            data = export.to_png(image.crop((left, top, left + size, top + size)))
            etag = _etag(data)
            entry = self.cache.put(self.key(meta.z, x, y), data, meta={"currency": currency, "etag": etag})
            tiles[(x, y)] = Tile(data, MapSource.of_entry(self.origin(), entry), etag)
        return tiles

    # ------------------------------------------------------------------ seeding

    def metatiles(self, bbox, levels) -> list[Metatile]:
        """The metatiles covering bbox on these levels, coarse levels first."""
        found: list[Metatile] = []
        for z in sorted(levels):
            seen = set()
            for x, y in self.grid.tiles_covering(z, bbox):
                if not self.has_data(z, x, y):
                    continue
                meta = self.metatile(z, x, y)
                if (meta.x0, meta.y0) not in seen:
                    seen.add((meta.x0, meta.y0))
                    found.append(meta)
        return found

    def seed(self, meta: Metatile) -> str:
        """Make one metatile unless all its tiles are current: "cached", "made" or "busy" (another worker has it)."""
        if all(self.cached(meta.z, x, y) for x, y in meta.tiles()):
            return "cached"
        lock = self.cache.try_lock(self._lock_name(meta), LOCK_S)
        if lock is None:
            return "busy"
        with lock:
            self.render_metatile(meta, self.faces.currency())
        return "made"


@dataclass
class SeedReport:
    """What a seeding run did, metatile by metatile."""

    total: int
    made: int = 0
    cached: int = 0
    busy: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.made + self.cached + self.busy + self.failed


def seed(service: TileService, metatiles: list[Metatile], *, workers: int = 2,
         progress: Callable[[SeedReport], None] | None = None) -> SeedReport:
    """Make every metatile that is not current, `workers` at a time (polite to the upstream); failures are
    counted and the run goes on. `progress` is told after each metatile."""
    report = SeedReport(total=len(metatiles))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed")
    try:
        futures = {pool.submit(service.seed, meta): meta for meta in metatiles}
        for future in as_completed(futures):
            meta = futures[future]
            try:
                outcome = future.result()
            except (UpstreamError, CadastreError) as error:
                metrics.count_metatile("failed")
                report.failed += 1
                report.errors.append(f"level {meta.z}, tiles {meta.x0}/{meta.y0}: {error}")
            else:
                setattr(report, outcome, getattr(report, outcome) + 1)
            if progress is not None:
                progress(report)
    finally:
        # Ctrl-C or an error: what waits is dropped, what runs finishes (a later run makes the rest).
        pool.shutdown(wait=True, cancel_futures=True)
    return report
