"""The public verification pages: /verify (type a code) and /verify/<code> (the extract's record, and whether a file is it)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from catalogues import msg
from gis_service.config import VerificationSettings
from gis_service.errors import ApiError
from gis_service.orders import issuing
from gis_service.orders import verification as codes
from gis_service.web.i18n import LANGUAGES, page_context, text
from gis_service.web.limits import limited, per_address

blueprint = Blueprint("verify", __name__, url_prefix="/verify")
# The same record for software (a notary's or a bank's system reading the QR code); documented in web/openapi.py.
api_blueprint = Blueprint("verify_api", __name__, url_prefix="/api/v1/verifications")
RATE = per_address("verifications_per_address")


@blueprint.app_template_filter("verification_code")
def _printed(canonical: str) -> str:
    """A stored code as printed on the extract (the status page and the staff detail show it)."""
    return codes.formatted(canonical)


def _lang() -> str:
    """?lang= first; else, unlike the embedded pages, the browser's language: a recipient anywhere opens this link."""
    if request.args.get("lang") in LANGUAGES:
        return request.args["lang"]
    best = request.accept_languages.best_match(LANGUAGES) if request.accept_languages else None
    # Never the form's lang (choose_language would read it): the file check's body is read by its own rule.
    return best or current_app.extensions["gis_settings"].default_language


def _page(template: str, lang: str, status: int = 200, **values) -> Response:
    context = page_context(lang)
    context.update(values)
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    # The record can change (withdrawn) at any time, and a file check's answer is for this visitor alone.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Vary"] = "Accept-Language"
    return response


def _settings() -> VerificationSettings:
    return current_app.extensions["gis_settings"].orders.verification


def _max_upload_bytes() -> int:
    return _settings().max_upload_mb * 1024 * 1024


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
        error = text("verify_code_missing", lang) if not typed else text("verify_code_malformed", lang)
        return _page("verify/lookup.html", lang, 400, typed=typed, error=error)
    return redirect(url_for("verify.record", code=codes.formatted(code), lang=lang), 303)


@blueprint.get("/<code>")
@limited(RATE)
def record(code: str):
    lang = _lang()
    found = _record(code)
    if found is None:
        return _unknown(code, lang)
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
        return _unknown(code, lang)
    upload = request.files.get("pdf")
    if upload is None or not upload.filename or sink.size == 0:
        return _record_page(found, lang, 400, file_error=text("verify_file_missing", lang))
    name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120]
    return _record_page(found, lang, file_result={"name": name, "match": sink.hexdigest() == found.sha256,
                                                  "sha256": sink.hexdigest()})


@api_blueprint.get("/<code>")
@limited(RATE)
def record_json(code: str):
    found = _record(code)
    if found is None:
        raise ApiError(msg("verify_no_extract_was_issued_under_this"), status=404, code="verification-not-found")
    response = jsonify({**found.as_dict(), "page": url_for("verify.record", code=found.code, _external=True)})
    response.headers["Cache-Control"] = "no-store"
    return response


def _unknown(code: str, lang: str) -> Response:
    """No extract has this code (or it is none): a page that says so, with the form to try again, and a 404."""
    return _page("verify/lookup.html", lang, 404, typed=code[:200], error=None, unknown=True)


def _record_page(found: issuing.VerificationRecord, lang: str, status: int = 200, **values) -> Response:
    orders = current_app.extensions["gis_orders"]
    product = orders.catalogue.get(found.product_id)
    return _page("verify/record.html", lang, status, record=found,
                 product_label=product.name.get(lang) if product else found.product_name,
                 issued=_date(found.issued_on, lang), withdrawn=_date(found.withdrawn_on, lang),
                 currency=_date(found.data_currency, lang), max_upload_mb=_settings().max_upload_mb,
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
