"""The interface every cadastral source offers (local dataset or WMS/WFS upstream) and its field mapping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from cadastre.addresses import AddressQuery, normalise_place
from cadastre.kennzeichen import Flurstueckskennzeichen, GemarkungIndex
from cadastre.model import BBox, MapFeatures, Parcel



@dataclass(frozen=True)
class FieldMapping:
    """Our names → the dataset's names. Defaults are the NRW "ALKIS vereinfacht" (ave) names."""

    kennzeichen: str = "flstkennz"
    land: str | None = "land"
    gemarkungsnummer: str | None = "gemaschl"  # 4 digits or Land + 4 digits
    gemarkung: str | None = "gemarkung"
    flur: str | None = "flur"
    zaehler: str | None = "flstnrzae"
    nenner: str | None = "flstnrnen"
    flaeche: str | None = "flaeche"
    lage: str | None = "lagebeztxt"
    lage_separator: str = ";"
    aktualitaet: str | None = "aktualit"
    nutzung: str | None = "tntxt"
    geometry: str = "geometrie"

    @classmethod
    def from_dict(cls, values: dict) -> "FieldMapping":
        return cls(**values)


@dataclass(frozen=True)
class AddressFieldMapping:
    street: str = "strassenname"
    house_number: str = "hausnummer"
    suffix: str | None = "adressierungszusatz"
    postcode: str | None = "postleitzahl"  # read when the layer has it
    place: str | None = "ort"  # read when the layer has it


@dataclass(frozen=True)
class SourceInfo:
    attribution: str
    data_currency: str | None  # ISO date of the newest update in the data
    extent: BBox
    name: str = ""
    extra: dict = field(default_factory=dict)


class CadastreSource(ABC):
    """Parcels and map features from one place; all coordinates in EPSG:25832."""

    @abstractmethod
    def info(self) -> SourceInfo: ...

    @abstractmethod
    def gemarkungen(self) -> GemarkungIndex: ...

    @abstractmethod
    def get(self, kennzeichen: Flurstueckskennzeichen) -> Parcel | None: ...

    @abstractmethod
    def find(
        self,
        *,
        gemarkungsschluessel: str,
        flur: int | None = None,
        zaehler: int | None = None,
        nenner: int | None = None,
        limit: int = 50,
    ) -> list[Parcel]:
        """Parcels by attributes; a None attribute matches any value."""

    @abstractmethod
    def at_point(self, x: float, y: float) -> list[Parcel]: ...

    @abstractmethod
    def in_bbox(self, bbox: BBox, limit: int = 50, offset: int = 0) -> tuple[list[Parcel], int]:
        """Parcels intersecting bbox, ordered by key, one page of them, and the total."""

    @abstractmethod
    def by_address(self, query: AddressQuery, limit: int = 50) -> list[tuple[Parcel, float, str]]:
        """Parcels whose address answers the query, best first: (parcel, score, matched address)."""

    @abstractmethod
    def map_features(self, bbox: BBox) -> MapFeatures:
        """Vector features for drawing a map face (local sources only; upstreams draw themselves)."""

    def places(self) -> frozenset[str]:
        """Every place (normalise_place) and postcode the data know; here the Gemarkung names."""
        return frozenset(normalise_place(ref.name) for ref in self.gemarkungen().gemarkungen if ref.name)

    def places_of(self, parcel: Parcel) -> frozenset[str]:
        """The places and postcodes a parcel lies in, as far as the data tell; here its Gemarkung."""
        return frozenset([normalise_place(parcel.gemarkung_name)] if parcel.gemarkung_name else [])

    def example_candidates(self) -> list[Parcel]:
        """Parcels to pick the search help's examples from; none where listing them costs a request."""
        return []

    def readiness_problems(self) -> list[str]:
        """Why this source cannot answer now, in an operator's words; empty when it can (local data always can)."""
        return []
