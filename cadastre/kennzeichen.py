"""Flurstückskennzeichen: read every common way people write a parcel, normalise, format."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from cadastre.errors import KennzeichenError
from catalogues import Message, N_, msg, text


def fold(text: str) -> str:
    """Case- and umlaut-insensitive form used for every name comparison."""
    text = text.casefold().replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


@dataclass(frozen=True)
class GemarkungRef:
    land: str  # two digits, e.g. "05"
    nummer: str  # four digits, e.g. "3144"
    name: str | None = None
    has_flur: bool = True

    @property
    def schluessel(self) -> str:
        return self.land + self.nummer


@dataclass
class GemarkungIndex:
    """Known Gemarkungen, for resolving names and completing the Land of a 4-digit number."""

    gemarkungen: list[GemarkungRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name: dict[str, list[GemarkungRef]] = {}
        self._by_number: dict[str, list[GemarkungRef]] = {}
        self._by_key: dict[str, GemarkungRef] = {}
        for ref in self.gemarkungen:
            self._add(ref)

    def _add(self, ref: GemarkungRef) -> None:
        existing = self._by_key.get(ref.schluessel)
        if existing is not None:
            if existing.name or not ref.name:
                return
            self.gemarkungen.remove(existing)
            self._by_number[ref.nummer].remove(existing)
        self._by_key[ref.schluessel] = ref
        if ref not in self.gemarkungen:
            self.gemarkungen.append(ref)
        self._by_number.setdefault(ref.nummer, []).append(ref)
        if ref.name:
            self._by_name.setdefault(fold(ref.name), []).append(ref)

    def add(self, ref: GemarkungRef) -> None:
        self._add(ref)

    def by_name(self, name: str) -> list[GemarkungRef]:
        return list(self._by_name.get(fold(name), []))

    def by_number(self, nummer: str) -> list[GemarkungRef]:
        return list(self._by_number.get(nummer, []))

    def get(self, schluessel: str) -> GemarkungRef | None:
        return self._by_key.get(schluessel)

    def name_of(self, land: str, nummer: str) -> str | None:
        ref = self._by_key.get(land + nummer)
        return ref.name if ref else None


@dataclass(frozen=True, order=True)
class Flurstueckskennzeichen:
    """A parcel key; `flur` is None where the Gemarkung has no Flur (written `___`)."""

    land: str
    gemarkung: str
    flur: int | None
    zaehler: int
    nenner: int | None = None
    folge: int | None = None

    @property
    def key(self) -> str:
        flur = "___" if self.flur is None else f"{self.flur:03d}"
        nenner = "____" if self.nenner is None else f"{self.nenner:04d}"
        folge = "__" if self.folge is None else f"{self.folge:02d}"
        return f"{self.land}{self.gemarkung}{flur}{self.zaehler:05d}{nenner}{folge}"

    def __str__(self) -> str:
        return self.key

    @property
    def gemarkungsschluessel(self) -> str:
        return self.land + self.gemarkung

    @property
    def nummer(self) -> str:
        """The parcel number as printed on the map: Zähler or Zähler/Nenner."""
        return f"{self.zaehler}/{self.nenner}" if self.nenner is not None else str(self.zaehler)

    def dashed(self) -> str:
        flur = "___" if self.flur is None else f"{self.flur:03d}"
        text = f"{self.land}-{self.gemarkung}-{flur}-{self.zaehler:05d}"
        if self.nenner is not None:
            text += f"/{self.nenner:04d}"
        if self.folge is not None:
            text += f".{self.folge:02d}"
        return text

    def label(self, gemarkung_name: str | None = None, lang: str = "de", separator: str = ", ") -> str:
        """Display form, e.g. "Gemarkung Rüttenscheid, Flur 39, Flurstück 40/4"."""
        gemarkung = gemarkung_name or self.gemarkung
        parts = [f"Gemarkung {gemarkung}"]
        if self.flur is not None:
            parts.append(f"Flur {self.flur}")
        parts.append(f"Flurstück {self.nummer}")
        return separator.join(parts)

    def short(self) -> str:
        """Gemarkung number, Flur and number as people jot them down, e.g. "3144 39 40/4"; no Folge."""
        flur = "" if self.flur is None else f" {self.flur}"
        return f"{self.gemarkung}{flur} {self.nummer}"


_KEY = re.compile(r"^(\d{2})(\d{4})(\d{3}|_{3})(\d{5})(\d{4}|_{4})?(\d{2}|_{2})?$")
_DASHED = re.compile(
    r"^(?:(\d{2})-?)?(\d{4})-(\d{1,3}|_{3})-(\d{1,5})(?:\s*/\s*(\d{1,4}))?(?:\.(\d{1,2}))?$"
)
_SPACED = re.compile(r"^(?:(\d{2})\s+)?(\d{4})\s+(?:(\d{1,3})\s+)?(\d{1,5})(?:\s*/\s*(\d{1,4}))?$")
_GEMARKUNG_WORD = r"(?:gemarkung|gemkg\.?|gmk\.?|gem\.?)"
_FLUR_WORD = r"(?:flur|fl\.)"
_FLURSTUECK_WORD = r"(?:flurstück|flurstueck|flurst\.?|flst\.?)"
_TEXT = re.compile(
    rf"^(?:{_GEMARKUNG_WORD}\s*)?(?P<gem>[^,]+?)\s*,?\s*"
    rf"(?:{_FLUR_WORD}\s*(?P<flur>\d{{1,3}})\s*,?\s*)?"
    rf"{_FLURSTUECK_WORD}\s*(?:nr\.?\s*)?(?P<z>\d{{1,5}})(?:\s*/\s*(?P<n>\d{{1,4}}))?$",
    re.IGNORECASE,
)


def quote_alternatives(texts: Sequence[str], lang: str = "de") -> str:
    """„A“ oder „B“ in German, “A” or “B” in English."""
    return text("or_separator", lang).join(text("quoted", lang, text=t) for t in texts)


def _examples_sentence(examples: Sequence[str]) -> Message:
    """"Beispiele: „A“ oder „B“." for the given forms; without forms, what to write instead."""
    if not examples:
        return msg("kennzeichen_how_to_write")
    def shown(lang):
        return quote_alternatives(examples, lang)
    if len(examples) > 1:
        return msg("kennzeichen_examples", examples=shown)
    return msg("kennzeichen_example", examples=shown)


def _error_not_a_key(given: str, examples: Sequence[str]) -> KennzeichenError:
    shown = given if len(given) <= 60 else given[:57] + "…"
    compact = given.replace(" ", "")
    hint = _examples_sentence(examples)
    if re.fullmatch(r"[\d_]{8,}", compact) and len(compact) != 20:
        return KennzeichenError(msg("kennzeichen_wrong_length", shown=shown, length=len(compact), hint=hint))
    return KennzeichenError(msg("kennzeichen_not_readable", shown=shown, hint=hint))


def _number(value: str | None, what: str, maximum: int) -> int | None:
    """A part of the key as a number; `what` is the message id of its name."""
    if value is None or set(value) == {"_"}:
        return None
    number = int(value)
    if not 1 <= number <= maximum:
        raise KennzeichenError(msg("kennzeichen_number_out_of_range", what=msg(what), value=value, maximum=maximum))
    return number


def _resolve_land(
    nummer: str, land: str | None, index: GemarkungIndex | None, default_land: str | None
) -> str:
    if land:
        return land
    candidates = index.by_number(nummer) if index else []
    lands = sorted({ref.land for ref in candidates})
    if len(lands) == 1:
        return lands[0]
    if len(lands) > 1:
        raise KennzeichenError(msg("kennzeichen_number_in_several_states", nummer=nummer, lands=", ".join(lands)))
    if default_land:
        return default_land
    raise KennzeichenError(
        msg("kennzeichen_the_state_is_missing_for_gemarkung", nummer=nummer),
    )


def _resolve_gemarkung_text(
    text: str, index: GemarkungIndex | None, default_land: str | None
) -> tuple[str, str]:
    text = text.strip()
    if re.fullmatch(r"\d{6}", text):
        return text[:2], text[2:]
    if re.fullmatch(r"\d{4}", text):
        return _resolve_land(text, None, index, default_land), text
    matches = index.by_name(text) if index else []
    if not matches:
        raise KennzeichenError(
            msg("kennzeichen_gemarkung_is_not_known_here_please", text=text),
        )
    if len(matches) > 1:
        numbers = ", ".join(f"{ref.nummer}" for ref in matches)
        raise KennzeichenError(
            msg("kennzeichen_gemarkung_name_is_ambiguous_please_give", text=text, numbers=numbers),
        )
    return matches[0].land, matches[0].nummer


def parse_kennzeichen(
    text: str,
    index: GemarkungIndex | None = None,
    default_land: str | None = None,
    examples: Sequence[str] = (),
) -> Flurstueckskennzeichen:
    """Read a parcel reference in any accepted form; raise KennzeichenError saying what is wrong.

    `examples` are forms of a parcel that exists in the caller's data; an unreadable text is
    answered with them (cadastre knows no data of its own, so it names none).
    """
    if not isinstance(text, str) or not text.strip():
        raise KennzeichenError(msg("kennzeichen_please_give_a_parcel"))
    if len(text) > 200:
        raise KennzeichenError(
            msg("kennzeichen_the_parcel_reference_is_too_long"),
        )
    cleaned = " ".join(text.strip().split())

    if match := _KEY.match(cleaned.replace(" ", "")):
        land, gem, flur, zaehler, nenner, folge = match.groups()
    elif match := _DASHED.match(cleaned.replace(" - ", "-")):
        land, gem, flur, zaehler, nenner, folge = match.groups()
        land = _resolve_land(gem, land, index, default_land)
    elif match := _SPACED.match(cleaned):
        land, gem, flur, zaehler, nenner = match.groups()
        folge = None
        land = _resolve_land(gem, land, index, default_land)
    elif match := _TEXT.match(cleaned):
        land, gem = _resolve_gemarkung_text(match["gem"], index, default_land)
        flur, zaehler, nenner, folge = match["flur"], match["z"], match["n"], None
    else:
        raise _error_not_a_key(cleaned, examples)

    return Flurstueckskennzeichen(
        land=land,
        gemarkung=gem,
        flur=_number(flur, N_("kennzeichen_part_flur"), 999),
        zaehler=_number(zaehler, N_("kennzeichen_part_zaehler"), 99999),  # type: ignore[arg-type]
        nenner=_number(nenner, N_("kennzeichen_part_nenner"), 9999),
        folge=_number(folge, N_("kennzeichen_part_folge"), 99),
    )


def try_parse_kennzeichen(
    text: str, index: GemarkungIndex | None = None, default_land: str | None = None
) -> Flurstueckskennzeichen | None:
    try:
        return parse_kennzeichen(text, index, default_land)
    except KennzeichenError:
        return None
