"""The cadastral source interface over a local dataset (GeoPackage or any OGR file), held in memory."""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import read as ogr_read
from pyogrio import list_layers, read_info
from shapely.geometry import MultiPolygon, Point, Polygon, box

from cadastre.addresses import AddressQuery, match_address, normalise_place, normalise_street, parse_address, split_lage
from cadastre.errors import CadastreError
from cadastre.kennzeichen import (
    Flurstueckskennzeichen,
    GemarkungIndex,
    GemarkungRef,
    KennzeichenError,
    parse_kennzeichen,
)
from cadastre.model import Address, Building, Flur, MapFeatures, Parcel, Street
from catalogues import msg
from wms_clients.base import AddressFieldMapping, BBox, CadastreSource, FieldMapping, SourceInfo

log = logging.getLogger(__name__)


class DatasetError(CadastreError):
    """The configured dataset cannot be read as cadastral data."""

    code = "dataset-error"


@dataclass(frozen=True)
class LocalLayers:
    flurstueck: str = "flurstueck"
    gebaeude: str | None = "gebaeude"
    adresse: str | None = "adresse"
    strasse: str | None = "strasse"


@dataclass(frozen=True)
class LocalSourceConfig:
    dataset: Path
    fields: FieldMapping = field(default_factory=FieldMapping)
    address_fields: AddressFieldMapping = field(default_factory=AddressFieldMapping)
    layers: LocalLayers = field(default_factory=LocalLayers)
    attribution: str = ""
    gemarkung_names: dict[str, str] = field(default_factory=dict)  # "059871" → "Lindenhagen"
    data_currency: str | None = None
    default_land: str | None = None
    name: str = ""


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


def _int(value) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def _date(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    match = re.match(r"(\d{4}-\d{2}-\d{2})", text)
    return match.group(1) if match else text


def _as_multipolygon(geometry) -> MultiPolygon:
    geometry = shapely.make_valid(geometry) if not geometry.is_valid else geometry
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    polygons = [g for g in getattr(geometry, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    parts: list[Polygon] = []
    for polygon in polygons:
        parts.extend(polygon.geoms if isinstance(polygon, MultiPolygon) else [polygon])
    return MultiPolygon(parts)


class LocalSource(CadastreSource):
    """All parcels of one dataset in memory with an STRtree; good up to a few hundred thousand."""

    def __init__(self, config: LocalSourceConfig):
        self.config = config
        path = Path(config.dataset)
        if not path.exists():
            raise DatasetError(
                msg("local_the_dataset_does_not_exist", path=path)
            )
        try:
            available = {str(name) for name, _ in list_layers(path)}
        except Exception as exc:  # pyogrio raises its own DataSourceError subclasses
            raise DatasetError(
                msg("local_the_dataset_cannot_be_read", path=path, exc=exc),
            ) from exc
        if config.layers.flurstueck not in available:
            raise DatasetError(msg("local_layer_missing", path=path, layer=config.layers.flurstueck,
                                   present=", ".join(sorted(available))))
        self._path = path
        self._available = available
        self._gemarkungen = GemarkungIndex(
            [
                GemarkungRef(land=key[:2], nummer=key[2:], name=name)
                for key, name in config.gemarkung_names.items()
            ]
        )
        self.parcels: list[Parcel] = []
        self._load_parcels()
        self.buildings = self._load_buildings()
        self.addresses = self._load_addresses()
        self.streets = self._load_streets()
        self.fluren = self._union_fluren()
        self._build_indexes()

    # --- loading -------------------------------------------------------------------------
    def _read(self, layer: str, columns: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        wanted = [c for c in columns if c]
        meta, _, geometry, values = ogr_read(self._path, layer=layer, columns=wanted)
        names = list(meta["fields"])
        absent = [c for c in wanted if c not in names]
        if absent:
            raise DatasetError(msg("local_fields_missing", layer=layer, absent=", ".join(absent), present=", ".join(names)))
        crs = meta.get("crs") or ""
        if crs and crs.upper() not in ("EPSG:25832",):
            raise DatasetError(
                msg("local_layer_is_in_epsg_25832_is", layer=layer, crs=crs),
            )
        return shapely.from_wkb(geometry), dict(zip(names, values))

    def _load_parcels(self) -> None:
        fm = self.config.fields
        wanted = [
            fm.kennzeichen, fm.land, fm.gemarkungsnummer, fm.gemarkung, fm.flur, fm.zaehler,
            fm.nenner, fm.flaeche, fm.lage, fm.aktualitaet, fm.nutzung,
        ]
        wanted = [w for w in wanted if w]
        geometries, columns = self._read(self.config.layers.flurstueck, wanted)

        def column(name: str | None):
            return columns[name] if name else [None] * len(geometries)

        skipped = 0
        for i, (geom, key_text, land, gem_nr, gem_name, flur, zaehler, nenner, flaeche, lage, akt, nutzung) in enumerate(
            zip(
                geometries, column(fm.kennzeichen), column(fm.land), column(fm.gemarkungsnummer),
                column(fm.gemarkung), column(fm.flur), column(fm.zaehler), column(fm.nenner),
                column(fm.flaeche), column(fm.lage), column(fm.aktualitaet), column(fm.nutzung),
            )
        ):
            if geom is None or geom.is_empty:
                skipped += 1
                continue
            try:
                kennzeichen = self._kennzeichen(key_text, land, gem_nr, flur, zaehler, nenner)
            except KennzeichenError as exc:
                log.warning("parcel %d of %s skipped: %s", i, self._path.name, exc.en)
                skipped += 1
                continue
            name = _text(gem_name) or self.config.gemarkung_names.get(kennzeichen.gemarkungsschluessel)
            self._gemarkungen.add(
                GemarkungRef(kennzeichen.land, kennzeichen.gemarkung, name, has_flur=kennzeichen.flur is not None)
            )
            official = None if flaeche is None or (isinstance(flaeche, float) and math.isnan(flaeche)) else float(flaeche)
            self.parcels.append(
                Parcel(
                    kennzeichen=kennzeichen,
                    geometry=_as_multipolygon(geom),
                    gemarkung_name=name,
                    flaeche_m2=official,
                    lage=split_lage(_text(lage), self.config.fields.lage_separator),
                    aktualitaet=_date(akt),
                    nutzung=_text(nutzung),
                )
            )
        if skipped:
            log.warning("%d parcels of %s had no geometry or no valid key", skipped, self._path.name)
        if not self.parcels:
            raise DatasetError(
                msg("local_the_dataset_holds_no_readable_parcels", _path=self._path),
            )

    def _kennzeichen(self, key_text, land, gem_nr, flur, zaehler, nenner) -> Flurstueckskennzeichen:
        key = _text(key_text)
        if key:
            return parse_kennzeichen(key, self._gemarkungen, self.config.default_land)
        gem = _text(gem_nr) or ""
        land_text = _text(land) or (gem[:2] if len(gem) == 6 else self.config.default_land)
        return Flurstueckskennzeichen(
            land=land_text or "",
            gemarkung=gem[-4:],
            flur=_int(flur),
            zaehler=_int(zaehler) or 0,
            nenner=_int(nenner),
        )

    def _load_buildings(self) -> list[Building]:
        layer = self.config.layers.gebaeude
        if not layer or layer not in self._available:
            return []
        geometries, _ = self._read(layer, [])
        return [Building(geometry=g) for g in geometries if g is not None and not g.is_empty]

    def _load_addresses(self) -> list[Address]:
        layer = self.config.layers.adresse
        if not layer or layer not in self._available:
            return []
        af = self.config.address_fields
        present = set(read_info(self._path, layer=layer)["fields"])
        optional = [name for name in (af.postcode, af.place) if name and name in present]
        geometries, columns = self._read(layer, [af.street, af.house_number, *optional])
        suffixes = columns.get(af.suffix) if af.suffix else None
        postcodes = columns.get(af.postcode) if af.postcode else None
        places = columns.get(af.place) if af.place else None
        result = []
        for i, point in enumerate(geometries):
            if point is None or point.is_empty:
                continue
            number = _text(columns[af.house_number][i]) or ""
            if suffixes is not None and _text(suffixes[i]):
                number += _text(suffixes[i])
            result.append(Address(
                point=point, street=_text(columns[af.street][i]) or "", house_number=number,
                postcode=_text(postcodes[i]) if postcodes is not None else None,
                place=_text(places[i]) if places is not None else None,
            ))
        return result

    def _load_streets(self) -> list[Street]:
        layer = self.config.layers.strasse
        if not layer or layer not in self._available:
            return []
        geometries, columns = self._read(layer, ["name"])
        return [
            Street(line=g, name=_text(n) or "")
            for g, n in zip(geometries, columns["name"])
            if g is not None and not g.is_empty
        ]

    def _union_fluren(self) -> list[Flur]:
        # Simplified ALKIS exports carry no Flur outlines, so each Flur is the union of its parcels,
        # done once here and not per map. Parcels without a Flur (Hamburg writes "___") form none.
        members: dict[tuple[str, int], list] = defaultdict(list)
        for parcel in self.parcels:
            k = parcel.kennzeichen
            if k.flur is not None:
                members[(k.gemarkungsschluessel, k.flur)].append(parcel.geometry)
        return [
            Flur(gemarkungsschluessel=gemarkung, nummer=nummer, geometry=shapely.union_all(geometries))
            for (gemarkung, nummer), geometries in sorted(members.items())
        ]

    def _build_indexes(self) -> None:
        self._by_key = {p.key: i for i, p in enumerate(self.parcels)}
        self._tree = shapely.STRtree([p.geometry for p in self.parcels])
        self._by_gemarkung: dict[str, list[int]] = defaultdict(list)
        self._by_zaehler: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._by_street: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for i, parcel in enumerate(self.parcels):
            k = parcel.kennzeichen
            self._by_gemarkung[k.gemarkungsschluessel].append(i)
            self._by_zaehler[(k.gemarkungsschluessel, k.zaehler)].append(i)
            for text in parcel.lage:
                parsed = parse_address(text)
                if parsed:
                    self._by_street[parsed.street].append((i, text))
        self._building_tree = shapely.STRtree([b.geometry for b in self.buildings])
        self._address_tree = shapely.STRtree([a.point for a in self.addresses])
        self._street_tree = shapely.STRtree([s.line for s in self.streets])
        self._index_places()
        self._flur_tree = shapely.STRtree([f.geometry for f in self.fluren])
        dates = [p.aktualitaet for p in self.parcels if p.aktualitaet]
        self._data_currency = self.config.data_currency or (max(dates) if dates else None)
        self._extent = tuple(float(v) for v in shapely.total_bounds(self._tree.geometries))

    def _index_places(self) -> None:
        """Each parcel's places: its Gemarkung and the Ort and postcode of the address points on it.

        A parcel without an address point of its own (a garden named "Hauptstraße") takes those
        of every address point on its streets, so a postcode typed with the street still finds it.
        """
        own: dict[int, set[str]] = defaultdict(set)
        by_street: dict[str, set[str]] = defaultdict(set)
        for address in self.addresses:
            names = {normalise_place(v) for v in (address.postcode, address.place) if v} - {""}
            if not names:
                continue
            by_street[normalise_street(address.street)] |= names
            for i in self._tree.query(address.point, predicate="intersects"):
                own[int(i)] |= names
        # one frozenset per distinct set of places: on most data every parcel has the same few
        interned: dict[frozenset[str], frozenset[str]] = {}
        self._places: list[frozenset[str]] = []
        for i, parcel in enumerate(self.parcels):
            names = {normalise_place(parcel.gemarkung_name)} if parcel.gemarkung_name else set()
            if i in own:
                names |= own[i]
            else:
                for text in parcel.lage:
                    if parsed := parse_address(text):
                        names |= by_street.get(parsed.street, set())
            key = frozenset(names)
            self._places.append(interned.setdefault(key, key))
        self._all_places = frozenset().union(*interned)

    # --- CadastreSource ------------------------------------------------------------------
    def info(self) -> SourceInfo:
        return SourceInfo(
            attribution=self.config.attribution,
            data_currency=self._data_currency,
            extent=self._extent,  # type: ignore[arg-type]
            name=self.config.name or self._path.stem,
        )

    def gemarkungen(self) -> GemarkungIndex:
        return self._gemarkungen

    def get(self, kennzeichen: Flurstueckskennzeichen) -> Parcel | None:
        index = self._by_key.get(kennzeichen.key)
        return self.parcels[index] if index is not None else None

    def find(self, *, gemarkungsschluessel, flur=None, zaehler=None, nenner=None, limit=50):
        if zaehler is not None:
            candidates = self._by_zaehler.get((gemarkungsschluessel, zaehler), [])
        else:
            candidates = self._by_gemarkung.get(gemarkungsschluessel, [])
        result = []
        for i in candidates:
            k = self.parcels[i].kennzeichen
            if flur is not None and k.flur != flur:
                continue
            if nenner is not None and k.nenner != nenner:
                continue
            result.append(self.parcels[i])
        result.sort(key=lambda p: p.kennzeichen)
        return result[:limit]

    def at_point(self, x: float, y: float) -> list[Parcel]:
        point = Point(x, y)
        hits = self._tree.query(point, predicate="intersects")
        return sorted((self.parcels[i] for i in hits), key=lambda p: p.kennzeichen)

    def in_bbox(self, bbox: BBox, limit: int = 50, offset: int = 0) -> tuple[list[Parcel], int]:
        hits = self._tree.query(box(*bbox), predicate="intersects")
        parcels = sorted((self.parcels[i] for i in hits), key=lambda p: p.kennzeichen)
        return parcels[offset : offset + limit], len(parcels)

    def by_address(self, query: AddressQuery, limit: int = 50) -> list[tuple[Parcel, float, str]]:
        if query.street in self._by_street:
            streets = [query.street]
        elif len(query.street) >= 4:
            streets = [s for s in self._by_street if s.startswith(query.street)]
        else:
            streets = []
        scored: dict[int, tuple[float, str]] = {}
        for street in streets:
            for index, text in self._by_street[street]:
                match = match_address(query, text)
                if match and (index not in scored or match.score > scored[index][0]):
                    scored[index] = (match.score, match.text)
        ranked = sorted(scored.items(), key=lambda item: (-item[1][0], self.parcels[item[0]].kennzeichen))
        return [(self.parcels[i], score, text) for i, (score, text) in ranked[:limit]]

    def places(self) -> frozenset[str]:
        return self._all_places

    def places_of(self, parcel: Parcel) -> frozenset[str]:
        index = self._by_key.get(parcel.key)
        return self._places[index] if index is not None else super().places_of(parcel)

    def example_candidates(self) -> list[Parcel]:
        return self.parcels

    def map_features(self, bbox: BBox) -> MapFeatures:
        area = box(*bbox)
        return MapFeatures(
            parcels=[self.parcels[i] for i in self._tree.query(area, predicate="intersects")],
            buildings=[self.buildings[i] for i in self._building_tree.query(area, predicate="intersects")],
            addresses=[self.addresses[i] for i in self._address_tree.query(area, predicate="intersects")],
            streets=[self.streets[i] for i in self._street_tree.query(area, predicate="intersects")],
            fluren=[self.fluren[i] for i in self._flur_tree.query(area, predicate="intersects")],
        )
