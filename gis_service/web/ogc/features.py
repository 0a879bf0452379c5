"""pygeoapi feature provider `flurstuecke`: parcels of the configured CadastreSource (local or WFS upstream)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import current_app
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)

from cadastre.errors import CadastreError
from cadastre.model import NATIVE_CRS, Parcel
from gis_service.errors import NotFound
from gis_service.web.ogc import CRS84, EPSG25832
from gis_service.parcels import check_bulk_page, geojson_geometry, parcel_properties
from gis_service.errors import UpstreamUnavailable, parcels_unavailable

log = logging.getLogger(__name__)

FIELDS: dict[str, dict] = {
    "kennzeichen": {"type": "string"},
    "land": {"type": "string"},
    "gemarkungsnummer": {"type": "string"},
    "gemarkung": {"type": "string"},
    "flur": {"type": "integer"},
    "zaehler": {"type": "integer"},
    "nenner": {"type": "integer"},
    "nummer": {"type": "string"},
    "label": {"type": "string"},
    "flaeche_m2": {"type": "number"},
    "lage": {"type": "string"},
    "aktualitaet": {"type": "string"},
}
# Properties a query may filter on; each maps onto a source query that scales to a state.
QUERYABLES = ["kennzeichen", "gemarkungsnummer", "gemarkung", "flur", "zaehler", "nenner"]


class ServiceUnavailable(ProviderConnectionError):
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE
    ogc_exception_code = "ServiceUnavailable"


def provider_error(error: CadastreError, lang: str = "de") -> Exception:
    """Our errors as pygeoapi's: 404, 400, or 503 with the citizen's message and Retry-After."""
    if isinstance(error, NotFound):
        return ProviderItemNotFoundError(user_msg=error.message(lang))
    if isinstance(error, UpstreamUnavailable) or getattr(error, "status", 400) == 503:
        # pygeoapi builds the response and drops our headers; the mount adds Retry-After to every 503.
        return ServiceUnavailable(user_msg=error.message(lang))
    return ProviderInvalidQueryError(user_msg=error.message(lang))


class FlurstueckProvider(BaseProvider):
    """Items, item by key, bbox and paging over gis_service.parcels.ParcelService of the serving app.

    Storage CRS EPSG:25832; pygeoapi hands bbox in it and asks for output in CRS84 or EPSG:25832
    through crs_transform_spec, which we apply ourselves (with the API's rounding).
    """

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        self._fields = dict(FIELDS)
        self.max_items = int(provider_def.get("max_items", 1000))

    def get_fields(self) -> dict:
        return self._fields

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _services():
        return current_app.extensions["gis_parcels"], current_app.extensions["gis_source"]

    @staticmethod
    def _target(crs_transform_spec) -> str:
        return crs_transform_spec.target_crs_uri if crs_transform_spec is not None else EPSG25832

    def feature(self, parcel: Parcel, target: str, skip_geometry: bool = False, select: list[str] | None = None) -> dict:
        properties = parcel_properties(parcel)
        # OGC API clients (GDAL, QGIS) expect flat attributes: several addresses as one text
        properties["lage"] = "; ".join(parcel.lage) if parcel.lage else None
        if select:
            properties = {name: value for name, value in properties.items() if name in select}
        geometry = None
        if not skip_geometry:
            geometry = geojson_geometry(parcel.geometry, "CRS84" if target == CRS84 else NATIVE_CRS)
        return {"type": "Feature", "id": parcel.key, "geometry": geometry, "properties": properties}

    # ------------------------------------------------------------------ pygeoapi

    def query(self, offset=0, limit=10, resulttype="results", bbox=None, datetime_=None, properties=None,
              sortby=None, select_properties=None, skip_geometry=False, q=None, filterq=None,
              crs_transform_spec=None, **kwargs) -> dict:
        if filterq is not None:
            raise ProviderInvalidQueryError(user_msg="CQL filters are not supported; filter on "
                                                     + ", ".join(QUERYABLES))
        if sortby:
            raise ProviderInvalidQueryError(user_msg="sortby is not supported: items come ordered by kennzeichen")
        limit = max(0, min(int(limit), self.max_items))
        offset = max(0, int(offset))
        filters = dict(properties or [])
        unknown = sorted(set(filters) - set(QUERYABLES))
        if unknown:
            raise ProviderInvalidQueryError(user_msg=f"cannot filter on {', '.join(unknown)}; "
                                                     f"queryables are {', '.join(QUERYABLES)}")
        parcels_service, source = self._services()
        try:
            parcels, total = self._select(parcels_service, source, filters, q, list(bbox or []), limit, offset)
        except CadastreError as error:
            if isinstance(error, NotFound):
                parcels, total = [], 0
            else:
                raise provider_error(error) from error
        target = self._target(crs_transform_spec)
        features = [] if resulttype == "hits" else [
            self.feature(p, target, skip_geometry, select_properties) for p in parcels
        ]
        return {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": total,
            "numberReturned": len(features),
        }

    def _select(self, service, source, filters: dict, q: str | None, bbox: list, limit: int, offset: int):
        if "kennzeichen" in filters:
            parcel = service.get(filters["kennzeichen"])
            found = [parcel] if self._matches(parcel, filters, bbox) else []
            return found[offset: offset + limit], len(found)
        if filters:
            gemarkung = filters.get("gemarkungsnummer") or filters.get("gemarkung")
            if not gemarkung:
                raise ProviderInvalidQueryError(user_msg="flur, zaehler and nenner need gemarkungsnummer or gemarkung")
            result = service.search_attributes(gemarkung, filters.get("flur"), filters.get("zaehler"),
                                               filters.get("nenner"), limit=offset + limit + 1000)
            found = [p for p in result.parcels if self._matches(p, filters, bbox)]
            return found[offset: offset + limit], len(found)
        if q:
            result = service.search_text(q, limit=100)
            found = [p for p in result.parcels if self._matches(p, filters, bbox)]
            return found[offset: offset + limit], len(found)
        info = source.info()
        # Paging by area: bounded like /api/v1/parcels?bbox= (limits.paging); a page larger than allowed is
        # made smaller, as OGC API Features lets a server do (the next link goes on from there).
        paging = current_app.extensions["gis_settings"].limits.paging
        limit = min(limit, paging.max_page_size)
        check_bulk_page(paging, offset=offset, bbox=tuple(bbox[:4]) if len(bbox) >= 4 else None)
        area = tuple(bbox[:4]) if len(bbox) >= 4 else info.extent
        if not (area[2] > area[0] and area[3] > area[1]):
            if info.extra.get("known") is False:  # an upstream that has never answered: no extent yet
                raise parcels_unavailable(source.retry_after())
            return [], 0
        result = service.search_bbox(area, limit=limit, offset=offset)
        return result.parcels, result.total

    @staticmethod
    def _matches(parcel: Parcel, filters: dict, bbox: list) -> bool:
        k = parcel.kennzeichen
        checks = {
            "gemarkungsnummer": lambda v: v in (k.gemarkung, k.gemarkungsschluessel),
            "gemarkung": lambda v: (parcel.gemarkung_name or "").casefold() == v.casefold() or v in (k.gemarkung, k.gemarkungsschluessel),
            "flur": lambda v: k.flur is not None and str(k.flur) == v.lstrip("0"),
            "zaehler": lambda v: str(k.zaehler) == v.lstrip("0"),
            "nenner": lambda v: k.nenner is not None and str(k.nenner) == v.lstrip("0"),
        }
        for name, value in filters.items():
            if name in checks and not checks[name](str(value).strip()):
                return False
        if len(bbox) >= 4:
            minx, miny, maxx, maxy = parcel.geometry.bounds
            if maxx < bbox[0] or minx > bbox[2] or maxy < bbox[1] or miny > bbox[3]:
                return False
        return True

    def get(self, identifier, crs_transform_spec=None, **kwargs) -> dict:
        parcels_service, _ = self._services()
        try:
            parcel = parcels_service.get(str(identifier))
        except CadastreError as error:
            if isinstance(error, (NotFound,)) or getattr(error, "code", "") == "invalid-parcel-key":
                raise ProviderItemNotFoundError(user_msg=f"no parcel {str(identifier)[:40]!r}") from error
            raise provider_error(error) from error
        return self.feature(parcel, self._target(crs_transform_spec))

    def __repr__(self) -> str:
        return "<FlurstueckProvider>"
