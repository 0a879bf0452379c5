"""Produces the official extract PDF through the page pipeline: true paper size, extract dpi, office and order in the title."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from catalogues import N_
from gis_service.config import ExtractSettings, OfficeSettings
from gis_service.page_pipeline import Marking, Page, PagePipeline, PagePlan
from gis_service.orders.texts import office_text
from gis_service.page_request import PreviewRequest


@dataclass(frozen=True)
class ExtractSpec:
    order_number: str
    parcel_key: str
    paper: str
    orientation: str
    scale: int
    centre: tuple[float, float] | None
    created: date
    # Printed in the title block (code and QR code of the URL) so a recipient can check the extract.
    verification_code: str | None = None
    verification_url: str | None = None


class ExtractUnavailable(Exception):
    """The map image for an official extract cannot be had right now (the order goes to staff)."""


class ExtractProducer:
    """The official extract: the same plan and page as a preview, marked with order, office and date."""

    def __init__(self, pipeline: PagePipeline, office: OfficeSettings, settings: ExtractSettings):
        self.pipeline = pipeline
        self.office = office
        self.settings = settings

    def plan(self, spec: ExtractSpec) -> PagePlan:
        return self.pipeline.plan(PreviewRequest(spec.parcel_key, spec.scale, spec.paper, spec.orientation,
                                                 self.settings.dpi, spec.centre))

    def marking(self, spec: ExtractSpec) -> Marking:
        return Marking.official(heading=self.settings.heading, order_number=spec.order_number,
                                office_lines=(self.office.name, *self.office.address_lines),
                                created=spec.created.isoformat(), verification_code=spec.verification_code,
                                verification_url=spec.verification_url)

    def page(self, spec: ExtractSpec) -> Page:
        """The official page; a stand-in map image (cache or fallback) is no basis for one."""
        plan = self.plan(spec)
        face = self.pipeline.face(plan.layout)
        if face.degraded:
            raise ExtractUnavailable(face.source.note("de") or office_text(N_("fulfilment_map_not_current")))
        return self.pipeline.compose(plan, self.marking(spec), face)

    def pdf(self, page: Page, spec: ExtractSpec) -> bytes:
        """The document of an official page."""
        return page.pdf(title=f"{self.settings.heading} {spec.order_number}", author=self.office.name)

    def produce(self, spec: ExtractSpec) -> bytes:
        return self.pdf(self.page(spec), spec)
