"""Address text as people type it: fold umlauts and abbreviations, split street and house number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cadastre.kennzeichen import fold

_STREET_ABBREVIATIONS = [
    (re.compile(r"str\.?$"), "strasse"),
    (re.compile(r"str\.?(?= )"), "strasse"),
    (re.compile(r"\bpl\.$"), "platz"),
]
_HOUSE_NUMBER = re.compile(r"^(?P<street>.*?)[\s,]*(?P<number>\d{1,4})\s*(?P<suffix>[a-z]?)\s*$")


@dataclass(frozen=True)
class AddressQuery:
    street: str  # folded, abbreviations expanded, spaces and hyphens removed
    number: str | None  # e.g. "12a"; None when only the street was given

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
