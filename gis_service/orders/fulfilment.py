"""Produces the official extract PDF: true paper size, 300 dpi, no watermark, office and order in the title."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gis_service.config import ExtractSettings, OfficeSettings
from renderers import compose, export
from renderers.layout import Layout, bounds_centre, make_layout
from renderers.map import draw_map_face


@dataclass(frozen=True)
class ExtractSpec:
    order_number: str
    parcel_key: str
    paper: str
    orientation: str
    scale: int
    centre: tuple[float, float] | None
    created: date


class ExtractUnavailable(Exception):
    """The map image for an official extract cannot be had right now (the order goes to staff)."""


class ExtractProducer:
    def __init__(self, parcels, source, office: OfficeSettings, settings: ExtractSettings, faces=None):
        """`faces`: the app's map-face provider (upstream GetMap or local drawing); None draws locally."""
        self.parcels = parcels
        self.source = source
        self.office = office
        self.settings = settings
        self.faces = faces

    def _face(self, layout: Layout):
        """(image, attribution) of the map face; a stand-in image is no basis for an official extract."""
        if self.faces is None:
            return draw_map_face(layout, self.source.map_features(layout.bbox)), None
        face = self.faces.face(layout)
        if face.degraded:
            raise ExtractUnavailable(face.note("de") or "Kartenbild nicht aktuell")
        return face.image.convert("RGB"), face.attribution

    def layout(self, spec: ExtractSpec) -> Layout:
        parcel = self.parcels.get(spec.parcel_key)
        centre = spec.centre or bounds_centre(parcel.geometry.bounds)
        return make_layout(spec.paper, spec.orientation, spec.scale, self.settings.dpi, centre)

    def produce(self, spec: ExtractSpec) -> bytes:
        page, layout = self.page(spec)
        return export.to_pdf(page, layout, title=f"{self.settings.heading} {spec.order_number}", author=self.office.name)

    def page(self, spec: ExtractSpec, watermark: str | None = None):
        """The composed page and its layout; official extracts carry no watermark."""
        parcel = self.parcels.get(spec.parcel_key)
        layout = self.layout(spec)
        info = self.source.info()
        title = compose.TitleBlock.for_parcel(
            parcel,
            layout,
            data_currency=info.data_currency or parcel.aktualitaet,
            order_number=spec.order_number,
            office_lines=(self.office.name, *self.office.address_lines),
            created=spec.created.isoformat(),
        )
        face, attribution = self._face(layout)
        page = compose.compose_page(layout, face, parcel=parcel, title=title, attribution=attribution or info.attribution,
                                    watermark=watermark, heading=self.settings.heading)
        return page, layout
