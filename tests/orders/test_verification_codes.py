"""Verification codes: alphabet, length, entropy, the check character against typos, and forgiving input."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.orders import verification as v


def _codes(n: int) -> list[str]:
    return [v.new_code() for _ in range(n)]


def test_codes_are_canonical_long_enough_and_do_not_repeat():
    codes = _codes(5000)
    assert len(set(codes)) == len(codes)
    assert v.ENTROPY_BITS >= 60
    for code in codes:
        assert len(code) == v.LENGTH == 15
        assert set(code) <= set(v.ALPHABET) and not set(code) & set("ILOU")
        assert v.is_valid(code)
    # every symbol turns up in every random position (no position is fixed or biased towards a few symbols)
    for position in range(v.RANDOM_SYMBOLS):
        assert {code[position] for code in codes} == set(v.ALPHABET)


def test_every_single_wrong_symbol_is_detected():
    for code in _codes(40):
        for position, wrong in itertools.product(range(len(code)), v.ALPHABET):
            if wrong != code[position]:
                typo = code[:position] + wrong + code[position + 1:]
                assert not v.is_valid(typo), (code, typo)
                assert v.normalise(typo) is None


def test_every_swap_of_neighbours_is_detected():
    for code in _codes(300):
        for position in range(len(code) - 1):
            a, b = code[position], code[position + 1]
            if a != b:
                swapped = code[:position] + b + a + code[position + 2:]
                assert not v.is_valid(swapped), (code, swapped)


def test_the_check_character_is_not_a_constant():
    # a check that ignored its input would pass the two tests above only by accident; this one it cannot
    assert len({code[-1] for code in _codes(2000)}) == 32


def test_input_is_normalised_as_people_type_it():
    code = v.new_code()
    shown = v.formatted(code)
    assert shown.count("-") == 2 and shown.replace("-", "") == code
    assert all(len(group) == 5 for group in shown.split("-"))
    assert v.normalise(shown) == code
    assert v.normalise(shown.lower()) == code
    assert v.normalise("  " + " ".join(shown.split("-")) + " ") == code
    assert v.normalise(code) == code
    assert v.normalise(f"https://kataster.example/verify/{shown}") == code
    # look-alikes: what was printed as 0, 1 or V may be typed as O, I, L or U
    lookalike = code.replace("0", "O").replace("1", random.choice("IiLl")).replace("V", "u")
    assert v.normalise(lookalike) == code


def test_what_cannot_be_a_code_is_refused():
    code = v.new_code()
    for text in ["", "   ", code[:-1], code + "0", code[:-1] + "*", "x" * 500, "../../etc/passwd", "ÄÖÜ" * 5]:
        assert v.normalise(text) is None, text


def test_verify_url_carries_the_printed_form():
    code = v.new_code()
    assert v.verify_url("https://kataster.example/", code) == f"https://kataster.example/verify/{v.formatted(code)}"


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_any_way_of_typing_a_code_finds_it(data):
    body = data.draw(st.text(alphabet=v.ALPHABET, min_size=v.RANDOM_SYMBOLS, max_size=v.RANDOM_SYMBOLS))
    code = body + v.check_symbol(body)
    typed = ""
    for symbol in code:
        symbol = data.draw(st.sampled_from([symbol, symbol.lower()] + {"0": ["O", "o"], "1": ["I", "i", "L", "l"],
                                                                        "V": ["U", "u"]}.get(symbol, [])))
        typed += symbol + data.draw(st.sampled_from(["", "", " ", "-", "–", ".", "  "]))
    assert v.normalise(typed) == code


@given(st.text(max_size=40))
@settings(max_examples=500, deadline=None)
def test_random_text_is_never_taken_for_a_wrong_code(text):
    # whatever comes in, the answer is a valid canonical code or None, never an exception
    found = v.normalise(text)
    assert found is None or v.is_valid(found)
