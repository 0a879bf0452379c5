"""Domain errors that carry a person-readable message in German and English."""

from __future__ import annotations


class CadastreError(ValueError):
    """An error a citizen can act on; `de` and `en` are complete sentences."""

    code = "invalid-input"

    def __init__(self, de: str, en: str, *, code: str | None = None):
        super().__init__(en)
        self.de = de
        self.en = en
        if code:
            self.code = code

    def message(self, lang: str = "de") -> str:
        return self.en if lang == "en" else self.de


class KennzeichenError(CadastreError):
    """The text is not a parcel reference we can read."""

    code = "invalid-parcel-key"
