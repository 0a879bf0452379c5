"""Verification codes of official extracts: random, grouped, Crockford base32 with a check character that catches typos."""

from __future__ import annotations

import re
import secrets

# Crockford's base32: no I, L, O or U, which are misread as 1, 1, 0 and V (or spell words).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# What people type for what they read: Crockford's decoding rules, and U for the V it looks like.
_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})

RANDOM_SYMBOLS = 14  # 70 bits: with the rate limit, guessing one valid code among millions is hopeless
GROUP = 5
LENGTH = RANDOM_SYMBOLS + 1  # and the check character
ENTROPY_BITS = RANDOM_SYMBOLS * 5

# GF(32) with the primitive polynomial x⁵ + x² + 1: multiplying by α (= 2) runs through all 31 non-zero
# elements, so the weights α^i of up to 31 positions are distinct and non-zero.
_POLY = 0b100101


def _times_alpha(value: int) -> int:
    value <<= 1
    return value ^ _POLY if value & 0b100000 else value


def check_symbol(symbols: str) -> str:
    """The check character of canonical symbols: Σ α^(i+1)·xᵢ over GF(32) (a Reed–Solomon parity).

    A single wrong symbol changes the sum by e·α^k ≠ 0; swapping neighbours a, b changes it by
    (a ⊕ b)·α^k·(1 ⊕ α) ≠ 0. Both are always detected, and the check uses only the 32 symbols
    (Crockford's own mod-37 check needs five more that people do not recognise).
    """
    total, weight = 0, 1
    for symbol in symbols:
        weight = _times_alpha(weight)
        total ^= _multiply(weight, _VALUE[symbol])
    return ALPHABET[total]


def _multiply(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a, b = _times_alpha(a), b >> 1
    return product


def new_code() -> str:
    """A fresh code in canonical form (15 symbols, no dashes), from the operating system's CSPRNG."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return body + check_symbol(body)


def is_valid(canonical: str) -> bool:
    return (len(canonical) == LENGTH and all(s in _VALUE for s in canonical)
            and check_symbol(canonical[:-1]) == canonical[-1])


def normalise(text: str) -> str | None:
    """The canonical code a person meant, or None when it cannot be one (wrong length or check character).

    Accepts lower case, spaces, dashes, dots and look-alike letters (O → 0, I/L → 1, U → V), and a whole
    verification URL pasted into the form.
    """
    if not isinstance(text, str) or len(text) > 200:
        return None
    text = text.strip().rstrip("/").rsplit("/", 1)[-1]  # a pasted …/verify/<code>
    canonical = re.sub(r"[\s\-–_.]+", "", text).upper().translate(_LOOKALIKE)
    return canonical if is_valid(canonical) else None


def formatted(canonical: str) -> str:
    """The code as printed and shown: groups of five joined by dashes (ABCDE-FGHJK-MNPQR)."""
    return "-".join(canonical[i:i + GROUP] for i in range(0, len(canonical), GROUP))


def verify_url(base_url: str, canonical: str) -> str:
    """The public page of a code (what the QR code holds); the web route /verify/<code> must match."""
    return f"{base_url.rstrip('/')}/verify/{formatted(canonical)}"
