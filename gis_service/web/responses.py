"""What every response shares: problem+json and HTML error pages, security headers, and headers told from results."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from cadastre.errors import CadastreError
from gis_service.map_faces import MapSource
from gis_service.web.i18n import choose_language, page_context

log = logging.getLogger(__name__)

_TITLES = {
    400: ("Ungültige Anfrage", "Bad request"),
    404: ("Nicht gefunden", "Not found"),
    405: ("Methode nicht erlaubt", "Method not allowed"),
    410: ("Nicht mehr verfügbar", "No longer available"),
    413: ("Anfrage zu groß", "Request too large"),
    500: ("Interner Fehler", "Internal error"),
    503: ("Dienst vorübergehend nicht verfügbar", "Service temporarily unavailable"),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
        and not request.path.startswith("/embed")
    )


def problem_response(status: int, title: str, detail: str, code: str, headers: dict | None = None) -> Response:
    response = jsonify({"type": f"about:blank#{code}", "title": title, "status": status, "detail": detail, "code": code})
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_title(status: int, lang: str) -> str:
    de, en = _TITLES.get(status, ("Fehler", "Error"))
    return en if lang == "en" else de


def tell_map_source(response: Response, source: MapSource, *, parcel_origin: str | None = None,
                    max_age: int = 300) -> Response:
    """X-Map-Source (and X-Data-Source) from where the map came from; a stand-in is never cached."""
    response.headers["X-Map-Source"] = source.header()
    if parcel_origin:
        response.headers["X-Data-Source"] = parcel_origin
    degraded = source.degraded or parcel_origin == "fallback"
    response.headers["Cache-Control"] = "no-store" if degraded else f"public, max-age={max_age}"
    return response


def tell_data_source(response: Response, origins) -> Response:
    """X-Data-Source: fallback when any record came from the fallback dataset (then never cached)."""
    if "fallback" in origins:
        response.headers["X-Data-Source"] = "fallback"
        response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    def render_error(status: int, message: str, code: str, headers: dict | None = None):
        lang = choose_language()
        if wants_json():
            return problem_response(status, status_title(status, lang), message, code, headers)
        html = render_template("error.html", status=status, title=status_title(status, lang), message=message,
                               **page_context(lang))
        return html, status, headers or {}

    @app.errorhandler(CadastreError)
    def handle_cadastre_error(error: CadastreError):
        lang = choose_language()
        status = getattr(error, "status", 400)
        return render_error(status, error.message(lang), error.code, getattr(error, "headers", None))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        lang = choose_language()
        messages = {
            404: ("Diese Adresse gibt es hier nicht.", "There is nothing at this address."),
            405: ("Diese Methode ist hier nicht erlaubt.", "This method is not allowed here."),
            413: ("Die Anfrage ist zu groß.", "The request is too large."),
        }
        de, en = messages.get(error.code or 400, (error.description or "Ungültige Anfrage.", error.description or "Bad request."))
        return render_error(error.code or 400, en if lang == "en" else de, f"http-{error.code}")

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s", request.path)
        lang = choose_language()
        message = ("Es ist ein unerwarteter Fehler aufgetreten. Bitte versuchen Sie es später erneut."
                   if lang != "en" else "An unexpected error occurred. Please try again later.")
        return render_error(500, message, "internal-error")


def register_security_headers(app: Flask, allowed_origins: list[str]) -> None:
    allowed = " ".join(allowed_origins)

    @app.after_request
    def security_headers(response):
        # A blueprint may have set the rest of the policy (script-src …); frame-ancestors is decided here.
        policy = response.headers.get("Content-Security-Policy", "")
        if request.path.startswith("/embed"):
            ancestors = f"frame-ancestors 'self' {allowed}" if allowed else "frame-ancestors 'self'"
            kept = [d.strip() for d in policy.split(";") if d.strip() and not d.strip().startswith("frame-ancestors")]
            response.headers["Content-Security-Policy"] = "; ".join([*kept, ancestors])
        elif "frame-ancestors" not in policy:
            response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'" if policy else "frame-ancestors 'none'"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response


def file_response(store, document) -> Response:
    """A stored order document as a download (citizen and staff pages alike), never cached by others."""
    response = Response(store.read(document.storage_name), mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{_ascii_name(document.filename)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ascii_name(name: str) -> str:
    folded = name.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("Ä", "Ae").replace("Ö", "Oe") \
        .replace("Ü", "Ue").replace("ß", "ss")
    return re.sub(r"[^A-Za-z0-9._-]", "_", folded)[:120] or "datei"
