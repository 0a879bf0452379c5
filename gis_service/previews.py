"""Preview images: the page pipeline's pages as PNG (cached), PDF and GeoTIFF, and bare map images for web maps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gis_service.admission import check_view
from gis_service.cache import Cache
from gis_service.config import LimitSettings
from gis_service.map_faces import MapSource
from gis_service.page_pipeline import Marking, PagePipeline, PagePlan
from renderers import export
from renderers.layout import Layout


@dataclass(frozen=True)
class Rendered:
    """Encoded image bytes and what a client should be told about them."""

    data: bytes
    map_source: MapSource
    parcel_origin: str | None = None  # "fallback" when the parcel came from the fallback dataset


class PreviewService:
    """Previews: pages marked as previews (German title block), the PNG through the cache.

    Only pages whose face is current are cached: a stand-in must not outlive the outage.
    """

    def __init__(self, pipeline: PagePipeline, cache: Cache, limits: LimitSettings):
        self.pipeline = pipeline
        self.cache = cache
        self.limits = limits

    @property
    def settings(self):
        return self.pipeline.settings

    def currency(self) -> str | None:
        """The data currency the images show (for their entity tags)."""
        return self.pipeline.faces.currency()

    def version_tag(self, plan: PagePlan, kind: str) -> str:
        """What names a PDF's or GeoTIFF's version: the request and the map it shows, not the bytes (a PDF
        carries the moment it was made, so its bytes differ every time); with currency() in the ETag."""
        return hashlib.sha256(f"{self.pipeline.faces.cache_id}|{plan.request.cache_key(kind)}".encode()).hexdigest()[:32]

    def plan_from_args(self, args) -> PagePlan:
        return self.pipeline.plan_from_args(args)

    def cache_key(self, plan: PagePlan) -> str:
        # The face provider and the data currency are part of the key: new data, new previews.
        faces = self.pipeline.faces
        return f"preview:v1:{faces.cache_id}:{faces.currency() or '-'}:{plan.request.cache_key('png')}"

    def png(self, plan: PagePlan) -> Rendered:
        key = self.cache_key(plan)
        entry = self.cache.get(key)
        if entry is not None and self.cache.is_fresh(entry):
            return Rendered(entry.data, MapSource.from_header(entry.meta.get("map_source", "cache")), plan.parcel.origin)
        page = self.pipeline.compose(plan, Marking.preview())
        data = export.to_png(page.image)
        if not page.map_source.degraded:
            self.cache.put(key, data, meta={"map_source": page.map_source.header()})
        return Rendered(data, page.map_source, page.parcel_origin)

    def pdf(self, plan: PagePlan) -> Rendered:
        page = self.pipeline.compose(plan, Marking.preview())
        return Rendered(page.pdf(title=page.marking.heading), page.map_source, page.parcel_origin)

    def geotiff(self, plan: PagePlan) -> Rendered:
        page = self.pipeline.compose(plan, Marking.preview())
        return Rendered(export.to_geotiff(page.image, page.layout), page.map_source, page.parcel_origin)

    def map_png(self, view: Layout) -> Rendered:
        """A bare map image for a screen view (see renderers.layout.make_view): the upstream's GetMap
        through the cache, or the local drawing; refused when it would cost too much or lies far from the data."""
        check_view(view, self.pipeline.source.info().extent, self.limits)
        face = self.pipeline.face(view, encoded=True)
        return Rendered(face.encoded(), face.source)
