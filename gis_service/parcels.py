"""Parcel lookup and search over the configured source: by key, attributes, address, point, bbox."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

from cadastre.addresses import AddressQuery, address_readings, parse_address
from cadastre.errors import CadastreError
from cadastre.kennzeichen import KennzeichenError, parse_kennzeichen
from cadastre.model import NATIVE_CRS, Parcel
from catalogues import msg, number
from gis_service.config import PagingSettings
from gis_service.errors import ApiError, NotFound, bad_parameter
from wms_clients.base import BBox, CadastreSource, SearchLimit

log = logging.getLogger(__name__)

MAX_LIMIT = 100
SUPPORTED_CRS = ("EPSG:25832", "EPSG:4326", "EPSG:3857", "EPSG:25833", "CRS84")
# A query that names a parcel rather than an address: digits with separators, or the words.
_LOOKS_LIKE_KEY = re.compile(r"^[\d\s\-/_.]+$|flurst|flst|\bflur\b|gemarkung|\bgmk\b", re.IGNORECASE)


@dataclass
class SearchResult:
    parcels: list[Parcel]
    total: int
    ambiguous: bool = False
    kind: str = "none"  # key, attributes, address, point, bbox
    matched: dict[str, str] = field(default_factory=dict)  # key → matched address text
    # Set when an address search found nothing and was limited to an area that may leave the address out.
    search_limit: SearchLimit | None = None


@dataclass(frozen=True)
class SearchExamples:
    """What the search help and the error for an unreadable parcel cite: an address and one parcel in
    a few written forms, each found by the search; empty where neither is configured nor known."""

    address: str | None = None
    parcel: tuple[str, ...] = ()


# How many parcels are tried before the help goes without a data-derived example.
EXAMPLE_TRIALS = 50


@lru_cache(maxsize=16)
def transformer(from_crs: str, to_crs: str) -> Transformer:
    return Transformer.from_crs(_crs(from_crs), _crs(to_crs), always_xy=True)


def _crs(name: str) -> CRS:
    return CRS.from_user_input("OGC:CRS84" if name.upper() in ("CRS84", "OGC:CRS84") else name)


def normalise_crs(name: str | None) -> str:
    if not name:
        return NATIVE_CRS
    text = name.strip().upper()
    text = text.replace("URN:OGC:DEF:CRS:EPSG::", "EPSG:").replace("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/", "EPSG:")
    if text in ("HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84", "OGC:CRS84"):
        text = "CRS84"
    if text not in SUPPORTED_CRS:
        raise bad_parameter("crs", msg("parcels_crs_not_supported", name=name[:40], supported=", ".join(SUPPORTED_CRS)))
    return text


def to_native(x: float, y: float, crs: str) -> tuple[float, float]:
    if crs == NATIVE_CRS:
        return x, y
    return transformer(crs, NATIVE_CRS).transform(x, y)


def geometry_in(geometry, crs: str):
    if crs == NATIVE_CRS:
        return geometry
    t = transformer(NATIVE_CRS, crs)
    return shapely.transform(geometry, lambda coords: np.column_stack(t.transform(coords[:, 0], coords[:, 1])))


# Millimetres for projected CRSs, about a millimetre for degrees.
COORDINATE_DECIMALS = {NATIVE_CRS: 3, "EPSG:4326": 8, "CRS84": 8, "EPSG:3857": 3, "EPSG:25833": 3}


def _round_coordinates(value, decimals: int):
    if isinstance(value, (list, tuple)):
        return [_round_coordinates(v, decimals) for v in value]
    return round(value, decimals)


def geojson_geometry(geometry, crs: str = NATIVE_CRS) -> dict:
    """A GeoJSON geometry in `crs` with coordinates rounded to what the CRS can mean."""
    from shapely.geometry import mapping

    shape = mapping(geometry_in(geometry, crs))
    return {"type": shape["type"], "coordinates": _round_coordinates(shape["coordinates"], COORDINATE_DECIMALS.get(crs, 8))}


def parcel_properties(parcel: Parcel) -> dict:
    """The attributes every interface shows of a parcel (JSON API, OGC API)."""
    k = parcel.kennzeichen
    return {
        "kennzeichen": k.key,
        "land": k.land,
        "gemarkungsnummer": k.gemarkung,
        "gemarkung": parcel.gemarkung_name,
        "flur": k.flur,
        "zaehler": k.zaehler,
        "nenner": k.nenner,
        "nummer": k.nummer,
        "label": parcel.label,
        "flaeche_m2": parcel.flaeche_m2,
        "lage": parcel.lage,
        "aktualitaet": parcel.aktualitaet,
    }


def parse_float(name: str, value: str | None) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise bad_parameter(name, msg("parcels_not_a_number")) from None
    if not math.isfinite(number):
        raise bad_parameter(name, msg("parcels_not_a_finite_number"))
    return number


def parse_int(name: str, value: str | None, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    # ASCII digits only (int() would also take "٣" or " 7"), at most as many as the highest allowed value has.
    if not re.fullmatch(f"[0-9]{{1,{len(str(high))}}}", value):
        raise bad_parameter(name, msg("parcels_expected_a_whole_number_to", low=low, high=high))
    number = int(value)
    if not low <= number <= high:
        raise bad_parameter(name, msg("parcels_allowed_are_to", low=low, high=high))
    return number


def check_bulk_page(paging: PagingSettings, *, offset: int, bbox: BBox | None = None) -> None:
    """Reading parcels by area stays bounded (limits.paging): no paging deep into the data, no area too large.

    The page size is checked where it is read (the API refuses it, the OGC API gives smaller pages).
    """
    if offset > paging.max_offset:
        raise bad_parameter(
            "offset", msg("parcels_at_most_for_further_parcels_please", max_offset=paging.max_offset))
    if bbox is not None:
        km2 = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) / 1e6  # EPSG:25832 metres
        if km2 > paging.max_bbox_km2:
            raise bad_parameter("bbox", msg("parcels_area_too_large", area=number(km2), most=number(paging.max_bbox_km2)))


def parse_bbox(value: str, crs: str = NATIVE_CRS) -> BBox:
    parts = value.split(",")
    if len(parts) != 4:
        raise bad_parameter("bbox", msg("parcels_bbox_four_numbers"))
    minx, miny, maxx, maxy = (parse_float("bbox", p) for p in parts)
    if minx >= maxx or miny >= maxy:
        raise bad_parameter("bbox", msg("parcels_minx_must_be_below_maxx_and"))
    if crs != NATIVE_CRS:
        t = transformer(crs, NATIVE_CRS)
        xs, ys = t.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
        minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    return minx, miny, maxx, maxy


class ParcelService:
    """Answers every parcel question the API, the pages and the CLI ask."""

    def __init__(self, source: CadastreSource, default_land: str | None = None,
                 examples: SearchExamples | None = None):
        self.source = source
        self.default_land = default_land
        # empty while the trial searches run, so that their own parse errors cite nothing
        self.examples = SearchExamples()
        self.derived_examples = self._derive_examples()
        self.use_examples(examples)

    def use_examples(self, configured: SearchExamples | None) -> None:
        """Configured examples win, each part on its own; the rest come from the data."""
        configured = configured or SearchExamples()
        # only a local dataset answers these trial searches without a request to an upstream
        if self.source.example_candidates():
            for key, text in [("address", configured.address), *(("parcel", form) for form in configured.parcel)]:
                if text and not self._finds(text):
                    log.warning("search.examples.%s: the search finds no single parcel for %r", key, text)
        self.examples = SearchExamples(
            address=configured.address or self.derived_examples.address,
            parcel=configured.parcel or self.derived_examples.parcel,
        )

    def _derive_examples(self) -> SearchExamples:
        """The first parcel in key order that the search finds by each form and by its address,
        preferring one with an address and a Nenner where the data have such parcels.

        Key order keeps the choice the same on every start; preferring a Nenner and an address
        shows the citizen the "/" and the house number they are most likely to type.
        """
        def numbered(parcel) -> list[str]:
            return [text for text in parcel.lage if (address := parse_address(text)) and address.number]

        def preference(parcel):
            k = parcel.kennzeichen
            return (k.folge is not None, not numbered(parcel), k.nenner is None, parcel.key)

        without_address = None
        for parcel in sorted(self.source.example_candidates(), key=preference)[:EXAMPLE_TRIALS]:
            k = parcel.kennzeichen
            readable = k.label(parcel.gemarkung_name, separator=" ")
            short = next((form for form in (k.short(), k.dashed()) if self._finds(form, parcel)), None)
            if short is None or not self._finds(readable, parcel):
                continue
            address = next((text for text in numbered(parcel) if self._finds(text, parcel)), None)
            if address:
                return SearchExamples(address, (readable, short))
            without_address = without_address or SearchExamples(None, (readable, short))
        return without_address or SearchExamples()

    def _finds(self, text: str, parcel=None) -> bool:
        """Whether the search answers text with exactly one parcel (this one, if given)."""
        try:
            result = self.search_text(text, limit=2)
        except CadastreError:
            return False
        return result.total == 1 and (parcel is None or result.parcels[0].key == parcel.key)

    def parse(self, text: str):
        return parse_kennzeichen(text, self.source.gemarkungen(), self.default_land, self.examples.parcel)

    def get(self, text: str) -> Parcel:
        """The one parcel a key names; KennzeichenError when unreadable, NotFound when unknown."""
        kennzeichen = self.parse(text)
        parcel = self.source.get(kennzeichen)
        if parcel is None and kennzeichen.flur is None:
            # "Gemarkung X Flurstück 40" without Flur: unique across the Fluren is good enough
            candidates = self.source.find(
                gemarkungsschluessel=kennzeichen.gemarkungsschluessel,
                zaehler=kennzeichen.zaehler,
                nenner=kennzeichen.nenner,
                limit=2,
            )
            candidates = [c for c in candidates if c.kennzeichen.nenner == kennzeichen.nenner]
            if len(candidates) == 1:
                parcel = candidates[0]
        if parcel is None:
            raise NotFound(msg("parcels_parcel_not_found", label=kennzeichen.label(self.gemarkung_name(kennzeichen)),
                               key=kennzeichen.key))
        return parcel

    def gemarkung_name(self, kennzeichen) -> str | None:
        return self.source.gemarkungen().name_of(kennzeichen.land, kennzeichen.gemarkung)

    def search_text(self, q: str, limit: int = 20) -> SearchResult:
        """Free text: a parcel reference in any form, else an address."""
        q = (q or "").strip()
        if not q:
            raise bad_parameter("q", msg("parcels_please_give_a_search_term"))
        if len(q) > 200:
            raise bad_parameter("q", msg("parcels_too_long_200_characters_at_most"))
        try:
            kennzeichen = self.parse(q)
        except KennzeichenError:
            if _LOOKS_LIKE_KEY.search(q):
                raise
            kennzeichen = None
        if kennzeichen is not None:
            parcel = self.source.get(kennzeichen)
            if parcel is not None:
                return SearchResult([parcel], 1, kind="key")
            parcels = self.source.find(
                gemarkungsschluessel=kennzeichen.gemarkungsschluessel,
                flur=kennzeichen.flur,
                zaehler=kennzeichen.zaehler,
                nenner=kennzeichen.nenner,
                limit=MAX_LIMIT,
            )
            if kennzeichen.nenner is None:
                exact = [p for p in parcels if p.kennzeichen.nenner is None]
                parcels = exact or parcels
            return SearchResult(parcels[:limit], len(parcels), ambiguous=len(parcels) > 1, kind="attributes")
        readings = address_readings(q)
        if not readings:
            return SearchResult([], 0, kind="address")
        result = self._search_address(readings, limit)
        if result.total == 0:
            found_limit = self.source.address_search_limit()
            if found_limit is not None and found_limit.leaves_out_data:
                result.search_limit = found_limit
        return result

    def _search_address(self, readings: list[AddressQuery], limit: int) -> SearchResult:
        # The whole text as a street first, so that "Straße des 17. Juni 4" keeps its words;
        # a place after the number is split off only when that finds nothing.
        for address in readings:
            if matches := self._in_place(self.source.by_address(address, limit=1000), address):
                break
        best = [m for m in matches if m[1] == matches[0][1]] if matches else []
        ambiguous = len(best) > 1 or (bool(matches) and address.number is None)
        # Show the best matches first; weaker ones only when nothing matched exactly.
        shown = best if best and best[0][1] >= 3.0 else matches
        return SearchResult(
            [m[0] for m in shown[:limit]],
            len(shown),
            ambiguous=ambiguous,
            kind="address",
            matched={m[0].key: m[2] for m in shown[:limit]},
        )

    def _in_place(self, matches: list, query: AddressQuery) -> list:
        """Keeps the matches in the typed place and postcode; one the data do not know is ignored,
        so a street stays findable by a municipality's name that the data never write."""
        known = self.source.places() if query.place or query.postcode else frozenset()
        for wanted in (query.postcode, query.place):
            if wanted and wanted in known:
                matches = [m for m in matches if wanted in self.source.places_of(m[0])]
        return matches

    def search_attributes(self, gemarkung: str, flur: str | None, zaehler: str | None, nenner: str | None,
                          limit: int = 20) -> SearchResult:
        gem_text = (gemarkung or "").strip()
        if not gem_text:
            raise bad_parameter("gemarkung", msg("parcels_please_give_the_gemarkung_name_or"))
        index = self.source.gemarkungen()
        if re.fullmatch(r"\d{6}", gem_text):
            schluessel = gem_text
        elif re.fullmatch(r"\d{1,4}", gem_text):
            refs = index.by_number(gem_text.zfill(4))
            if not refs and self.default_land:
                schluessel = self.default_land + gem_text.zfill(4)
            elif len(refs) == 1:
                schluessel = refs[0].schluessel
            else:
                raise NotFound(msg("parcels_gemarkung_is_not_known_here", gem_text=gem_text))
        else:
            refs = index.by_name(gem_text)
            if not refs:
                raise NotFound(msg("parcels_gemarkung_name_not_known", name=gem_text[:60]))
            if len(refs) > 1:
                raise ApiError(
                    msg("parcels_several_gemarkungen_are_called_please_give", gem_text=gem_text),
                    code="ambiguous-gemarkung",
                )
            schluessel = refs[0].schluessel
        parcels = self.source.find(
            gemarkungsschluessel=schluessel,
            flur=parse_int("flur", flur, 1, 999),
            zaehler=parse_int("zaehler", zaehler, 1, 99999),
            nenner=parse_int("nenner", nenner, 1, 9999),
            limit=MAX_LIMIT + 1,
        )
        return SearchResult(parcels[:limit], len(parcels), ambiguous=len(parcels) > 1, kind="attributes")

    def search_point(self, x: float, y: float, crs: str = NATIVE_CRS) -> SearchResult:
        ex, ey = to_native(x, y, crs)
        if not (math.isfinite(ex) and math.isfinite(ey)):
            raise bad_parameter("x", msg("parcels_the_point_lies_outside_the_crs"))
        parcels = self.source.at_point(ex, ey)
        return SearchResult(parcels, len(parcels), ambiguous=len(parcels) > 1, kind="point")

    def search_bbox(self, bbox: BBox, limit: int = 20, offset: int = 0) -> SearchResult:
        parcels, total = self.source.in_bbox(bbox, limit=limit, offset=offset)
        return SearchResult(parcels, total, kind="bbox")
