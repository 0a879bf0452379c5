"""Map faces for previews and the web map: drawn from local data, or the upstream's GetMap with cache and fallback."""

from __future__ import annotations

import hashlib
import io
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from PIL import Image

from cadastre.model import BBox
from catalogues import text
from gis_service.admission import RenderLimiter, affordable_supersample, drawing_megapixels
from gis_service.cache import Cache, CacheEntry
from gis_service.config import LimitSettings
from gis_service.errors import map_unavailable
from gis_service.time_budget import call_bounded
from gis_service.upstream_source import UpstreamSource
from renderers import export, style
from renderers.compose import german_date
from renderers.layout import Layout
from renderers.map import draw_map_face
from wms_clients.base import CadastreSource
from wms_clients.http import UpstreamError

log = logging.getLogger(__name__)

LOCAL_TIME = ZoneInfo("Europe/Berlin")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _on_paper(image: Image.Image) -> Image.Image:
    """The face as it prints, in RGB: transparent parts (WMS TRANSPARENT=TRUE) on white paper.

    An opaque alpha channel is dropped here, where it is cheap, not in compose.
    """
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA") and image.getextrema()[-1][0] < 255:
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        paper.alpha_composite(image.convert("RGBA"))
        image = paper
    return image.convert("RGB")


@dataclass(frozen=True)
class MapSource:
    """Where a map image came from and how fresh it is.

    origin: `local` (drawn from the configured dataset), `upstream` (the office's GetMap, maybe
    from the cache while still current), `cache` (the last good upstream image, served because
    the upstream failed; `made` tells when it was fetched) or `fallback` (drawn from the local
    fallback dataset because the upstream failed; `made` is that dataset's currency).
    """

    origin: str
    made: datetime | str | None = None

    @property
    def degraded(self) -> bool:
        """A stand-in for the current original: it must not stay in caches once the upstream is back."""
        return self.origin in ("cache", "fallback")

    def date_text(self) -> str | None:
        if isinstance(self.made, datetime):
            return self.made.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.made

    def header(self) -> str:
        """As told to clients: `upstream`, `cache; date=2025-05-12T08:30:00Z`, `fallback; date=…`, `local`."""
        date = self.date_text()
        return f"{self.origin}; date={date}" if date else self.origin

    @classmethod
    def of_entry(cls, origin: str, entry: CacheEntry) -> MapSource:
        """A cached image's source: made when the entry was."""
        return cls(origin, datetime.fromtimestamp(entry.created, timezone.utc))

    @classmethod
    def from_header(cls, text: str) -> MapSource:
        origin, _, date = text.partition("; date=")
        return cls(origin, date or None)

    def note(self, lang: str = "de") -> str | None:
        """The line a degraded map puts into the title block."""
        if self.origin == "cache":
            return text("map_note_cache", lang, when=_local_text(self.made))
        if self.origin == "fallback":
            made = self.made if isinstance(self.made, str) and self.made else None
            if made:
                return text("map_note_fallback_dated", lang, made=german_date(made) if lang == "de" else made)
            return text("map_note_fallback", lang)
        return None


@dataclass(frozen=True)
class MapFace:
    """One map face (decoded on demand from the PNG it came as) and where it came from."""

    source: MapSource
    attribution: str | None = None
    image_: Image.Image | None = None
    png: bytes | None = None

    @property
    def degraded(self) -> bool:
        return self.source.degraded

    @property
    def image(self) -> Image.Image:
        if self.image_ is not None:
            return self.image_
        image = Image.open(io.BytesIO(self.png or b""))
        image.load()
        image = _on_paper(image)
        object.__setattr__(self, "image_", image)
        return image

    def encoded(self) -> bytes:
        """PNG bytes of the face (the upstream's own when it sent PNG)."""
        if self.png is None or not self.png.startswith(_PNG_MAGIC):
            object.__setattr__(self, "png", export.to_png(self.image))
        return self.png  # type: ignore[return-value]


def _local_text(made: datetime | str | None) -> str:
    if isinstance(made, datetime):
        return made.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")
    return german_date(made) if made else "?"


class MapFaceProvider(ABC):
    """Gives the map face for a layout (a page's face or a screen view) and says where it came from."""

    #: what the faces show; part of every cache key built on them
    cache_id: str

    def align(self, layout: Layout) -> Layout:
        """The layout moved (by under half a pixel) to where this provider makes faces best; as it is by default."""
        return layout

    @abstractmethod
    def face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        """The face of exactly layout.bbox at layout.map_face_size_px and layout.dpi.

        encoded=True says the caller wants PNG bytes (the web map), so the face is cached encoded.
        """

    @abstractmethod
    def currency(self) -> str | None:
        """The data currency the faces show (ISO date), part of rendered-preview cache keys."""

    @abstractmethod
    def render(self, layout: Layout, *, labels_within: BBox | None = None) -> MapFace:
        """The face made now (drawn, or the upstream's GetMap): no cache, no stand-in; UpstreamError when it fails.

        For callers that cache pieces themselves (tiles cut from a metatile). `labels_within`: where a
        local drawing may put labels (the metatile without its buffer); an upstream places its own.
        """

    def stand_in(self) -> LocalMapFaces | None:
        """What draws a substitute when render() fails (the fallback dataset), or None."""
        return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _bbox_key(layout: Layout) -> str:
    # Millimetres: the same request computed twice must hit, float noise must not matter.
    return ",".join(f"{v:.3f}" for v in layout.bbox)


class LocalMapFaces(MapFaceProvider):
    """Faces drawn by renderers.map from the source's vector features."""

    def __init__(self, source: CadastreSource, cache: Cache | None, limiter: RenderLimiter, limits: LimitSettings):
        self.source = source
        self.cache = cache
        self.limiter = limiter
        self.limits = limits
        config = getattr(source, "config", None)
        identity = str(getattr(config, "dataset", "")) or f"{type(source).__name__}:{id(source)}"
        self.cache_id = f"local:{_digest(identity + '|' + style.DRAWING_VERSION)}"

    def currency(self) -> str | None:
        return self.source.info().data_currency

    def face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        key = f"face:{self.cache_id}:{self.currency() or '-'}:{_bbox_key(layout)}:{layout.map_face_size_px}:{layout.dpi}"
        if encoded and self.cache is not None:
            entry = self.cache.get(key)
            if entry is not None and self.cache.is_fresh(entry):
                return MapFace(MapSource("local"), png=entry.data)
        face = self.render(layout)
        if encoded and self.cache is not None:
            self.cache.put(key, face.encoded())
        return face

    def render(self, layout: Layout, *, labels_within: BBox | None = None) -> MapFace:
        features = self.source.map_features(layout.bbox)
        supersample = affordable_supersample(layout, self.limits)
        with self.limiter.admit(drawing_megapixels(layout, supersample)):
            image = draw_map_face(layout, features, supersample=supersample, labels_within=labels_within)
        return MapFace(MapSource("local"), image_=image)


class UpstreamMapFaces(MapFaceProvider):
    """The upstream's GetMap for exactly the layout, through the cache; on failure the last good
    image, else the fallback drawing, else UpstreamUnavailable (503).

    An image counts as current for the cache TTL and while the data currency it was fetched
    under is still the upstream's; older ones are kept for outages.
    """

    def __init__(self, source: UpstreamSource, cache: Cache, limiter: RenderLimiter,
                 fallback: LocalMapFaces | None = None):
        self.source = source
        self.wms = source.wms
        self.cache = cache
        self.limiter = limiter
        self.fallback = fallback
        wms = self.wms
        self.cache_id = "wms:" + _digest(
            "|".join([wms.url, ",".join(wms.layers), ",".join(wms.styles or []), wms.crs, wms.format,
                      str(wms.dpi_param), str(wms.transparent), str(wms.bgcolor), repr(sorted(wms.extra_params.items()))])
        )

    def currency(self) -> str | None:
        return self.source.info().data_currency

    def key(self, layout: Layout) -> str:
        width, height = layout.map_face_size_px
        return f"getmap:{self.cache_id}:{_bbox_key(layout)}:{width}x{height}:{layout.dpi}"

    def face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        key = self.key(layout)
        entry = self.cache.get(key)
        currency = self.currency()
        if entry is not None and self.cache.is_current(entry, currency):
            return self._from_entry("upstream", entry)
        try:
            return call_bounded(lambda: self._fetch(key, layout, currency), self.source.deadline(), "WMS GetMap")
        except UpstreamError as error:
            if entry is not None:
                log.warning("GetMap failed, serving the image cached %.0f s ago: %s", entry.age(), error)
                return self._from_entry("cache", entry)
            if self.fallback is not None:
                log.warning("GetMap failed, drawing from the fallback dataset: %s", error)
                face = self.fallback.face(layout, encoded=encoded)
                info = self.fallback.source.info()
                return replace(face, source=MapSource("fallback", info.data_currency), attribution=info.attribution)
            log.warning("GetMap failed, nothing to serve instead: %s", error)
            raise map_unavailable(self.source.retry_after()) from error

    @staticmethod
    def _from_entry(origin: str, entry: CacheEntry) -> MapFace:
        return MapFace(MapSource.of_entry(origin, entry), png=entry.data)

    def stand_in(self) -> LocalMapFaces | None:
        return self.fallback

    def render(self, layout: Layout, *, labels_within: BBox | None = None) -> MapFace:
        width, height = layout.map_face_size_px
        # A PNG in one piece is checked (size, mode, every chunk) but not decoded: the cache keeps it,
        # a PDF embeds its data as they are, a raster page (or a metatile cut into tiles) decodes it
        # when used (under the limiter). Anything else the client decodes under the limiter (wiring
        # sets its decode_guard).
        image, raw = self.wms.get_map_encoded(layout.bbox, width, height, layout.dpi, decode=False)
        if raw is not None and raw.startswith(_PNG_MAGIC):
            return MapFace(MapSource("upstream"), png=raw)
        with self.limiter.admit(width * height / 1_000_000):  # the copy on paper in RGB
            return MapFace(MapSource("upstream"), image_=_on_paper(image))

    def _fetch(self, key: str, layout: Layout, currency: str | None) -> MapFace:
        # Runs in the upstream pool: if the request stops waiting, the image still reaches the cache.
        face = self.render(layout)
        entry = self.cache.put(key, face.encoded(), meta={"currency": currency})
        return replace(face, source=MapSource.of_entry("upstream", entry))
