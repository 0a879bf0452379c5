"""Address text as people type it: fold umlauts and abbreviations, split street, house number and place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cadastre.kennzeichen import fold

_STREET_ABBREVIATIONS = [
    (re.compile(r"str\.?$"), "strasse"),
    (re.compile(r"str\.?(?= )"), "strasse"),
    (re.compile(r"\bpl\.$"), "platz"),
]
# (?<!\d): the last digits of a postcode ("… 3 59999") are no house number
_HOUSE_NUMBER = re.compile(r"^(?P<street>.*?)[\s,]*(?<!\d)(?P<number>\d{1,4})\s*(?P<suffix>[a-z]?)\s*$")
# "hauptstr. 3, 59999 lindenhagen": street, number, then postcode and/or place; the place has no digits
_NUMBER_THEN_PLACE = re.compile(
    r"^(?P<street>.*?[a-z].*?)[\s,]*(?<!\d)(?P<number>\d{1,4})\s*(?P<suffix>[a-z]?)(?:\s*,\s*|\s+)"
    r"(?P<postcode>\d{5})?\s*(?P<place>[^\d,]*)$"
)
# "insel neuwerk, neuwerk": without a number only a comma tells the place from the street
_STREET_COMMA_PLACE = re.compile(r"^(?P<street>[^,\d]*[a-z][^,\d]*?)\s*,\s*(?P<postcode>\d{5})?\s*(?P<place>[^\d,]*)$")


@dataclass(frozen=True)
class AddressQuery:
    street: str  # folded, abbreviations expanded, spaces and hyphens removed
    number: str | None  # e.g. "12a"; None when only the street was given
    place: str | None = None  # normalise_place() of a place name typed after the street
    postcode: str | None = None  # five digits typed after the street

    @property
    def number_without_suffix(self) -> str | None:
        return self.number.rstrip("abcdefghijklmnopqrstuvwxyz") if self.number else None


def normalise_street(street: str) -> str:
    """"Haupt-Str." → "hauptstrasse"; "Am Bürgerhaus" → "ambuergerhaus"."""
    text = fold(street).strip(" ,.")
    for pattern, replacement in _STREET_ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    return re.sub(r"[\s\-.']", "", text)


def normalise_house_number(number: str) -> str:
    return re.sub(r"\s+", "", fold(number))


def normalise_place(place: str) -> str:
    """"Groß-Umstadt" → "grossumstadt": places compare without case, umlauts, spaces and hyphens."""
    return re.sub(r"[\s\-.'()/]", "", fold(place))


def parse_address(text: str) -> AddressQuery | None:
    """Split "hauptstrasse 12 A" into street and number; None when no street is left."""
    folded = fold(text).strip(" ,.")
    match = _HOUSE_NUMBER.match(folded)
    if match and match["street"].strip():
        street, number = match["street"], match["number"] + match["suffix"]
    else:
        street, number = folded, None
    street = normalise_street(street)
    if not street or not re.search(r"[a-z]", street):
        return None
    return AddressQuery(street=street, number=number)


def address_readings(text: str) -> list[AddressQuery]:
    """Every way to read the text as an address: the whole as street (and number) first, then
    street, number and a trailing place ("Hauptstraße 3, 59999 Lindenhagen") when it has one."""
    readings = []
    if (whole := parse_address(text)) is not None:
        readings.append(whole)
    folded = fold(text).strip(" ,.")
    for pattern in (_NUMBER_THEN_PLACE, _STREET_COMMA_PLACE):
        match = pattern.match(folded)
        if not match:
            continue
        parts = match.groupdict()
        place = normalise_place(parts["place"])
        place = place if len(place) > 1 else None  # a single letter after the number is its suffix
        if place is None and parts["postcode"] is None:
            continue
        street = normalise_street(parts["street"])
        number = parts["number"] + parts["suffix"] if parts.get("number") else None
        if street and re.search(r"[a-z]", street):
            readings.append(AddressQuery(street=street, number=number, place=place, postcode=parts["postcode"]))
    return readings


def split_lage(text: str | None, separator: str = ";") -> list[str]:
    """A parcel's address field may hold several addresses ("Hauptstraße 12; Hauptstraße 12a")."""
    if not text:
        return []
    return [part.strip() for part in text.split(separator) if part.strip()]


@dataclass(frozen=True)
class AddressMatch:
    score: float  # 3 exact, 2 number without suffix, 1 street only; fuzzy street lowers it
    text: str  # the address as the data writes it


def match_address(query: AddressQuery, address_text: str) -> AddressMatch | None:
    """How well one address of the data answers the query; None when it does not."""
    candidate = parse_address(address_text)
    if candidate is None:
        return None
    if candidate.street == query.street:
        street_score = 1.0
    elif candidate.street.startswith(query.street) and len(query.street) >= 4:
        street_score = 0.8
    else:
        return None
    if query.number is None:
        return AddressMatch(1.0 * street_score, address_text)
    if candidate.number == query.number:
        return AddressMatch(3.0 * street_score, address_text)
    if candidate.number_without_suffix == query.number_without_suffix:
        return AddressMatch(2.0 * street_score, address_text)
    return None
