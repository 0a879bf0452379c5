"""Preview requests: validate the citizen's choices, plan the layout, render and cache the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from cadastre.model import NATIVE_CRS, Parcel
from gis_service.cache import Cache, MemoryCache, build_cache
from gis_service.config import PreviewSettings, Settings
from gis_service.errors import bad_parameter
from gis_service.map_faces import LocalMapFaces, MapFace, MapFaceProvider, UpstreamMapFaces, announce_face
from gis_service.parcels import ParcelService, parse_float
from gis_service.upstream import UpstreamSource, announce
from renderers import compose, export
from renderers.layout import Layout, bounds_centre, largest_fitting_scale, make_layout
from wms_clients.base import CadastreSource

ORIENTATION_LABELS = {"de": {"portrait": "Hochformat", "landscape": "Querformat"},
                      "en": {"portrait": "portrait", "landscape": "landscape"}}
# How far the print area may be moved away from the data, in metres.
CENTRE_MARGIN_M = 1000.0


@dataclass(frozen=True)
class PreviewRequest:
    parcel: str  # 20-character key
    scale: int
    paper: str
    orientation: str
    dpi: int
    centre: tuple[float, float] | None = None

    def cache_key(self, kind: str) -> str:
        centre = "auto" if self.centre is None else f"{self.centre[0]:.2f},{self.centre[1]:.2f}"
        return f"{kind}:{self.parcel}:{self.scale}:{self.paper}:{self.orientation}:{self.dpi}:{centre}"


@dataclass
class PreviewPlan:
    request: PreviewRequest
    parcel: Parcel
    layout: Layout
    fits: bool
    largest_fitting_scale: int | None

    def describe(self) -> dict:
        layout = self.layout
        return {
            "crs": NATIVE_CRS,
            "bbox": [round(v, 3) for v in layout.bbox],
            "map_face_px": list(layout.map_face_px),
            "image_px": list(layout.image_px),
            "scale": layout.scale,
            "dpi": layout.dpi,
            "paper": layout.paper,
            "orientation": layout.orientation,
            "paper_mm": list(layout.paper_mm),
            "map_face_mm": [round(v, 3) for v in layout.map_face_mm],
            "metres_per_px": layout.metres_per_px,
            "centre": [round(v, 3) for v in layout.centre],
            "parcel": self.parcel.key,
            "label": self.parcel.label,
            "fits": self.fits,
            "largest_fitting_scale": self.largest_fitting_scale,
        }


class PreviewService:
    """Previews of one source: the face from a MapFaceProvider, the page from renderers.compose,
    the PNG through the cache (only pages with a current face are cached)."""

    def __init__(
        self,
        parcels: ParcelService,
        source: CadastreSource,
        settings: PreviewSettings,
        *,
        faces: MapFaceProvider | None = None,
        cache: Cache | None = None,
    ):
        self.parcels = parcels
        self.source = source
        self.settings = settings
        self.cache = cache or MemoryCache(64 * 1024 * 1024, ttl=12 * 3600, stale=0)
        self.faces = faces or LocalMapFaces(source, self.cache)

    # --- validation ----------------------------------------------------------------------
    def request_from_args(self, args: Mapping[str, str]) -> PreviewRequest:
        s = self.settings
        parcel_text = args.get("parcel") or args.get("key")
        if not parcel_text:
            raise bad_parameter("parcel", "bitte ein Flurstück angeben.", "please give a parcel.")
        parcel = self.parcels.get(parcel_text)
        scale = self._choice_int("scale", args.get("scale"), s.default_scale, s.scales, prefix="1:")
        paper = (args.get("paper") or s.default_paper).upper()
        if paper not in s.papers:
            raise bad_parameter("paper", f"erlaubt sind {', '.join(s.papers)}.", f"allowed are {', '.join(s.papers)}.")
        orientation = (args.get("orientation") or s.default_orientation).lower()
        if orientation not in ("portrait", "landscape"):
            raise bad_parameter("orientation", "erlaubt sind portrait (Hochformat) und landscape (Querformat).",
                                "allowed are portrait and landscape.")
        dpi = self._range_int("dpi", args.get("dpi"), s.default_dpi, s.min_dpi, s.max_dpi)
        centre = self._centre(args.get("center") or args.get("centre"))
        return PreviewRequest(parcel.key, scale, paper, orientation, dpi, centre)

    @staticmethod
    def _choice_int(name: str, value: str | None, default: int, allowed: list[int], prefix: str = "") -> int:
        if value in (None, ""):
            return default
        text = str(value).strip().removeprefix("1:")
        if not text.isdigit() or int(text) not in allowed:
            shown = ", ".join(f"{prefix}{a}" for a in allowed)
            raise bad_parameter(name, f"erlaubt sind {shown}.", f"allowed are {shown}.")
        return int(text)

    @staticmethod
    def _range_int(name: str, value: str | None, default: int, low: int, high: int) -> int:
        if value in (None, ""):
            return default
        text = str(value).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise bad_parameter(name, f"erlaubt sind ganze Zahlen von {low} bis {high}.", f"allowed are whole numbers {low} to {high}.")
        return int(text)

    def _centre(self, value: str | None) -> tuple[float, float] | None:
        if not value:
            return None
        parts = value.split(",")
        if len(parts) != 2:
            raise bad_parameter("center", "zwei Zahlen x,y in EPSG:25832 erwartet.", "expected two numbers x,y in EPSG:25832.")
        x, y = (parse_float("center", p) for p in parts)
        minx, miny, maxx, maxy = self.source.info().extent
        if maxx <= minx or maxy <= miny:
            return x, y  # an upstream whose extent is not known yet: the GetMap will tell
        if not (minx - CENTRE_MARGIN_M <= x <= maxx + CENTRE_MARGIN_M and miny - CENTRE_MARGIN_M <= y <= maxy + CENTRE_MARGIN_M):
            raise bad_parameter("center", "der Kartenmittelpunkt liegt außerhalb des Gebiets, für das Karten vorliegen.",
                                "the map centre lies outside the area this service has maps for.")
        return x, y

    # --- planning and rendering -----------------------------------------------------------
    def plan(self, request: PreviewRequest) -> PreviewPlan:
        parcel = self.parcels.get(request.parcel)
        bounds = parcel.geometry.bounds
        centre = request.centre or bounds_centre(bounds)
        layout = make_layout(request.paper, request.orientation, request.scale, request.dpi, centre)
        return PreviewPlan(
            request=request,
            parcel=parcel,
            layout=layout,
            fits=layout.contains(bounds),
            largest_fitting_scale=largest_fitting_scale(bounds, request.paper, request.orientation, self.settings.scales),
        )

    def title_block(self, plan: PreviewPlan, lang: str = "de", note: str | None = None) -> compose.TitleBlock:
        parcel, layout = plan.parcel, plan.layout
        info = self.source.info()
        return compose.TitleBlock(
            gemarkung=parcel.gemarkung_name or parcel.kennzeichen.gemarkung,
            flur=parcel.kennzeichen.flur,
            flurstueck=parcel.kennzeichen.nummer,
            scale=layout.scale,
            paper=layout.paper,
            orientation=ORIENTATION_LABELS.get(lang, ORIENTATION_LABELS["de"])[layout.orientation],
            data_currency=info.data_currency or parcel.aktualitaet or "",
            note=note,
        )

    def map_face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        """The face for a layout from the configured provider; sets X-Map-Source on the response."""
        face = self.faces.face(layout, encoded=encoded)
        announce_face(face)
        return face

    def page_and_face(self, plan: PreviewPlan, lang: str = "de") -> tuple[Image.Image, MapFace]:
        """The page and the face it was made from (degraded faces carry a note in the title block)."""
        face = self.map_face(plan.layout)
        page = compose.compose_page(
            plan.layout,
            face.image,
            parcel=plan.parcel,
            title=self.title_block(plan, lang, note=face.note(lang)),
            attribution=face.attribution or self.source.info().attribution,
        )
        return page, face

    def render(self, plan: PreviewPlan, lang: str = "de") -> Image.Image:
        return self.page_and_face(plan, lang)[0]

    def cache_key(self, request: PreviewRequest) -> str:
        # The face provider and the data currency are part of the key: new data, new previews.
        return f"preview:v1:{self.faces.cache_id}:{self.faces.currency() or '-'}:{request.cache_key('png')}"

    def png(self, request: PreviewRequest) -> bytes:
        key = self.cache_key(request)
        entry = self.cache.get(key)
        if entry is not None and self.cache.is_fresh(entry):
            announce("X-Map-Source", entry.meta.get("map_source", "cache"))
            return entry.data
        page, face = self.page_and_face(self.plan(request))
        data = export.to_png(page)
        if not face.degraded:
            self.cache.put(key, data, meta={"map_source": face.header()})
        return data

    def map_png(self, view: Layout) -> bytes:
        """A bare map image for a screen view (see renderers.layout.make_view): the upstream's GetMap
        through the cache, or the local drawing."""
        return self.map_face(view, encoded=True).encoded()

    def pdf(self, request: PreviewRequest) -> bytes:
        plan = self.plan(request)
        return export.to_pdf(self.render(plan), plan.layout)

    def geotiff(self, request: PreviewRequest) -> bytes:
        plan = self.plan(request)
        return export.to_geotiff(self.render(plan), plan.layout)


def request_as_dict(request: PreviewRequest) -> dict:
    return asdict(request)


def build_previews(settings: Settings, parcels: ParcelService, source: CadastreSource, instance_path: Path) -> PreviewService:
    """The preview service for a source: upstream GetMap faces (with the source's cache and its
    fallback dataset) or local drawing, and the configured cache for rendered pages."""
    if isinstance(source, UpstreamSource):
        fallback = LocalMapFaces(source.fallback, source.cache) if source.fallback is not None else None
        faces: MapFaceProvider = UpstreamMapFaces(source, source.cache, fallback)
        cache = source.cache
    else:
        cache = build_cache(settings.cache, instance_path)
        faces = LocalMapFaces(source, cache)
    return PreviewService(parcels, source, settings.preview, faces=faces, cache=cache)
