"""The one page pipeline: choices → plan (with the resolved parcel) → map face → composed page, for previews and extracts alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from PIL import Image

from cadastre.model import NATIVE_CRS, Parcel
from catalogues import msg, text
from gis_service.admission import RenderLimiter, page_megapixels
from gis_service.errors import bad_parameter
from gis_service.fit_rule import FitAssessment, assess_fit
from gis_service.map_faces import MapFace, MapFaceProvider, MapSource
from gis_service.page_request import ChoiceProblem, PageChoices, PreviewRequest
from gis_service.parcels import ParcelService
from renderers import compose, pdf
from renderers.layout import Layout, bounds_centre, largest_fitting_scale, make_layout
from wms_clients.base import CadastreSource


@dataclass(frozen=True)
class PagePlan:
    """A request with its parcel resolved and its layout computed; whether the parcel fits the face."""

    request: PreviewRequest
    parcel: Parcel
    layout: Layout
    fits: bool
    largest_fitting_scale: int | None
    fit: FitAssessment

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
            "fit": self.fit.describe(),
        }


@dataclass(frozen=True, kw_only=True)
class Marking:
    """What tells a preview from an official extract; everything else on the two pages is the same.

    `lang` is the language of the title block's labels; an official extract is always German.
    """

    heading: str
    watermark: str | None
    order_number: str | None = None
    office_lines: tuple[str, ...] = ()
    created: str | None = None
    lang: str = "de"
    verification_code: str | None = None
    verification_url: str | None = None

    @classmethod
    def preview(cls, lang: str = "de") -> Marking:
        return cls(heading=compose.DEFAULT_HEADING, watermark=compose.DEFAULT_WATERMARK, lang=lang)

    @classmethod
    def official(cls, *, heading: str, order_number: str, office_lines: tuple[str, ...], created: str,
                 verification_code: str | None = None, verification_url: str | None = None) -> Marking:
        return cls(heading=heading, watermark=None, order_number=order_number, office_lines=tuple(office_lines),
                   created=created, verification_code=verification_code, verification_url=verification_url)


@dataclass(frozen=True)
class Page:
    """A page: its plan, the face it shows (which says where the map came from), its title block and
    marking. The raster image is composed when asked for; the PDF draws the same page as vectors."""

    plan: PagePlan
    face: MapFace
    marking: Marking
    title: compose.TitleBlock
    attribution: str
    limiter: RenderLimiter = field(repr=False, compare=False)

    @property
    def layout(self) -> Layout:
        return self.plan.layout

    @property
    def map_source(self) -> MapSource:
        return self.face.source

    @property
    def parcel_origin(self) -> str | None:
        return self.plan.parcel.origin

    @cached_property
    def image(self) -> Image.Image:
        """The whole page as an RGB image (PNG previews, GeoTIFF), composed once."""
        face_w, face_h = self.layout.map_face_size_px
        # A face that came as PNG is decoded here too, within the same admission.
        decoding = face_w * face_h / 1_000_000 if self.face.image_ is None else 0.0
        with self.limiter.admit(page_megapixels(self.layout) + decoding):
            return compose.compose_page(self.layout, self.face.image, parcel=self.plan.parcel, title=self.title,
                                        attribution=self.attribution, watermark=self.marking.watermark,
                                        heading=self.marking.heading)

    def subject(self) -> str:
        """What the page shows, in a sentence: the document's subject and the map figure's alternative text."""
        title, lang = self.title, self.marking.lang
        flur = title.flur not in (None, "")
        values = {"scale": title.scale, "flurstueck": title.flurstueck, "flur": title.flur, "gemarkung": title.gemarkung}
        if flur:
            return text("pdf_subject_with_flur", lang, **values)
        return text("pdf_subject", lang, **values)

    def pdf(self, *, title: str, author: str = "", created: datetime | None = None) -> bytes:
        """The page as a tagged PDF/A-2b document; the map face goes in as the PNG it came as where it can."""
        png = None
        if self.face.png is not None:
            try:
                png = pdf.read_png(self.face.png)  # read once: page_pdf takes its rows as they are
            except ValueError:
                pass  # not a sound PNG: decoded below like any other face
        if png is not None and png.embeddable:
            face: Image.Image | pdf.PngData = png
        else:
            face_w, face_h = self.layout.map_face_size_px
            with self.limiter.admit(face_w * face_h / 1_000_000):
                face = self.face.image  # decoded (if it came as PNG) and encoded again, once
        subject = self.subject()
        info = pdf.DocumentInfo(title=title, subject=subject, author=author,
                                created=created or datetime.now(timezone.utc), lang=self.marking.lang)
        return pdf.page_pdf(self.layout, face, parcel_geometry=self.plan.parcel.geometry, title=self.title,
                            attribution=self.attribution, watermark=self.marking.watermark,
                            heading=self.marking.heading, info=info, alt_text=subject)


class PagePipeline:
    """Plans and composes pages over one source and one map-face provider."""

    def __init__(self, parcels: ParcelService, source: CadastreSource, faces: MapFaceProvider, choices: PageChoices,
                 limiter: RenderLimiter):
        self.parcels = parcels
        self.source = source
        self.faces = faces
        self.choices = choices
        self.limiter = limiter

    @property
    def settings(self):
        return self.choices.settings

    def plan_from_args(self, args: Mapping[str, object]) -> PagePlan:
        """Validate a preview's URL or form parameters (each problem a 400 naming the parameter) and plan it."""
        text = args.get("parcel") or args.get("key")
        if not text or not isinstance(text, str):
            raise bad_parameter("parcel", msg("page_pipeline_please_give_a_parcel"))
        parcel = self.parcels.get(text)
        try:
            request = self.choices.request(parcel.key, args)
        except ChoiceProblem as problem:
            raise bad_parameter(problem.field, problem.wording) from problem
        return self.plan(request, parcel)

    def plan(self, request: PreviewRequest, parcel: Parcel | None = None) -> PagePlan:
        parcel = parcel if parcel is not None else self.parcels.get(request.parcel)
        bounds = parcel.geometry.bounds
        # aligned to the face provider's pixel grid (tiles): the scale stays, the edges move by under half a pixel
        layout = self.faces.align(make_layout(request.paper, request.orientation, request.scale, request.dpi,
                                              request.centre or bounds_centre(bounds)))
        return PagePlan(
            request=request,
            parcel=parcel,
            layout=layout,
            fits=layout.contains(bounds),
            largest_fitting_scale=largest_fitting_scale(bounds, request.paper, request.orientation, self.settings.scales),
            fit=assess_fit(parcel, layout, self.settings.scales, self.settings.papers),
        )

    def face(self, layout: Layout, *, encoded: bool = False) -> MapFace:
        return self.faces.face(layout, encoded=encoded)

    def compose(self, plan: PagePlan, marking: Marking, face: MapFace | None = None) -> Page:
        """The page for a plan: the face (fetched unless given), highlight, frame, ticks, title block, marking.

        Nothing is drawn yet: Page.image composes the raster, Page.pdf the document."""
        face = face if face is not None else self.face(plan.layout)
        info = self.source.info()
        parcel = plan.parcel
        title = compose.TitleBlock.for_parcel(
            parcel,
            plan.layout,
            data_currency=info.data_currency or parcel.aktualitaet,
            order_number=marking.order_number,
            office_lines=marking.office_lines,
            created=marking.created,
            note=face.source.note(marking.lang),
            lang=marking.lang,
            verification_code=marking.verification_code,
            verification_url=marking.verification_url,
        )
        return Page(plan, face, marking, title, face.attribution or info.attribution, self.limiter)
