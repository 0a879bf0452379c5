"""German-first texts of the pages with their English versions, and the choice of language per request."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from cadastre.kennzeichen import quote_alternatives
from gis_service.orders.texts import ORDER_TEXTS
from gis_service.web.accessibility_texts import A11Y_TEXTS
from gis_service.web.verify_texts import VERIFY_TEXTS

LANGUAGES = ("de", "en")

TEXTS: dict[str, dict[str, str]] = {
    "site_title": {"de": "Liegenschaftskarte online", "en": "Cadastral map online"},
    "too_many_requests": {"de": "Zu viele Anfragen in kurzer Zeit. Bitte versuchen Sie es in {wait} erneut.",
                          "en": "Too many requests in a short time. Please try again in {wait}."},
    "wait_seconds": {"de": "{n} Sekunden", "en": "{n} seconds"},
    "wait_minutes": {"de": "{n} Minuten", "en": "{n} minutes"},
    "skip_to_content": {"de": "Zum Inhalt springen", "en": "Skip to content"},
    "language_switch": {"de": "English", "en": "Deutsch"},
    "language_switch_label": {"de": "Switch to English", "en": "Auf Deutsch wechseln"},
    "search_heading": {"de": "Flurstück suchen", "en": "Find a parcel"},
    # search_intro takes the examples of the configured data (search_help), or the neutral hints
    "search_intro": {"de": "Suchen Sie nach Adresse{address} oder nach Flurstück{parcel}.",
                     "en": "Search by address{address} or by parcel{parcel}."},
    "search_example": {"de": " (z. B. {examples})", "en": " (e.g. {examples})"},
    "search_hint_address": {"de": " (Straße und Hausnummer)", "en": " (street and house number)"},
    "search_hint_parcel": {"de": " (Gemarkung, Flur und Flurstücksnummer oder das 20-stellige Flurstückskennzeichen)",
                           "en": " (Gemarkung, Flur and parcel number, or the 20-character parcel key)"},
    "search_label": {"de": "Adresse oder Flurstück", "en": "Address or parcel"},
    "search_button": {"de": "Suchen", "en": "Search"},
    "results_heading": {"de": "Suchergebnis", "en": "Search results"},
    "results_count": {"de": "{n} Flurstücke gefunden.", "en": "{n} parcels found."},
    "results_count_one": {"de": "1 Flurstück gefunden.", "en": "1 parcel found."},
    "results_more": {"de": "Es werden die ersten {shown} von {n} gezeigt; bitte verfeinern Sie die Suche.",
                     "en": "Showing the first {shown} of {n}; please refine your search."},
    "results_none": {"de": "Kein Flurstück gefunden. Bitte prüfen Sie die Schreibweise.",
                     "en": "No parcel found. Please check the spelling."},
    # an address search that found nothing and was limited to an area (source.wfs.search_extent)
    "search_limited": {
        "de": "Die Adresssuche ist auf einen Ausschnitt beschränkt (Ost {minx}–{maxx}, Nord {miny}–{maxy}, "
              "ETRS89/UTM 32N); Adressen außerhalb werden nicht gefunden. Suchen Sie dort nach dem Flurstück "
              "oder wählen Sie es auf der Karte.",
        "en": "The address search is limited to an area (east {minx}–{maxx}, north {miny}–{maxy}, "
              "ETRS89/UTM 32N); addresses outside it are not found. Search there by parcel or choose it on the map.",
    },
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
    "preview_alt": {
        "de": "Vorschau der Liegenschaftskarte: {label}, Maßstab 1:{scale}, {paper} {orientation}. "
              "Das gewählte Flurstück ist orange umrandet und schraffiert.",
        "en": "Preview of the cadastral map: {label}, scale 1:{scale}, {paper} {orientation}. "
              "The chosen parcel has an orange outline and hatching.",
    },
    "preview_note": {"de": "Die Vorschau ist kein amtlicher Auszug.", "en": "The preview is not an official extract."},
    "select_button": {"de": "Dieses Flurstück auswählen", "en": "Select this parcel"},
    "selected_heading": {"de": "Flurstück ausgewählt", "en": "Parcel selected"},
    "selected_text": {"de": "Sie haben ausgewählt: {label}, Maßstab 1:{scale}, {paper} {orientation}.",
                      "en": "You selected: {label}, scale 1:{scale}, {paper} {orientation}."},
    "back_to_search": {"de": "Neue Suche", "en": "New search"},
    "error_reference": {"de": "Nennen Sie bei Rückfragen diese Kennung:", "en": "If you contact us, quote this reference:"},
    "back_to_preview": {"de": "Zurück zur Vorschau", "en": "Back to the preview"},
    "download_pdf": {"de": "Vorschau als PDF (A4/A3 in Originalgröße)", "en": "Preview as PDF (true paper size)"},
    "key": {"de": "Flurstückskennzeichen", "en": "Parcel key"},
    "error_heading": {"de": "Das hat nicht geklappt", "en": "That did not work"},
    "attribution": {"de": "Datenquelle", "en": "Data source"},
    "data_currency": {"de": "Datenstand", "en": "Data as of"},
}

# --- the map picker and the demo host page (issue 5) ---
TEXTS.update({
    "map_heading": {"de": "Auf der Karte auswählen", "en": "Choose on the map"},
    "map_help_pointer": {
        "de": "Klicken oder tippen Sie auf ein Flurstück, um es auszuwählen. Der blaue Rahmen zeigt den "
              "Druckbereich; verschieben Sie ihn am Rand oder am runden Griff an seiner oberen Kante.",
        "en": "Click or tap a parcel to choose it. The blue frame shows the print area; move it by its "
              "edge or by the round handle on its top edge.",
    },
    "map_help_keys": {
        "de": "Mit der Tastatur: Gehen Sie mit der Tabulatortaste auf die Karte. Pfeiltasten verschieben die "
              "Karte, Plus und Minus zoomen, die Eingabetaste wählt das Flurstück unter dem Fadenkreuz, "
              "Umschalttaste mit Pfeiltaste verschiebt den Druckbereich.",
        "en": "With the keyboard: tab to the map. The arrow keys move the map, plus and minus zoom, Enter "
              "chooses the parcel under the crosshair, Shift with an arrow key moves the print area.",
    },
    "map_label": {"de": "Liegenschaftskarte", "en": "Cadastral map"},
    "map_zoom_in": {"de": "Karte vergrößern", "en": "Zoom in"},
    "map_zoom_out": {"de": "Karte verkleinern", "en": "Zoom out"},
    "map_none_yet": {"de": "Noch kein Flurstück ausgewählt.", "en": "No parcel chosen yet."},
    "map_selected": {"de": "Ausgewählt: {description}", "en": "Chosen: {description}"},
    "map_no_parcel_here": {"de": "An dieser Stelle liegt kein Flurstück.", "en": "There is no parcel at this point."},
    "map_searching": {"de": "Flurstück wird gesucht …", "en": "Looking for the parcel …"},
    "map_error": {"de": "Das hat nicht geklappt: {detail}", "en": "That did not work: {detail}"},
    "map_error_network": {"de": "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es erneut.",
                          "en": "The service cannot be reached just now. Please try again."},
    "map_load_error": {"de": "Die Karte konnte nicht geladen werden.", "en": "The map could not be loaded."},
    "frame_controls": {"de": "Druckbereich verschieben", "en": "Move the print area"},
    "frame_north": {"de": "Nach Norden", "en": "North"},
    "frame_south": {"de": "Nach Süden", "en": "South"},
    "frame_west": {"de": "Nach Westen", "en": "West"},
    "frame_east": {"de": "Nach Osten", "en": "East"},
    "frame_centre": {"de": "Auf das Flurstück zentrieren", "en": "Centre on the parcel"},
    "frame_moved": {"de": "Druckbereich verschoben.", "en": "Print area moved."},
    "panel_heading": {"de": "Papier, Maßstab und Vorschau", "en": "Paper, scale and preview"},
    "preview_loading": {"de": "Die Vorschau wird aktualisiert …", "en": "Updating the preview …"},
    "suggestions_label": {"de": "Vorschläge", "en": "Suggestions"},
    "suggestions_count": {"de": "{n} Vorschläge. Mit den Pfeiltasten auswählen.",
                          "en": "{n} suggestions. Use the arrow keys to choose."},
    "suggestions_one": {"de": "1 Vorschlag. Mit der Pfeiltaste auswählen.", "en": "1 suggestion. Use the arrow key to choose."},
    "suggestions_none": {"de": "Keine Vorschläge.", "en": "No suggestions."},
    "demo_title": {"de": "Online-Formular (Demo): Auszug aus der Liegenschaftskarte beantragen",
                   "en": "Online form (demo): apply for an extract of the cadastral map"},
    "demo_intro": {
        "de": "Diese Seite spielt das Online-Formular einer Gemeinde. Sie bettet die Flurstücksauswahl ein "
              "und übernimmt die Auswahl, die sie von ihr erhält, in die Felder unten.",
        "en": "This page plays a municipality's online form. It embeds the parcel picker and copies the "
              "choice it receives from it into the fields below.",
    },
    "demo_step_picker": {"de": "Schritt 1: Flurstück wählen", "en": "Step 1: choose the parcel"},
    "demo_frame_title": {"de": "Flurstücksauswahl", "en": "Parcel picker"},
    "demo_received_heading": {"de": "Schritt 2: Übernommene Angaben", "en": "Step 2: details taken over"},
    "demo_nothing_yet": {"de": "Noch keine Auswahl empfangen.", "en": "No choice received yet."},
    "demo_received": {"de": "Auswahl empfangen: {label}", "en": "Choice received: {label}"},
    "demo_preview_link": {"de": "Vorschau", "en": "Preview"},
    "demo_center": {"de": "Mittelpunkt (EPSG:25832)", "en": "Centre (EPSG:25832)"},
    "demo_log_heading": {"de": "Empfangene Nachrichten", "en": "Messages received"},
    "demo_log_ignored": {"de": "ignoriert, Herkunft nicht erlaubt: {origin}", "en": "ignored, origin not allowed: {origin}"},
    "demo_no_js": {"de": "Diese Demo braucht JavaScript, um die Auswahl zu übernehmen.",
                   "en": "This demo needs JavaScript to take over the choice."},
    "demo_order_number": {"de": "Bestellnummer", "en": "Order number"},
    "demo_order_status": {"de": "Stand der Bestellung", "en": "Order status"},
    "demo_order_link": {"de": "Statusseite der Bestellung", "en": "Status page of the order"},
    "demo_order_received": {"de": "Bestellung übernommen: {number}", "en": "Order taken over: {number}"},
})

# The preview viewer (templates/embed/_viewer.html, frontend/src/viewer.js).
TEXTS.update({
    "viewer_heading": {"de": "Vorschau in Originalgröße", "en": "Preview at true size"},
    "viewer_help": {"de": "Bei 100 % entspricht die Vorschau auf den meisten Bildschirmen etwa dem Papier. Vergrößern und "
                          "verkleinern Sie mit den Knöpfen, mit Plus und Minus oder mit zwei Fingern; verschieben Sie mit "
                          "den Pfeilknöpfen, den Pfeiltasten oder durch Wischen.",
                    "en": "At 100 % the preview is about the size of the paper on most screens. Zoom with the buttons, "
                          "with plus and minus or with two fingers; move it with the arrow buttons, the arrow keys or by "
                          "swiping."},
    "viewer_toolbar": {"de": "Vorschau vergrößern und verschieben", "en": "Zoom and move the preview"},
    "viewer_zoom_in": {"de": "Vorschau vergrößern", "en": "Zoom into the preview"},
    "viewer_zoom_out": {"de": "Vorschau verkleinern", "en": "Zoom out of the preview"},
    "viewer_level": {"de": "Vergrößerung", "en": "Zoom level"},
    "viewer_fit": {"de": "Ganze Seite", "en": "Whole page"},
    "viewer_real": {"de": "Originalgröße", "en": "True size"},
    "viewer_fullscreen": {"de": "Vollbild", "en": "Full screen"},
    "viewer_pan": {"de": "Ausschnitt verschieben", "en": "Move the view"},
    "viewer_pan_left": {"de": "Vorschau nach links", "en": "Preview to the left"},
    "viewer_pan_right": {"de": "Vorschau nach rechts", "en": "Preview to the right"},
    "viewer_pan_up": {"de": "Vorschau nach oben", "en": "Preview up"},
    "viewer_pan_down": {"de": "Vorschau nach unten", "en": "Preview down"},
    "viewer_pane": {"de": "Vorschau der Seite", "en": "Preview of the page"},
    "viewer_caption": {"de": "{label}, Maßstab 1:{scale}, DIN {paper} {orientation}. Das Flurstück ist orange umrandet; "
                             "die Vorschau ist kein amtlicher Auszug.",
                       "en": "{label}, scale 1:{scale}, {paper} {orientation}. The parcel is outlined in orange; the "
                             "preview is not an official extract."},
    "viewer_pdf_open": {"de": "Vorschau als PDF öffnen", "en": "Open the preview as PDF"},
    "viewer_pdf_download": {"de": "PDF herunterladen", "en": "Download the PDF"},
    "new_window": {"de": "(öffnet ein neues Fenster)", "en": "(opens a new window)"},
})

# The fee on the order options page, updated while the citizen changes the options (frontend/src/fee.js).
TEXTS.update({
    "fee_live_now": {"de": "Die Gebühr beträgt jetzt {total}.", "en": "The fee is now {total}."},
})

# The order pages' texts live beside the order code; pages look every text up here.
TEXTS.update({key: value for key, value in ORDER_TEXTS.items() if key not in TEXTS})
TEXTS.update(A11Y_TEXTS)  # the accessibility statement's (web/accessibility.py)
TEXTS.update(VERIFY_TEXTS)  # the verification pages' (web/verify.py)


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


def text(key: str, lang: str, **values) -> str:
    entry = TEXTS[key]
    template = entry.get(lang) or entry["de"]
    return template.format(**values) if values else template


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
