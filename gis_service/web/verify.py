"""The public verification pages: /verify (type a code) and /verify/<code> (the extract's record, and whether a file is it)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from gis_service.orders import issuing
from gis_service.orders import verification as codes
from gis_service.web.i18n import LANGUAGES, page_context, text
from gis_service.web.limits import limited, per_address

blueprint = Blueprint("verify", __name__, url_prefix="/verify")
RATE = per_address("verifications_per_address")

TEXTS: dict[str, dict[str, str]] = {
    "verify_title": {"de": "Auszug prüfen", "en": "Check an extract"},
    "verify_intro": {
        "de": "Jeder amtliche Auszug aus der Liegenschaftskarte trägt im Schriftfeld einen Prüfcode und einen QR-Code. "
              "Hier sehen Sie, was zu einem Prüfcode ausgestellt wurde, und können prüfen, ob eine PDF-Datei genau "
              "dieser Auszug ist.",
        "en": "Every official extract of the cadastral map carries a verification code and a QR code in its title "
              "block. Here you see what was issued under a code, and you can check whether a PDF file is exactly "
              "that extract."},
    "verify_code_label": {"de": "Prüfcode", "en": "Verification code"},
    "verify_code_hint": {"de": "15 Zeichen, wie auf dem Auszug gedruckt, z. B. 7K3QD-M9XRT-2BHVW; Groß- und "
                                "Kleinschreibung und Bindestriche sind egal.",
                         "en": "15 characters as printed on the extract, e.g. 7K3QD-M9XRT-2BHVW; upper or lower case "
                               "and dashes do not matter."},
    "verify_code_button": {"de": "Prüfcode nachschlagen", "en": "Look up the code"},
    "verify_code_missing": {"de": "Bitte geben Sie den Prüfcode ein.", "en": "Please enter the verification code."},
    "verify_code_malformed": {
        "de": "Das ist kein gültiger Prüfcode. Bitte vergleichen Sie die Eingabe Zeichen für Zeichen mit dem Auszug.",
        "en": "This is not a valid verification code. Please compare your entry with the extract character by "
              "character."},
    "verify_unknown_title": {"de": "Prüfcode nicht gefunden", "en": "Verification code not found"},
    "verify_unknown": {
        "de": "Zu diesem Prüfcode wurde kein Auszug ausgestellt. Bitte prüfen Sie die Eingabe; ein Auszug mit einem "
              "unbekannten Prüfcode ist nicht echt.",
        "en": "No extract was issued under this verification code. Please check your entry; an extract with an "
              "unknown verification code is not genuine."},
    "verify_record_title": {"de": "Auszug {code}", "en": "Extract {code}"},
    "verify_valid": {"de": "Gültig: Dieser Auszug wurde am {date} vom {office} ausgestellt.",
                     "en": "Valid: this extract was issued on {date} by {office}."},
    "verify_withdrawn": {"de": "Nicht mehr gültig seit {date}: {reason}",
                         "en": "No longer valid since {date}: {reason}"},
    "verify_reason_superseded": {"de": "Der Auszug wurde durch einen neu erstellten ersetzt.",
                                 "en": "The extract was replaced by a newly produced one."},
    "verify_reason_cancelled": {"de": "Die Bestellung wurde storniert.", "en": "The order was cancelled."},
    "verify_reason_rejected": {"de": "Die Bestellung wurde abgelehnt.", "en": "The order was rejected."},
    "verify_reason_refunded": {"de": "Die Bestellung wurde storniert und die Gebühr erstattet.",
                               "en": "The order was cancelled and the fee refunded."},
    "verify_facts": {"de": "Angaben zum ausgestellten Auszug", "en": "What was issued"},
    "verify_product": {"de": "Produkt", "en": "Product"},
    "verify_parcel": {"de": "Flurstück", "en": "Parcel"},
    "verify_key": {"de": "Flurstückskennzeichen", "en": "Parcel key"},
    "verify_scale": {"de": "Maßstab", "en": "Scale"},
    "verify_paper": {"de": "Papierformat", "en": "Paper"},
    "verify_currency": {"de": "Stand der Daten", "en": "Data as of"},
    "verify_issued": {"de": "Ausgestellt am", "en": "Issued on"},
    "verify_office": {"de": "Ausgestellt von", "en": "Issued by"},
    "verify_seal": {"de": "Elektronisches Siegel", "en": "Electronic seal"},
    "verify_sealed": {"de": "ja, die PDF-Datei ist mit dem Siegel des Amtes elektronisch gesiegelt",
                      "en": "yes, the PDF file carries the office's electronic seal"},
    "verify_unsealed": {"de": "nein, ausgestellt ohne elektronisches Siegel",
                        "en": "no, issued without an electronic seal"},
    "verify_sha256": {"de": "SHA-256 der ausgestellten PDF-Datei", "en": "SHA-256 of the issued PDF file"},
    "verify_size": {"de": "Dateigröße", "en": "File size"},
    "verify_bytes": {"de": "{n} Bytes", "en": "{n} bytes"},
    "verify_file_heading": {"de": "Ist meine Datei dieser Auszug?", "en": "Is my file this extract?"},
    "verify_file_intro": {
        "de": "Wählen Sie die PDF-Datei aus oder ziehen Sie sie auf das Feld. Ihr Browser berechnet ihre Prüfsumme "
              "(SHA-256) und vergleicht sie mit der des ausgestellten Auszugs; die Datei verlässt Ihren Rechner "
              "dabei nicht. Ohne JavaScript wird sie zum Vergleich an den Server gesendet und nicht gespeichert.",
        "en": "Choose the PDF file or drop it onto the field. Your browser computes its checksum (SHA-256) and "
              "compares it with that of the issued extract; the file does not leave your computer. Without "
              "JavaScript it is sent to the server for the comparison and not stored."},
    "verify_file_label": {"de": "PDF-Datei des Auszugs", "en": "PDF file of the extract"},
    "verify_file_button": {"de": "Datei prüfen", "en": "Check the file"},
    "verify_file_missing": {"de": "Bitte wählen Sie eine PDF-Datei aus.", "en": "Please choose a PDF file."},
    "verify_file_too_large": {"de": "Die Datei ist größer als {mb} MB und kann kein Auszug sein.",
                              "en": "The file is larger than {mb} MB and cannot be an extract."},
    "verify_file_working": {"de": "Die Datei wird geprüft …", "en": "Checking the file …"},
    "verify_file_match": {"de": "Die Datei „{name}“ ist genau der ausgestellte Auszug (SHA-256 stimmt überein).",
                          "en": "The file “{name}” is exactly the issued extract (the SHA-256 matches)."},
    "verify_file_match_withdrawn": {"de": "Die Datei „{name}“ ist genau dieser Auszug, der aber nicht mehr gültig ist.",
                                    "en": "The file “{name}” is exactly this extract, which is no longer valid."},
    "verify_file_mismatch": {
        "de": "Die Datei „{name}“ ist nicht der ausgestellte Auszug: Sie wurde verändert oder ist eine andere Datei "
              "(SHA-256 {sha256}).",
        "en": "The file “{name}” is not the issued extract: it was changed or is another file (SHA-256 {sha256})."},
    "verify_other_code": {"de": "Einen anderen Prüfcode nachschlagen", "en": "Look up another code"},
    "verify_privacy": {"de": "Diese Seite zeigt keine Angaben zur bestellenden Person.",
                       "en": "This page shows nothing about the person who ordered the extract."},
}


@blueprint.app_template_filter("verification_code")
def _printed(canonical: str) -> str:
    """A stored code as printed on the extract (the status page and the staff detail show it)."""
    return codes.formatted(canonical)


def _t(key: str, lang: str, **values) -> str:
    if key in TEXTS:
        entry = TEXTS[key]
        template = entry.get(lang) or entry["de"]
        return template.format(**values) if values else template
    return text(key, lang, **values)


def _lang() -> str:
    """?lang= first; else, unlike the embedded pages, the browser's language: a recipient anywhere opens this link."""
    if request.args.get("lang") in LANGUAGES:
        return request.args["lang"]
    best = request.accept_languages.best_match(LANGUAGES) if request.accept_languages else None
    # Never the form's lang (choose_language would read it): the file check's body is read by its own rule.
    return best or current_app.extensions["gis_settings"].default_language


def _page(template: str, lang: str, status: int = 200, **values) -> Response:
    context = page_context(lang)
    context["t"] = lambda key, **v: _t(key, lang, **v)
    context.update(values)
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    # The record can change (withdrawn) at any time, and a file check's answer is for this visitor alone.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Vary"] = "Accept-Language"
    return response


def _max_upload_bytes() -> int:
    return current_app.extensions["gis_settings"].orders.verification.max_upload_mb * 1024 * 1024


def _record(code_text: str) -> issuing.VerificationRecord | None:
    return issuing.find_record(current_app.extensions["gis_orders"].factory, code_text)


@blueprint.get("")
@limited(RATE)
def lookup():
    lang = _lang()
    typed = request.args.get("code")
    if typed is None:
        return _page("verify/lookup.html", lang, typed="", error=None)
    typed = typed.strip()[:200]
    code = codes.normalise(typed)
    if code is None:
        error = _t("verify_code_missing" if not typed else "verify_code_malformed", lang)
        return _page("verify/lookup.html", lang, 400, typed=typed, error=error)
    return redirect(url_for("verify.record", code=codes.formatted(code), lang=lang), 303)


@blueprint.get("/<code>")
@limited(RATE)
def record(code: str):
    lang = _lang()
    found = _record(code)
    if found is None:
        return _page("verify/lookup.html", lang, 404, typed=code[:200], error=None, unknown=True)
    return _record_page(found, lang)


@blueprint.post("/<code>")
@limited(RATE)
def check(code: str):
    """The server-side check for browsers without JavaScript: the upload is hashed as it streams in, never stored."""
    sink = _HashingSink()
    # Werkzeug writes each uploaded file into the stream this returns; ours keeps only the digest. Set
    # before anything reads the body.
    request._get_current_object()._get_file_stream = lambda *args, **kwargs: sink  # type: ignore[method-assign]
    lang = _lang()
    found = _record(code)
    if found is None:
        return _page("verify/lookup.html", lang, 404, typed=code[:200], error=None, unknown=True)
    upload = request.files.get("pdf")
    if upload is None or not upload.filename or sink.size == 0:
        return _record_page(found, lang, 400, file_error=_t("verify_file_missing", lang))
    name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120]
    return _record_page(found, lang, file_result={"name": name, "match": sink.hexdigest() == found.sha256,
                                                  "sha256": sink.hexdigest()})


def _record_page(found: issuing.VerificationRecord, lang: str, status: int = 200, **values) -> Response:
    orders = current_app.extensions["gis_orders"]
    product = orders.catalogue.get(found.product_id)
    return _page("verify/record.html", lang, status, record=found,
                 product_label=product.name.get(lang) if product else found.product_name,
                 issued=_date(found.issued_on, lang), withdrawn=_date(found.withdrawn_on, lang),
                 currency=_date(found.data_currency, lang), max_upload_mb=_max_upload_bytes() // (1024 * 1024),
                 size=_number(found.size, lang), check_url=url_for("verify.check", code=found.code) + "?" +
                 urlencode({"lang": lang}), **values)


def _date(value, lang: str) -> str:
    if value is None or value == "":
        return "–"
    iso = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if len(iso) >= 10 and iso[4] == "-" and iso[7] == "-":
        year, month, day = iso[:4], iso[5:7], iso[8:10]
        return f"{day}.{month}.{year}" if lang == "de" else f"{year}-{month}-{day}"
    return iso


def _number(value: int, lang: str) -> str:
    return f"{value:,}".replace(",", "." if lang == "de" else ",")


class _HashingSink:
    """A write-only stand-in for a temporary file: takes an upload's bytes, keeps their SHA-256 and count."""

    def __init__(self):
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return len(data)

    def seek(self, *_args) -> int:
        return 0

    def read(self, *_args) -> bytes:
        return b""

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
