"""The fit rule: whether a page shows its parcel, and advice that is true for the frame as it stands.

An extract must show the whole parcel. Where the parcel cannot fit the map face at the chosen scale
and paper even when centred, the citizen may knowingly order the part the frame shows (a large
farm parcel around one building), but only after a clear warning and only if the frame shows part
of the parcel: a frame beside the parcel is never an extract of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import box

from cadastre.model import Parcel
from catalogues import Message, msg, text
from renderers.compose import orientation_label
from renderers.layout import ORIENTATIONS, Layout, fits_at_scale


@dataclass(frozen=True)
class FitChoice:
    paper: str
    orientation: str
    scale: int

    def text(self, lang: str) -> str:
        return text("fit_choice", lang, scale=self.scale, paper=self.paper,
                    orientation=orientation_label(self.orientation, lang))


@dataclass(frozen=True)
class FitAssessment:
    """How the parcel sits in the face: whole, part of it (by choice, or because the frame moved), or not at all."""

    fits: bool  # the face contains the whole parcel
    fits_if_centred: bool  # at this scale and paper the whole parcel would fit
    shows_parcel: bool  # the face shows at least part of the parcel
    fitting_choices: tuple[FitChoice, ...]  # offered choices at which the whole parcel fits when centred

    @property
    def partial_allowed(self) -> bool:
        """A part of the parcel may be ordered knowingly: it cannot fit here, and the frame shows some of it."""
        return not self.fits_if_centred and self.shows_parcel

    def problem(self, acknowledged_partial: bool = False) -> Message | None:
        """What is wrong and how to fix it, or None when this page may be an extract."""
        if self.fits or (self.partial_allowed and acknowledged_partial):
            return None
        if self.fits_if_centred:
            return msg("fit_frame_off_parcel")
        if not self.shows_parcel:
            return msg("fit_frame_beside_parcel")
        if self.fitting_choices:
            return msg("fit_too_large_fits_at", choices=lambda lang: _listed(self.fitting_choices, lang))
        return msg("fit_too_large_fits_nowhere")

    def describe(self) -> dict:
        return {
            "fits": self.fits,
            "fits_if_centred": self.fits_if_centred,
            "shows_parcel": self.shows_parcel,
            "partial_allowed": self.partial_allowed,
            "fitting_choices": [{"scale": c.scale, "paper": c.paper, "orientation": c.orientation}
                                for c in self.fitting_choices],
        }


def _listed(choices: tuple[FitChoice, ...], lang: str, most: int = 4) -> str:
    shown = [c.text(lang) for c in choices[:most]]
    return ", ".join(shown)


def assess_fit(parcel: Parcel, layout: Layout, scales: list[int], papers: list[str]) -> FitAssessment:
    """The parcel against the face; `scales` and `papers` are what the citizen is offered."""
    bounds = parcel.geometry.bounds
    fitting: list[FitChoice] = []
    for paper in papers:
        for orientation in ORIENTATIONS:
            # The most detailed scale per paper and orientation: the one a citizen would want.
            scale = next((s for s in sorted(scales) if fits_at_scale(bounds, paper, orientation, s)), None)
            if scale is not None:
                fitting.append(FitChoice(paper, orientation, scale))
    # The current paper first, then the most detailed scale.
    fitting.sort(key=lambda c: (c.paper != layout.paper, c.orientation != layout.orientation, c.scale))
    return FitAssessment(
        fits=layout.contains(bounds),
        fits_if_centred=fits_at_scale(bounds, layout.paper, layout.orientation, layout.scale),
        shows_parcel=bool(shapely.intersects(parcel.geometry, box(*layout.bbox))),
        fitting_choices=tuple(fitting),
    )
