"""WfsSource: the CadastreSource over a WFS 2.0 upstream (a WfsClient), parcels in EPSG:25832 whatever the server's CRS."""

from __future__ import annotations

import logging
import re
import threading
import time

import numpy as np
import shapely
from owslib import fes2
from pyproj import Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from cadastre.addresses import AddressQuery, match_address, split_lage
from cadastre.errors import KennzeichenError
from cadastre.kennzeichen import Flurstueckskennzeichen, GemarkungIndex, GemarkungRef, parse_kennzeichen
from cadastre.model import NATIVE_CRS, MapFeatures, Parcel
from catalogues import msg
from wms_clients.base import BBox, CadastreSource, FieldMapping, SearchLimit, SourceInfo
from wms_clients.crs import crs_code
from wms_clients.fes import BBoxFilter, like_pattern, property_like
from wms_clients.gml import Feature
from wms_clients.http import UpstreamError
from wms_clients.wfs import WfsCapabilities, WfsClient


log = logging.getLogger(__name__)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.replace(",", ".")) if "," in text and "." not in text else float(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value == int(value) else None


class WfsSource(CadastreSource):
    """Parcels from a WFS 2.0 ("ALKIS vereinfacht" names by default); all coordinates EPSG:25832 outwards.

    map_features() returns parcels only: an upstream draws its own map (WMS), so buildings and
    addresses are never needed from here; the parcels serve the highlight and a fallback drawing.
    """

    def __init__(
        self,
        client: WfsClient,
        *,
        fields: FieldMapping | None = None,
        typename: str = "ave:Flurstueck",
        gemarkungen: GemarkungIndex | None = None,
        gemarkung_key_length: int = 6,
        bezirk_typename: str | None = None,
        name: str = "",
        attribution: str = "",
        extent: BBox | None = None,
        search_extent: BBox | None = None,
        point_tolerance: float = 0.05,
        address_candidates: int = 500,
        map_features_limit: int = 2000,
        sortable: bool = True,
        info_ttl: float = 3600.0,
    ):
        if gemarkung_key_length not in (4, 6):
            raise ValueError("gemarkung_key_length is 6 (Land + Gemarkung, NRW gemaschl) or 4")
        self.client = client
        self.fields = fields or FieldMapping()
        self.typename = typename
        self.gemarkung_key_length = gemarkung_key_length
        self.bezirk_typename = bezirk_typename
        self.name = name
        self.attribution = attribution
        self.extent = extent
        self.search_extent = search_extent
        self.point_tolerance = point_tolerance
        self.address_candidates = address_candidates
        self.map_features_limit = map_features_limit
        self.sortable = sortable
        self.info_ttl = info_ttl
        self._configured_index = gemarkungen
        self._seen: dict[str, GemarkungRef] = {}
        self._seen_lock = threading.Lock()
        self._bezirke: GemarkungIndex | None = None
        self._info: tuple[float, SourceInfo] | None = None
        self._to_client = self._from_client = None
        if crs_code(client.srs) != NATIVE_CRS:
            self._to_client = Transformer.from_crs(NATIVE_CRS, client.srs, always_xy=True)
            self._from_client = Transformer.from_crs(client.srs, NATIVE_CRS, always_xy=True)

    @property
    def gemarkungen_seen(self) -> int:
        """How many Gemarkungen the WFS answers have named so far; it grows, so a change means gemarkungen() has more."""
        return len(self._seen)

    @property
    def configured_gemarkungen(self) -> GemarkungIndex | None:
        """The Gemarkung index given to the constructor (e.g. read from a file), None without one."""
        return self._configured_index

    # ------------------------------------------------------------------ helpers

    def _prop(self, name: str) -> str:
        return self.client.property_name(self.typename, name)

    def _sort(self) -> list[tuple[str, str]]:
        return [(self.fields.kennzeichen, "ASC")] if self.sortable else []

    def _client_bbox(self, bbox: BBox) -> BBox:
        if self._to_client is None:
            return bbox
        return tuple(self._to_client.transform_bounds(*bbox, densify_pts=21))  # type: ignore[return-value]

    def _bbox_filter(self, bbox: BBox) -> BBoxFilter:
        return self.client.bbox_filter(self.typename, self.fields.geometry, self._client_bbox(bbox))

    def _features(self, filter, *, count: int, start: int = 0, sort: bool = True) -> tuple[list[Parcel], int | None]:
        page = self.client.get_features(
            self.typename, filter=filter, count=count, start_index=start,
            sort_by=self._sort() if sort else (), geometry_property=self.fields.geometry,
        )
        parcels = [p for p in (self.parcel(f) for f in page.features) if p is not None]
        return parcels, page.number_matched

    def parcel(self, feature: Feature) -> Parcel | None:
        """A feature as a Parcel; None (logged) when its key cannot be read."""
        f = self.fields
        try:
            kennzeichen = self._kennzeichen(feature)
        except KennzeichenError as exc:
            log.warning("%s: skipping feature %s with an unreadable key: %s", self.client.url, feature.id, exc.en)
            return None
        geometry = feature.geometry
        if geometry is not None and self._from_client is not None:
            geometry = _transform(self._from_client, geometry)
        if geometry is None:
            log.warning("%s: feature %s has no geometry", self.client.url, feature.id)
            return None
        lage: list[str] = []
        for text in feature.get_all(f.lage):
            lage.extend(split_lage(text, f.lage_separator))
        aktualitaet = feature.get(f.aktualitaet)
        if aktualitaet and (match := re.match(r"\d{4}-\d{2}-\d{2}", aktualitaet)):
            aktualitaet = match.group(0)
        gemarkung_name = feature.get(f.gemarkung)
        self._remember(kennzeichen, gemarkung_name)
        return Parcel(
            kennzeichen=kennzeichen,
            geometry=geometry,
            gemarkung_name=gemarkung_name,
            flaeche_m2=_number(feature.get(f.flaeche)),
            lage=lage,
            aktualitaet=aktualitaet,
            nutzung=feature.get(f.nutzung),
        )

    def _kennzeichen(self, feature: Feature) -> Flurstueckskennzeichen:
        f = self.fields
        if key := feature.get(f.kennzeichen):
            return parse_kennzeichen(key)
        # No key field: build it from its parts.
        gemaschl = feature.get(f.gemarkungsnummer) or ""
        land = gemaschl[:2] if len(gemaschl) == 6 else (feature.get(f.land) or "")
        zaehler = _int(feature.get(f.zaehler))
        if len(land) != 2 or not gemaschl or zaehler is None:
            raise KennzeichenError(msg("wfs_feature_without_key", feature=feature.id))
        return Flurstueckskennzeichen(
            land=land, gemarkung=gemaschl[-4:], flur=_int(feature.get(f.flur)),
            zaehler=zaehler, nenner=_int(feature.get(f.nenner)),
        )

    def _remember(self, kennzeichen: Flurstueckskennzeichen, name: str | None) -> None:
        key = kennzeichen.gemarkungsschluessel
        known = self._seen.get(key)
        if known is not None and (known.name or not name) and (known.has_flur or kennzeichen.flur is None):
            return
        with self._seen_lock:
            known = self._seen.get(key)
            self._seen[key] = GemarkungRef(
                land=kennzeichen.land,
                nummer=kennzeichen.gemarkung,
                name=(known.name if known and known.name else name),
                has_flur=(known.has_flur if known else False) or kennzeichen.flur is not None,
            )

    def _gemarkung_value(self, schluessel: str) -> str:
        return schluessel if self.gemarkung_key_length == 6 else schluessel[-4:]

    # ------------------------------------------------------------------ CadastreSource

    def get(self, kennzeichen: Flurstueckskennzeichen) -> Parcel | None:
        operation = fes2.PropertyIsEqualTo(self._prop(self.fields.kennzeichen), kennzeichen.key)
        parcels, _ = self._features(operation, count=5, sort=False)
        for parcel in parcels:
            if parcel.key == kennzeichen.key:
                return parcel
        return parcels[0] if parcels else None

    def find(
        self,
        *,
        gemarkungsschluessel: str,
        flur: int | None = None,
        zaehler: int | None = None,
        nenner: int | None = None,
        limit: int = 50,
    ) -> list[Parcel]:
        f = self.fields
        if not f.gemarkungsnummer:
            return self._find_by_key_pattern(gemarkungsschluessel, flur, zaehler, nenner, limit)
        conditions: list[fes2.OgcExpression] = [
            fes2.PropertyIsEqualTo(self._prop(f.gemarkungsnummer), self._gemarkung_value(gemarkungsschluessel))
        ]
        for field_name, value in ((f.flur, flur), (f.zaehler, zaehler), (f.nenner, nenner)):
            if value is None:
                continue
            if not field_name:
                return self._find_by_key_pattern(gemarkungsschluessel, flur, zaehler, nenner, limit)
            conditions.append(fes2.PropertyIsEqualTo(self._prop(field_name), str(value)))
        operation = conditions[0] if len(conditions) == 1 else fes2.And(conditions)
        parcels, _ = self._features(operation, count=limit)
        return sorted(parcels, key=lambda p: p.key)[:limit]

    def _find_by_key_pattern(self, schluessel, flur, zaehler, nenner, limit) -> list[Parcel]:
        """Where the mapping lacks attribute fields: LIKE on the 20-character key itself."""
        pattern = (
            schluessel
            + (f"{flur:03d}" if flur is not None else "???")
            + (f"{zaehler:05d}" if zaehler is not None else "?????")
            + (f"{nenner:04d}" if nenner is not None else "????")
            + "*"
        )
        operation = property_like(self._prop(self.fields.kennzeichen), pattern)
        parcels, _ = self._features(operation, count=limit)
        return sorted(parcels, key=lambda p: p.key)[:limit]

    def at_point(self, x: float, y: float) -> list[Parcel]:
        t = self.point_tolerance
        parcels, _ = self._features(self._bbox_filter((x - t, y - t, x + t, y + t)), count=50, sort=False)
        point = Point(x, y)
        return sorted((p for p in parcels if p.geometry.intersects(point)), key=lambda p: p.key)

    def in_bbox(self, bbox: BBox, limit: int = 50, offset: int = 0) -> tuple[list[Parcel], int]:
        operation = self._bbox_filter(bbox)
        if limit <= 0:
            return [], self._hits(operation)
        parcels, total = self._features(operation, count=limit, start=offset)
        if total is None:
            total = self._hits(operation)
        if total is None:
            # The server counts nothing: at least as many as we have seen, one more if the page is full.
            total = offset + len(parcels) + (1 if len(parcels) == limit else 0)
        return parcels, total

    def _hits(self, operation) -> int | None:
        return self.client.get_features(self.typename, filter=operation, hits_only=True).number_matched

    def by_address(self, query: AddressQuery, limit: int = 50) -> list[tuple[Parcel, float, str]]:
        f = self.fields
        if not f.lage:
            return []
        pattern = like_pattern(query.street)
        if pattern is None:
            return []
        operation: fes2.OgcExpression = property_like(self._prop(f.lage), pattern, match_case=False)
        if self.search_extent:
            operation = fes2.And([operation, self._bbox_filter(self.search_extent)])
        parcels, total = self._features(operation, count=self.address_candidates)
        if total is not None and total > len(parcels):
            log.info("%s: address %r matched %d parcels, ranked the first %d", self.client.url, query.street, total, len(parcels))
        ranked = []
        for parcel in parcels:
            best = None
            for text in parcel.lage:
                found = match_address(query, text)
                if found and (best is None or found.score > best.score):
                    best = found
            if best is not None:
                ranked.append((parcel, best.score, best.text))
        ranked.sort(key=lambda item: (-item[1], item[0].key))
        return ranked[:limit]

    def map_features(self, bbox: BBox) -> MapFeatures:
        operation = self._bbox_filter(bbox)
        parcels = []
        for feature in self.client.iter_features(
            self.typename, filter=operation, page_size=500, limit=self.map_features_limit,
            sort_by=self._sort(), geometry_property=self.fields.geometry,
        ):
            if (parcel := self.parcel(feature)) is not None:
                parcels.append(parcel)
        return MapFeatures(parcels=parcels)

    def gemarkungen(self) -> GemarkungIndex:
        """Configured index, else ave:KatasterBezirk (when configured), plus every Gemarkung seen so far."""
        index = GemarkungIndex(list(self._configured_index.gemarkungen) if self._configured_index else [])
        if self.bezirk_typename:
            for ref in self._bezirk_index().gemarkungen:
                index.add(ref)
        if not self._seen and not index.gemarkungen:
            self._seed_seen()
        for ref in list(self._seen.values()):
            index.add(ref)
        return index

    def _bezirk_index(self) -> GemarkungIndex:
        if self._bezirke is None:
            f = self.fields
            refs = []
            for feature in self.client.iter_features(
                self.bezirk_typename, page_size=1000, limit=20000,
                property_names=[p for p in (f.gemarkungsnummer, f.gemarkung, f.land) if p],
            ):
                schluessel = feature.get(f.gemarkungsnummer) or ""
                land = schluessel[:2] if len(schluessel) == 6 else (feature.get(f.land) or "")
                if len(land) == 2 and len(schluessel) >= 4:
                    refs.append(GemarkungRef(land=land, nummer=schluessel[-4:], name=feature.get(f.gemarkung)))
            self._bezirke = GemarkungIndex(refs)
        return self._bezirke

    def _seed_seen(self) -> None:
        f = self.fields
        names = [p for p in (f.kennzeichen, f.gemarkung, f.gemarkungsnummer, f.flur) if p]
        # A capped look at the data: cheap on a municipal service, a sample on a state-wide one.
        for feature in self.client.iter_features(self.typename, page_size=1000, limit=1000, property_names=names):
            try:
                self._remember(self._kennzeichen(feature), feature.get(f.gemarkung))
            except KennzeichenError:
                continue

    def info(self) -> SourceInfo:
        if self._info and time.monotonic() - self._info[0] < self.info_ttl:
            return self._info[1]
        caps = self.client.capabilities()
        extent = self.extent or advertised_extent(caps, self.typename) or (0.0, 0.0, 0.0, 0.0)
        info = SourceInfo(
            attribution=self.attribution or _access_constraints(caps),
            data_currency=self._newest_update(),
            extent=extent,
            name=self.name or caps.title,
            extra={"url": self.client.url, "typename": self.typename, "srs": self.client.srs},
        )
        self._info = (time.monotonic(), info)
        return info

    def address_search_limit(self) -> SearchLimit | None:
        """search_extent beside the feature type's advertised extent, from the capabilities already fetched (cached)."""
        if not self.search_extent:
            return None
        return SearchLimit(tuple(self.search_extent), advertised_extent(self.client.capabilities(), self.typename))

    def _newest_update(self) -> str | None:
        field_name = self.fields.aktualitaet
        if not field_name or not self.sortable:
            return None
        try:
            page = self.client.get_features(
                self.typename, count=1, sort_by=[(field_name, "DESC")], property_names=[field_name]
            )
        except UpstreamError as error:
            log.info("%s: cannot ask for the newest update: %s", self.client.url, error)
            return None
        value = page.features[0].get(field_name) if page.features else None
        match = re.match(r"\d{4}-\d{2}-\d{2}", value or "")
        return match.group(0) if match else None

    def close(self) -> None:
        self.client.session.close()


def advertised_extent(caps: WfsCapabilities, typename: str) -> BBox | None:
    """The feature type's WGS84 bounding box from the capabilities, in EPSG:25832; None when none is given."""
    content = caps.owslib.contents.get(typename)
    wgs84 = getattr(content, "boundingBoxWGS84", None)
    if not wgs84:
        return None
    transformer = Transformer.from_crs("OGC:CRS84", NATIVE_CRS, always_xy=True)
    return tuple(round(v, 2) for v in transformer.transform_bounds(*wgs84[:4], densify_pts=21))  # type: ignore[return-value]


def _transform(transformer: Transformer, geometry: BaseGeometry) -> BaseGeometry:
    def coordinates(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, coordinates)


def _access_constraints(caps: WfsCapabilities) -> str:
    identification = getattr(caps.owslib, "identification", None)
    constraints = getattr(identification, "accessconstraints", None) if identification else None
    return constraints or ""

