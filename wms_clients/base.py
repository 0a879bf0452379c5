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


@dataclass(frozen=True)
class SearchLimit:
    """Address searches are limited to `extent`; `service_extent` is what the service advertises (None: unknown)."""

    extent: BBox
    service_extent: BBox | None = None

    @property
    def covered_share(self) -> float | None:
        """How much of the service's extent the limit covers, 0 … 1; None when the service's extent is unknown."""
        if self.service_extent is None:
            return None
        sx0, sy0, sx1, sy1 = self.service_extent
        area = (sx1 - sx0) * (sy1 - sy0)
        if area <= 0:
            return None
        x0, y0, x1, y1 = self.extent
        width = max(0.0, min(x1, sx1) - max(x0, sx0))
        height = max(0.0, min(y1, sy1) - max(y0, sy0))
        return min(1.0, width * height / area)

    @property
    def leaves_out_data(self) -> bool:
        """Whether addresses the service holds can lie outside the limit (also when that cannot be told)."""
        share = self.covered_share
        return share is None or share < 0.999


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

    def address_search_limit(self) -> SearchLimit | None:
        """The area address searches are limited to, None when they ask all the data (local data always do)."""
        return None

    def readiness_problems(self) -> list[str]:
        """Why this source cannot answer now, in an operator's words; empty when it can (local data always can)."""
        return []
