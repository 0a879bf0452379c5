"""Flurstückskennzeichen: every accepted spelling, round trips (hypothesis) and the errors people see."""

import pytest
from hypothesis import given, strategies as st

from cadastre.kennzeichen import (
    Flurstueckskennzeichen,
    GemarkungIndex,
    GemarkungRef,
    KennzeichenError,
    fold,
    parse_kennzeichen,
)

INDEX = GemarkungIndex(
    [
        GemarkungRef("05", "3144", "Rüttenscheid"),
        GemarkungRef("05", "9871", "Lindenhagen"),
        GemarkungRef("02", "0125", "Neuwerk", has_flur=False),
        GemarkungRef("05", "1234", "Mühlheim-Süd"),
    ]
)
EXPECTED = Flurstueckskennzeichen("05", "3144", 39, 40, 4)


@pytest.mark.parametrize(
    "text",
    [
        "053144039000400004__",
        "0531440390004000 04__".replace(" ", ""),
        "05-3144-039-00040/0004",
        "053144-039-00040/0004",
        "05-3144-39-40/4",
        "3144-039-00040/0004",
        "3144 39 40/4",
        "05 3144 39 40/4",
        "3144 39 40 / 4",
        "Gemarkung Rüttenscheid Flur 39 Flurstück 40/4",
        "Gemarkung Rüttenscheid, Flur 39, Flurstück 40/4",
        "gemarkung rüttenscheid flur 39 flurstück 40/4",
        "Rüttenscheid Flur 39 Flurstück 40/4",
        "RUETTENSCHEID Flur 39 Flst. 40/4",
        "Gmk. Rüttenscheid Fl. 39 Flst. 40/4",
        "Gemarkung 3144 Flur 39 Flurstück 40/4",
        "Gemarkung 053144 Flur 39 Flurstück 40/4",
        "  Gemarkung   Rüttenscheid  Flur 39   Flurstueck 40 / 4  ",
    ],
)
def test_every_common_form_reads_as_the_same_key(text):
    assert parse_kennzeichen(text, INDEX) == EXPECTED
    assert parse_kennzeichen(text, INDEX).key == "053144039000400004__"


def test_without_flur_and_without_nenner():
    k = parse_kennzeichen("Gemarkung Neuwerk Flurstück 128", INDEX)
    assert k.key == "020125___00128______"
    assert k.flur is None and k.nenner is None
    assert parse_kennzeichen("020125___00128______") == k
    assert parse_kennzeichen("0125 128", INDEX) == k
    assert k.label("Neuwerk") == "Gemarkung Neuwerk, Flurstück 128"


def test_trailing_underscores_may_be_left_off():
    assert parse_kennzeichen("05314403900040").key == "05314403900040______"


def test_label_and_dashed_forms():
    assert EXPECTED.label("Rüttenscheid") == "Gemarkung Rüttenscheid, Flur 39, Flurstück 40/4"
    assert EXPECTED.dashed() == "05-3144-039-00040/0004"
    assert EXPECTED.nummer == "40/4"


def test_land_from_default_when_gemarkung_unknown():
    assert parse_kennzeichen("9999 1 5", None, default_land="05").key == "059999001000050_____"[:14] + "______"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Bitte geben Sie ein Flurstück an"),
        ("05314403900040000", "hat 17 Zeichen"),
        ("Gemarkung Atlantis Flur 3 Flurstück 4", "Gemarkung „Atlantis“ ist hier nicht bekannt"),
        ("Hauptstraße 12", "keine Flurstücksangabe"),
        ("053144000000400004__", "Flur 000 ist ungültig"),
        ("053144039000000004__", "Flurstückszähler 00000 ist ungültig"),
        ("x" * 300, "zu lang"),
        ("7777 39 40", "fehlt das Land"),
    ],
)
def test_malformed_input_says_what_is_wrong(text, fragment):
    with pytest.raises(KennzeichenError) as info:
        parse_kennzeichen(text, INDEX)
    assert fragment in info.value.de
    assert info.value.en and info.value.en != info.value.de


def test_unreadable_text_is_answered_with_the_callers_examples():
    examples = ("Gemarkung Neuwerk Flurstück 128", "0125 128")
    for text in ("Hauptstraße 12", "05314403900040000"):
        with pytest.raises(KennzeichenError) as info:
            parse_kennzeichen(text, INDEX, examples=examples)
        assert info.value.de.endswith("Beispiele: „Gemarkung Neuwerk Flurstück 128“ oder „0125 128“.")
        assert info.value.en.endswith("Examples: “Gemarkung Neuwerk Flurstück 128” or “0125 128”.")


def test_without_examples_the_error_describes_the_forms_and_names_no_parcel():
    with pytest.raises(KennzeichenError) as info:
        parse_kennzeichen("Hauptstraße 12", INDEX)
    assert "Beispiel" not in info.value.de and "„" not in info.value.de.split("“", 1)[1]
    assert "Flur und die Flurstücksnummer" in info.value.de and "parcel number" in info.value.en


def test_ambiguous_gemarkung_name_is_refused():
    index = GemarkungIndex([GemarkungRef("05", "1111", "Berg"), GemarkungRef("05", "2222", "Berg")])
    with pytest.raises(KennzeichenError, match="ambiguous"):
        parse_kennzeichen("Berg Flur 1 Flurstück 2", index)


def test_fold_treats_umlauts_and_eszett_like_their_spelled_out_forms():
    assert fold("Mühlheim-Süd STRASSE") == fold("muehlheim-sued straße")


kennzeichen_strategy = st.builds(
    Flurstueckskennzeichen,
    land=st.sampled_from(["05", "02"]),
    gemarkung=st.sampled_from(["3144", "9871", "0125", "1234"]),
    flur=st.one_of(st.none(), st.integers(1, 999)),
    zaehler=st.integers(1, 99999),
    nenner=st.one_of(st.none(), st.integers(1, 9999)),
    folge=st.one_of(st.none(), st.integers(1, 99)),
)


@given(kennzeichen_strategy)
def test_round_trip_through_the_key(k):
    assert len(k.key) == 20
    assert parse_kennzeichen(k.key) == k


@given(kennzeichen_strategy)
def test_round_trip_through_the_dashed_form(k):
    assert parse_kennzeichen(k.dashed()) == k


@given(kennzeichen_strategy.filter(lambda k: k.folge is None and INDEX.get(k.gemarkungsschluessel)))
def test_round_trip_through_the_display_label(k):
    name = INDEX.name_of(k.land, k.gemarkung)
    assert parse_kennzeichen(k.label(name), INDEX) == k


@given(kennzeichen_strategy.filter(lambda k: k.folge is None))
def test_round_trip_through_the_short_spaced_form(k):
    flur = f" {k.flur}" if k.flur is not None else ""
    nenner = f"/{k.nenner}" if k.nenner is not None else ""
    assert parse_kennzeichen(f"{k.land} {k.gemarkung}{flur} {k.zaehler}{nenner}") == k


@given(kennzeichen_strategy.filter(lambda k: k.folge is None and INDEX.get(k.gemarkungsschluessel)))
def test_round_trip_through_the_short_form_without_land(k):
    assert parse_kennzeichen(k.short(), INDEX) == k


@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text):
    try:
        k = parse_kennzeichen(text, INDEX)
    except KennzeichenError as exc:
        assert exc.de and exc.en
    else:
        assert len(k.key) == 20
