"""The choice of language per request (Flask-Babel's locale), and the page helpers over the gettext catalogues."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, request
from flask_babel import Babel, Domain, get_locale

import catalogues
from cadastre.kennzeichen import quote_alternatives

LANGUAGES = catalogues.LANGUAGES

# The text of a message id in a language, placeholders filled: the pages' name for the catalogues' lookup.
text = catalogues.text


class _CatalogueDomain(Domain):
    """Flask-Babel's gettext, ngettext and Jinja's _() read the same catalogues as mails and PDFs do."""

    def get_translations(self):
        locale = get_locale()
        return catalogues.translations(locale.language if locale else catalogues.DEFAULT_LANGUAGE)


def init_babel(app: Flask) -> None:
    """Flask-Babel with today's language choice (?lang=, form field lang, Accept-Language on the APIs) as locale."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", catalogues.DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(catalogues.DIRECTORY))
    babel = Babel(app, locale_selector=lambda: choose_language(current_app.extensions["gis_settings"].default_language))
    # Flask-Babel builds its domain from a name; ours reads the catalogues through the one framework-free loader
    babel.domain_instance = _CatalogueDomain(translation_directories=str(catalogues.DIRECTORY), domain=catalogues.DOMAIN)


def choose_language(default: str = "de") -> str:
    """?lang= (or a form field lang) wins; the APIs then follow Accept-Language; pages stay German.

    Pages live inside a German municipal form, so a browser set to English must not switch them
    on its own: the citizen (or the host form) asks for English with ?lang=en.
    """
    if not request:
        return default
    wanted = request.args.get("lang")
    if wanted is None and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # only form bodies: reading any other body here would re-read oversized uploads
        wanted = request.form.get("lang")
    if wanted in LANGUAGES:
        return wanted
    if request.path.startswith(("/api/", "/ogc", "/wmts/", "/tiles/", "/healthz", "/readyz", "/metrics")) and request.accept_languages:
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return default


def search_notice(result, lang: str) -> str | None:
    """The sentence for a SearchResult (gis_service.parcels) whose empty answer may come from the search's limit."""
    limit = result.search_limit
    if limit is None:
        return None
    minx, miny, maxx, maxy = (f"{v:.0f}" for v in limit.extent)
    return text("search_limited", lang, minx=minx, miny=miny, maxx=maxx, maxy=maxy)


def search_help(examples, lang: str) -> str:
    """The search intro with the examples of a SearchExamples (gis_service.parcels), hints for those missing."""
    address = (text("search_example", lang, examples=quote_alternatives([examples.address], lang))
               if examples.address else text("search_hint_address", lang))
    parcel = (text("search_example", lang, examples=quote_alternatives(examples.parcel, lang))
              if examples.parcel else text("search_hint_parcel", lang))
    return text("search_intro", lang, address=address, parcel=parcel)


def format_area(value: float | None, lang: str) -> str:
    """512.0 → "512 m²"; 0.3 → "0,3 m²" in German; thousands grouped the way each language does."""
    if value is None:
        return "–"
    decimals = 1 if value < 10 and value != int(value) else 0
    number = f"{value:,.{decimals}f}"
    if lang == "de":
        number = number.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{number} m²"


def page_context(lang: str) -> dict:
    """What every page template needs: the language, its texts and the link to the other language."""
    args = request.args.to_dict()
    args["lang"] = "en" if lang == "de" else "de"
    return {
        "lang": lang,
        "t": lambda key, **values: text(key, lang, **values),
        "switch_language_url": f"{request.path}?{urlencode(args)}",
        "format_area": lambda value: format_area(value, lang),
    }
