"""Pure image work: page layout, cadastral map face, page composition and export (no HTTP, no Flask)."""

from __future__ import annotations

from PIL import Image

from cadastre.model import MapFeatures, Parcel
from renderers.compose import DEFAULT_HEADING, DEFAULT_WATERMARK, TitleBlock, compose_page
from renderers.layout import Layout
from renderers.map import draw_map_face

__all__ = ["TitleBlock", "compose_page", "draw_map_face", "render_page"]


def render_page(
    layout: Layout,
    features: MapFeatures,
    *,
    parcel: Parcel | None,
    title: TitleBlock,
    attribution: str,
    watermark: str | None = DEFAULT_WATERMARK,
    heading: str = DEFAULT_HEADING,
) -> Image.Image:
    """Map face and page in one call: what a preview or an extract needs from the renderers."""
    face = draw_map_face(layout, features)
    return compose_page(
        layout,
        face,
        parcel=parcel,
        title=title,
        attribution=attribution,
        watermark=watermark,
        heading=heading,
    )
