"""Domain errors that carry a person-readable message: a catalogue message id with its values (catalogues.msg)."""

from __future__ import annotations
from catalogues import Message, Pair, wording



class CadastreError(ValueError):
    """An error a citizen can act on; its message is a complete sentence in German and in English.

    Raise it with a catalogues.Message (`CadastreError(msg("kennzeichen_empty"))`); a German and an English
    sentence (`CadastreError(de, en)`) still work until they are moved into the catalogues.
    """

    code = "invalid-input"

    def __init__(self, de: Message | str, en: str | None = None, *, code: str | None = None):
        self.wording: Message | Pair = wording(de, en)
        super().__init__(self.wording.render("en"))
        if code:
            self.code = code

    @property
    def de(self) -> str:
        return self.wording.render("de")

    @property
    def en(self) -> str:
        return self.wording.render("en")

    def message(self, lang: str = "de") -> str:
        return self.wording.render(lang)


class KennzeichenError(CadastreError):
    """The text is not a parcel reference we can read."""

    code = "invalid-parcel-key"
