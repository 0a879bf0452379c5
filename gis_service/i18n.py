"""German-first texts of the pages with their English versions, and the choice of language per request."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

LANGUAGES = ("de", "en")

TEXTS: dict[str, dict[str, str]] = {
    "site_title": {"de": "Liegenschaftskarte online", "en": "Cadastral map online"},
    "skip_to_content": {"de": "Zum Inhalt springen", "en": "Skip to content"},
    "language_switch": {"de": "English", "en": "Deutsch"},
    "language_switch_label": {"de": "Switch to English", "en": "Auf Deutsch wechseln"},
    "search_heading": {"de": "Flurstück suchen", "en": "Find a parcel"},
    "search_intro": {
        "de": "Suchen Sie nach Adresse (z. B. „Hauptstraße 12a“) oder nach Flurstück "
              "(z. B. „Gemarkung Lindenhagen Flur 1 Flurstück 123/4“ oder „05-9871-001-00123/0004“).",
        "en": "Search by address (e.g. “Hauptstraße 12a”) or by parcel "
              "(e.g. “Gemarkung Lindenhagen Flur 1 Flurstück 123/4” or “05-9871-001-00123/0004”).",
    },
    "search_label": {"de": "Adresse oder Flurstück", "en": "Address or parcel"},
    "search_button": {"de": "Suchen", "en": "Search"},
    "results_heading": {"de": "Suchergebnis", "en": "Search results"},
    "results_count": {"de": "{n} Flurstücke gefunden.", "en": "{n} parcels found."},
    "results_count_one": {"de": "1 Flurstück gefunden.", "en": "1 parcel found."},
    "results_more": {"de": "Es werden die ersten {shown} von {n} gezeigt; bitte verfeinern Sie die Suche.",
                     "en": "Showing the first {shown} of {n}; please refine your search."},
    "results_none": {"de": "Kein Flurstück gefunden. Bitte prüfen Sie die Schreibweise.",
                     "en": "No parcel found. Please check the spelling."},
    "results_ambiguous": {"de": "Mehrere Flurstücke passen. Bitte wählen Sie das richtige aus der Liste.",
                          "en": "Several parcels match. Please choose the right one from the list."},
    "parcel": {"de": "Flurstück", "en": "Parcel"},
    "area": {"de": "Fläche", "en": "Area"},
    "address": {"de": "Lage", "en": "Location"},
    "no_address": {"de": "ohne Adresse", "en": "no address"},
    "preview_heading": {"de": "Vorschau des Auszugs", "en": "Preview of the extract"},
    "choose_options": {"de": "Papier und Maßstab wählen", "en": "Choose paper and scale"},
    "paper": {"de": "Papierformat", "en": "Paper size"},
    "orientation": {"de": "Ausrichtung", "en": "Orientation"},
    "portrait": {"de": "Hochformat", "en": "Portrait"},
    "landscape": {"de": "Querformat", "en": "Landscape"},
    "scale": {"de": "Maßstab", "en": "Scale"},
    "update_preview": {"de": "Vorschau aktualisieren", "en": "Update preview"},
    "fits_yes": {"de": "Das Flurstück passt vollständig auf den Kartenausschnitt.",
                 "en": "The parcel fits wholly on the map."},
    "fits_no": {"de": "Achtung: Das Flurstück passt bei diesem Maßstab nicht vollständig auf den Kartenausschnitt.",
                "en": "Note: at this scale the parcel does not fit wholly on the map."},
    "fits_suggest": {"de": "Der größte Maßstab, bei dem es passt, ist 1:{scale}.",
                     "en": "The largest scale at which it fits is 1:{scale}."},
    "fits_none": {"de": "Es passt bei keinem angebotenen Maßstab; wenden Sie sich bitte an das Katasteramt.",
                  "en": "It fits at none of the scales offered; please contact the surveying office."},
    "preview_alt": {
        "de": "Vorschau der Liegenschaftskarte: {label}, Maßstab 1:{scale}, {paper} {orientation}. "
              "Das gewählte Flurstück ist gelb mit dunkler Umrandung hervorgehoben.",
        "en": "Preview of the cadastral map: {label}, scale 1:{scale}, {paper} {orientation}. "
              "The chosen parcel is highlighted in yellow with a dark outline.",
    },
    "preview_note": {"de": "Die Vorschau ist kein amtlicher Auszug.", "en": "The preview is not an official extract."},
    "select_button": {"de": "Dieses Flurstück auswählen", "en": "Select this parcel"},
    "selected_heading": {"de": "Flurstück ausgewählt", "en": "Parcel selected"},
    "selected_text": {"de": "Sie haben ausgewählt: {label}, Maßstab 1:{scale}, {paper} {orientation}.",
                      "en": "You selected: {label}, scale 1:{scale}, {paper} {orientation}."},
    "back_to_search": {"de": "Neue Suche", "en": "New search"},
    "back_to_preview": {"de": "Zurück zur Vorschau", "en": "Back to the preview"},
    "download_pdf": {"de": "Vorschau als PDF (A4/A3 in Originalgröße)", "en": "Preview as PDF (true paper size)"},
    "key": {"de": "Flurstückskennzeichen", "en": "Parcel key"},
    "error_heading": {"de": "Das hat nicht geklappt", "en": "That did not work"},
    "attribution": {"de": "Datenquelle", "en": "Data source"},
    "data_currency": {"de": "Datenstand", "en": "Data as of"},
}


def choose_language(default: str = "de") -> str:
    """?lang= wins, then Accept-Language, then the configured default."""
    wanted = request.args.get("lang") or request.form.get("lang") if request else None
    if wanted in LANGUAGES:
        return wanted
    if request and request.accept_languages:
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return default


def text(key: str, lang: str, **values) -> str:
    entry = TEXTS[key]
    template = entry.get(lang) or entry["de"]
    return template.format(**values) if values else template


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
