"""Addresses with the place after the street, on data with two places (a GeoPackage made here)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyogrio.raw import write
from shapely.geometry import MultiPolygon, Point, box

from cadastre.addresses import AddressQuery, address_readings, parse_address
from gis_service.parcels import ParcelService
from wms_clients.local import LocalSource, LocalSourceConfig


def test_readings_split_a_trailing_place_and_postcode():
    assert address_readings("Mühlenweg 12a") == [AddressQuery("muehlenweg", "12a")]
    assert address_readings("Hauptstr. 3, 59999 Groß-Umstadt")[-1] == AddressQuery(
        "hauptstrasse", "3", place="grossumstadt", postcode="59999")
    assert address_readings("Insel Neuwerk 7 a Neuwerk")[-1] == AddressQuery("inselneuwerk", "7a", place="neuwerk")
    assert address_readings("Am Markt, Adorf")[-1] == AddressQuery("ammarkt", None, place="adorf")
    # a number inside the street name stays there; the house number is the last number
    assert address_readings("Straße des 17. Juni 4 Berlin")[-1] == AddressQuery(
        "strassedes17juni", "4", place="berlin")
    # a letter after the number is its suffix, not a place
    assert address_readings("Hauptstr. 12 A") == [AddressQuery("hauptstrasse", "12a")]


def test_a_postcode_is_no_house_number():
    assert parse_address("Hauptstraße 3 59999").number is None


def _write(path, layer, geometries, fields: dict, geometry_type: str) -> None:
    write(str(path), shapely.to_wkb(np.array(geometries, dtype=object)), [np.array(v, dtype=object) for v in fields.values()],
          list(fields), layer=layer, driver="GPKG", geometry_type=geometry_type, crs="EPSG:25832")


@pytest.fixture(scope="module")
def two_places(tmp_path_factory) -> ParcelService:
    """Hauptstraße 3 in Adorf (11111) and in Bedorf (22222), both Orte of "Musterstadt";
    in Bedorf also Schulweg 1 and a Schulweg parcel without a number or an address point."""
    path = tmp_path_factory.mktemp("two-places") / "places.gpkg"
    parcels = [  # key, Gemarkung, lage, square's lower-left corner
        ("05900100100001______", "Adorf", "Hauptstraße 3", (400000, 5700000)),
        ("05900200100001______", "Bedorf", "Hauptstraße 3", (401000, 5700000)),
        ("05900200100002______", "Bedorf", "Schulweg 1", (401100, 5700000)),
        ("05900200100003______", "Bedorf", "Schulweg", (401200, 5700000)),
    ]
    _write(path, "flurstueck", [MultiPolygon([box(x, y, x + 50, y + 50)]) for *_, (x, y) in parcels], {
        "flstkennz": [p[0] for p in parcels], "gemarkung": [p[1] for p in parcels], "lagebeztxt": [p[2] for p in parcels],
    }, "MultiPolygon")
    addresses = [("Hauptstraße", "3", "11111", (400025, 5700025)), ("Hauptstraße", "3", "22222", (401025, 5700025)),
                 ("Schulweg", "1", "22222", (401125, 5700025))]
    _write(path, "adresse", [Point(xy) for *_, xy in addresses], {
        "strassenname": [a[0] for a in addresses], "hausnummer": [a[1] for a in addresses],
        "postleitzahl": [a[2] for a in addresses], "ort": ["Musterstadt"] * len(addresses),
    }, "Point")
    fields = {"land": None, "gemarkungsnummer": None, "flur": None, "zaehler": None, "nenner": None, "flaeche": None,
              "aktualitaet": None, "nutzung": None}
    from wms_clients.base import FieldMapping
    from wms_clients.local import LocalLayers

    source = LocalSource(LocalSourceConfig(dataset=path, fields=FieldMapping(**fields),
                                           layers=LocalLayers(gebaeude=None, strasse=None)))
    return ParcelService(source)


def keys(service: ParcelService, q: str) -> list[str]:
    return [p.key for p in service.search_text(q).parcels]


ADORF, BEDORF = "05900100100001______", "05900200100001______"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Hauptstraße 3", [ADORF, BEDORF]),
        ("Hauptstraße 3 Adorf", [ADORF]),  # the Gemarkung
        ("Hauptstr. 3, 22222", [BEDORF]),  # the postcode of the address point on the parcel
        ("Hauptstraße 3, 22222 Musterstadt", [BEDORF]),
        ("Hauptstraße 3 Musterstadt", [ADORF, BEDORF]),  # the Ort of both
        ("Hauptstraße 3, 11111 Bedorf", []),  # no Hauptstraße 3 is in both
        ("Hauptstraße 3 Cedorf", [ADORF, BEDORF]),  # a place the data do not know is no filter
    ],
)
def test_the_place_after_the_street_chooses_among_places(two_places, typed, expected):
    assert keys(two_places, typed) == expected


def test_a_parcel_without_an_address_point_takes_the_places_of_its_street(two_places):
    assert keys(two_places, "Schulweg, 22222") == ["05900200100002______", "05900200100003______"]
    assert keys(two_places, "Schulweg, 11111") == []


def test_examples_come_from_these_data_and_are_found(two_places):
    examples = two_places.examples
    assert examples.address == "Schulweg 1"  # the Hauptstraße 3s are not unique
    assert examples.parcel == ("Gemarkung Bedorf Flur 1 Flurstück 2", "9002 1 2")
