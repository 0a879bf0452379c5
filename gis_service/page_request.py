"""A citizen's page choices (parcel, scale, paper, orientation, dpi, centre), validated in one place for previews and orders."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cadastre.errors import CadastreError
from cadastre.model import BBox
from catalogues import Message, msg
from gis_service.config import PreviewSettings
from renderers.layout import ORIENTATIONS

# How far the print area may be moved away from the data, in metres.
CENTRE_MARGIN_M = 1000.0
# ASCII digits only: str.isdigit() also accepts "²" and "⁵", which int() refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class ChoiceProblem(CadastreError):
    """One choice is not allowed; `field` names it, the sentences say what is allowed."""

    code = "invalid-parameter"

    def __init__(self, field: str, de: Message | str, en: str | None = None):
        super().__init__(de, en)
        self.field = field


@dataclass(frozen=True)
class PreviewRequest:
    """The validated choices for one page; `parcel` is the normalised 20-character key."""

    parcel: str
    scale: int
    paper: str
    orientation: str
    dpi: int
    centre: tuple[float, float] | None = None

    def cache_key(self, kind: str) -> str:
        centre = "auto" if self.centre is None else f"{self.centre[0]:.2f},{self.centre[1]:.2f}"
        return f"{kind}:{self.parcel}:{self.scale}:{self.paper}:{self.orientation}:{self.dpi}:{centre}"

    def query(self) -> dict[str, str | int]:
        """The request as URL parameters (the inverse of PageChoices.request)."""
        query: dict[str, str | int] = {"parcel": self.parcel, "scale": self.scale, "paper": self.paper,
                                       "orientation": self.orientation, "dpi": self.dpi}
        if self.centre is not None:
            query["center"] = f"{self.centre[0]:.2f},{self.centre[1]:.2f}"
        return query


class PageChoices:
    """Checks each choice against what is offered; every method raises ChoiceProblem naming the field.

    `extent` gives the data extent (called only when a centre is given: an upstream source is asked
    only then); an extent not known yet (an upstream that has not answered) lets any centre through,
    the GetMap will tell.
    """

    def __init__(self, settings: PreviewSettings, extent: Callable[[], BBox]):
        self.settings = settings
        self._extent = extent

    def scale(self, value: object, allowed: Sequence[int] | None = None, default: int | None = None) -> int:
        allowed = list(allowed or self.settings.scales)
        if value in (None, ""):
            return default if default is not None else self.settings.default_scale
        text = str(value).strip().removeprefix("1:") if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not _WHOLE_NUMBER.fullmatch(text) or int(text) not in allowed:
            shown = ", ".join(f"1:{a}" for a in allowed)
            raise ChoiceProblem("scale", msg("page_request_allowed_are", shown=shown))
        return int(text)

    def paper(self, value: object, allowed: Sequence[str] | None = None, default: str | None = None) -> str:
        allowed = list(allowed or self.settings.papers)
        if value in (None, ""):
            return default or self.settings.default_paper
        text = value.strip().upper()[:20] if isinstance(value, str) else None
        if text not in allowed:
            raise ChoiceProblem("paper", msg("page_request_papers_allowed", papers=", ".join(allowed)))
        return text

    def orientation(self, value: object, default: str | None = None) -> str:
        if value in (None, ""):
            return default or self.settings.default_orientation
        text = value.strip().lower()[:20] if isinstance(value, str) else None
        if text not in ORIENTATIONS:
            raise ChoiceProblem("orientation", msg("page_request_orientations_allowed"))
        return text

    def dpi(self, value: object) -> int:
        s = self.settings
        if value in (None, ""):
            return s.default_dpi
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not _WHOLE_NUMBER.fullmatch(text) or not s.min_dpi <= int(text) <= s.max_dpi:
            raise ChoiceProblem("dpi", msg("page_request_allowed_are_whole_numbers_from_to", min_dpi=s.min_dpi, max_dpi=s.max_dpi))
        return int(text)

    def centre(self, value: object) -> tuple[float, float] | None:
        """x,y in EPSG:25832, rounded to centimetres, within CENTRE_MARGIN_M of the data."""
        if value in (None, ""):
            return None
        parts = str(value).split(",") if isinstance(value, str) else []
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            x = y = math.nan
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ChoiceProblem("center", msg("page_request_center_two_numbers"))
        minx, miny, maxx, maxy = self._extent()
        known = maxx > minx and maxy > miny
        if known and not (minx - CENTRE_MARGIN_M <= x <= maxx + CENTRE_MARGIN_M
                          and miny - CENTRE_MARGIN_M <= y <= maxy + CENTRE_MARGIN_M):
            raise ChoiceProblem("center", msg("page_request_the_map_centre_lies_outside_the"))
        return round(x, 2), round(y, 2)

    def request(self, parcel_key: str, args: Mapping[str, object]) -> PreviewRequest:
        """All choices of a preview for an already resolved parcel key."""
        return PreviewRequest(
            parcel=parcel_key,
            scale=self.scale(args.get("scale")),
            paper=self.paper(args.get("paper")),
            orientation=self.orientation(args.get("orientation")),
            dpi=self.dpi(args.get("dpi")),
            centre=self.centre(args.get("center") or args.get("centre")),
        )
