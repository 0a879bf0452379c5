"""The gettext catalogues of every user-facing text (German source, English), read once per language, and their lookup."""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
DOMAIN = "messages"
# <DIRECTORY>/<lang>/LC_MESSAGES/messages.po, the layout pybabel, Poedit, Weblate and Flask-Babel share
DIRECTORY = Path(__file__).resolve().parent / "translations"

log = logging.getLogger(__name__)


def po_path(lang: str) -> Path:
    return DIRECTORY / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of a language (unknown languages get German's).

    scripts/install compiles the .mo files (`pybabel compile`); a checkout without them, or with a .po edited
    since, still gets the texts it holds: its .po is compiled in memory, and the log says to compile.
    """
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    # debug, not a warning: this may run at import (renderers.compose), before the JSON log format is set up,
    # and a plain line there would break JSON logs; scripts/install compiles, so only a checkout gets here
    log.debug("catalogue %s is not compiled or older than its .po; run: pybabel compile -d %s", po, DIRECTORY)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def text(key: str, lang: str, /, **values) -> str:
    """The text of message id `key` in `lang` (German where English lacks one), `{name}` placeholders filled.

    An id in no catalogue raises KeyError, as a misspelt key should, rather than showing the id to a citizen.
    """
    template = translations(lang).gettext(key)
    if template == key and lang != DEFAULT_LANGUAGE:
        template = translations(DEFAULT_LANGUAGE).gettext(key)
    if template == key:
        raise KeyError(f"no text with message id {key!r} in {po_path(DEFAULT_LANGUAGE)}")
    return template.format(**values) if values else template


def in_languages(key: str, /, **values) -> dict[str, str]:
    """{"de": …, "en": …}: a text in every language, for metadata that carries them all (pygeoapi's titles)."""
    return {lang: text(key, lang, **values) for lang in LANGUAGES}


def N_(key: str) -> str:  # noqa: N802 - gettext's name for "a message id used later", which pybabel extracts
    """Marks a message id that is looked up later (lists of keys), so the extraction finds it."""
    return key


@dataclass(frozen=True)
class Message:
    """A text still to be put in a language: its message id and values (errors carry these, not sentences)."""

    key: str
    values: dict = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return text(self.key, lang, **{name: _in_language(value, lang) for name, value in self.values.items()})


def _in_language(value, lang: str):
    if isinstance(value, (Message, Pair)):
        return value.render(lang)
    return value(lang) if callable(value) else value


def msg(key: str, /, **values) -> Message:
    """A Message for `key` with values; a value that is a Message, or a function of the language (an amount
    formatted the German or the English way), is put in the language of the text."""
    return Message(key, values)


def number(value: float, pattern: str = "0.00"):
    """A msg value: `value` written the way the text's language writes numbers (2,50 in German, 2.50 in English)."""
    return lambda lang: format_decimal(value, format=pattern, locale=lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Pair:
    """A German and an English sentence written in code: what errors carried before the catalogues (legacy).

    tests/test_catalogues.py finds such literals in the sources; they become catalogue entries and a Message.
    """

    de: str
    en: str

    def render(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


def wording(de: Message | str, en: str | None = None) -> Message | Pair:
    """What an error or a field note says: a Message, or (legacy) German and English sentences."""
    return de if isinstance(de, (Message, Pair)) else Pair(de, en if en is not None else de)
