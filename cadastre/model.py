"""Records every source delivers and every renderer draws: parcels, Fluren, buildings, addresses, streets."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

from cadastre.kennzeichen import Flurstueckskennzeichen

NATIVE_CRS = "EPSG:25832"
# minx, miny, maxx, maxy in metres of NATIVE_CRS unless said otherwise
BBox = tuple[float, float, float, float]


@dataclass
class Parcel:
    """One Flurstück; geometry in the native CRS (EPSG:25832)."""

    kennzeichen: Flurstueckskennzeichen
    geometry: BaseGeometry
    gemarkung_name: str | None = None
    flaeche_m2: float | None = None  # official area (amtliche Fläche), not the computed one
    lage: list[str] = field(default_factory=list)
    aktualitaet: str | None = None  # ISO date of the last update
    nutzung: str | None = None
    # Where the record came from when not from the primary source: "fallback" when the upstream
    # failed and the local fallback dataset answered. Handlers tell clients from it.
    origin: str | None = None

    @property
    def key(self) -> str:
        return self.kennzeichen.key

    @property
    def label(self) -> str:
        return self.kennzeichen.label(self.gemarkung_name)

    @property
    def official_or_computed_area(self) -> float:
        return self.flaeche_m2 if self.flaeche_m2 is not None else round(self.geometry.area, 1)


@dataclass
class Building:
    geometry: BaseGeometry
    function: int | None = None
    lage: str | None = None


@dataclass
class Address:
    point: BaseGeometry
    street: str
    house_number: str  # number and suffix, e.g. "12a"
    postcode: str | None = None
    place: str | None = None  # the Ort as the data write it, e.g. "Hamburg"

    @property
    def text(self) -> str:
        return f"{self.street} {self.house_number}".strip()


@dataclass
class Street:
    line: BaseGeometry
    name: str


@dataclass
class Flur:
    """One Flur of a Gemarkung as an area: the union of its parcels, in the native CRS."""

    gemarkungsschluessel: str  # Land + Gemarkung, e.g. "059871"
    nummer: int
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        return f"Flur {self.nummer}"


@dataclass
class MapFeatures:
    """Everything a map face shows inside one extent."""

    parcels: list[Parcel] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    streets: list[Street] = field(default_factory=list)
    # Only sources that hold whole Fluren fill this; an upstream's WMS draws its own boundaries.
    fluren: list[Flur] = field(default_factory=list)
