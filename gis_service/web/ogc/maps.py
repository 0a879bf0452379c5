"""pygeoapi map provider `liegenschaftskarte`: the map face of the serving app (upstream GetMap via our cache, or local drawing)."""

from __future__ import annotations

import math

from flask import current_app, g, request
from pygeoapi.provider.base import BaseProvider, ProviderInvalidQueryError

from cadastre.errors import CadastreError
from gis_service.admission import MAX_VIEW_PX
from gis_service.web.ogc import EPSG25832
from gis_service.web.ogc.features import provider_error
from renderers.layout import LayoutError, make_view

class LiegenschaftskarteProvider(BaseProvider):
    """GetMap-like images in EPSG:25832 through PreviewService.map_png, with its timeouts, cache and fallback."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)

    def query(self, style=None, bbox=None, width=500, height=300, crs=EPSG25832, datetime_=None,
              transparent=True, format_="png", **kwargs) -> bytes:
        if format_ not in (None, "png", "html"):
            raise ProviderInvalidQueryError(user_msg="only f=png is offered")
        if crs not in (EPSG25832, "EPSG:25832"):
            raise ProviderInvalidQueryError(user_msg=f"maps are drawn in {EPSG25832} only (crs={crs})")
        width, height = int(width), int(height)
        if not (0 < width <= MAX_VIEW_PX and 0 < height <= MAX_VIEW_PX):
            raise ProviderInvalidQueryError(user_msg=f"width and height must be 1 … {MAX_VIEW_PX}")
        if "bbox" not in request.args:
            # pygeoapi's default is the whole world in CRS84; ours is the data's extent.
            bbox = list(current_app.extensions["gis_source"].info().extent)
        bbox = [float(v) for v in (bbox or [])]
        if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
            raise ProviderInvalidQueryError(user_msg="bbox must be four finite numbers")
        try:
            view = make_view(tuple(bbox), width, height)
        except LayoutError as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from exc
        try:
            rendered = current_app.extensions["gis_previews"].map_png(view)
        except CadastreError as error:
            raise provider_error(error) from error
        # pygeoapi builds the response from bytes alone; the mount turns this into X-Map-Source.
        g.gis_map_source = rendered.map_source
        return rendered.data

    def __repr__(self) -> str:
        return "<LiegenschaftskarteProvider>"
