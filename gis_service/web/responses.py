"""What every response shares: problem+json and HTML error pages, security headers, and headers told from results."""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException
from werkzeug.http import remove_entity_headers

from cadastre.errors import CadastreError
from catalogues import N_
from gis_service.config import Settings
from gis_service.map_faces import MapSource
from gis_service.request_context import current_request_id
from gis_service.web.i18n import choose_language, page_context, text

log = logging.getLogger(__name__)

_TITLES = {
    400: N_("status_title_400"),
    403: N_("status_title_403"),
    404: N_("status_title_404"),
    405: N_("status_title_405"),
    410: N_("status_title_410"),
    413: N_("status_title_413"),
    429: N_("status_title_429"),
    500: N_("status_title_500"),
    503: N_("status_title_503"),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/wmts/", "/tiles/")) or request.path in ("/healthz", "/readyz", "/metrics") or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
        and not request.path.startswith("/embed")
    )


def problem_response(status: int, title: str, detail: str, code: str, headers: dict | None = None,
                     **extra) -> Response:
    """An RFC 9457 problem+json answer; `extra` adds members such as the list of field errors."""
    body = {"type": f"about:blank#{code}", "title": title, "status": status, "detail": detail, "code": code, **extra}
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id  # what a caller quotes to the operator, who finds it in the log
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_title(status: int, lang: str) -> str:
    title = _TITLES.get(status, N_("status_title_other"))
    return text(title, lang)


def tell_map_source(response: Response, source: MapSource, *, parcel_origin: str | None = None,
                    max_age: int = 300) -> Response:
    """X-Map-Source (and X-Data-Source) from where the map came from; a stand-in is never cached."""
    response.headers["X-Map-Source"] = source.header()
    if parcel_origin:
        response.headers["X-Data-Source"] = parcel_origin
    degraded = source.degraded or parcel_origin == "fallback"
    response.headers["Cache-Control"] = "no-store" if degraded else f"public, max-age={max_age}"
    return response


def image_response(data: bytes, mimetype: str, source: MapSource, *, currency: str | None,
                   parcel_origin: str | None = None, max_age: int = 300, disposition: str | None = None,
                   etag: str | None = None) -> Response:
    """An image answer: where it came from, Cache-Control, ETag, and 304 for a client that has it already."""
    response = Response(data, mimetype=mimetype)
    if disposition:
        response.headers["Content-Disposition"] = disposition
    return conditional_image(response, source, currency=currency, parcel_origin=parcel_origin, max_age=max_age,
                             etag=etag)


def entity_tag(currency: str | None, digest: str) -> str:
    """An image's ETag: the data currency it shows, then the digest of what it is."""
    return f"{re.sub(r'[^A-Za-z0-9.]', '', currency or '') or 'undated'}-{digest}"


def already_held(currency: str | None, digest: str, *, max_age: int = 300) -> Response | None:
    """304 before any work, when the client holds the version a request names (its tag known without rendering)."""
    tag = entity_tag(currency, digest)
    if request.method not in ("GET", "HEAD") or not request.if_none_match.contains_weak(tag):
        return None
    response = Response(status=304)
    response.set_etag(tag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def conditional_image(response: Response, source: MapSource, *, currency: str | None,
                      parcel_origin: str | None = None, max_age: int = 300, etag: str | None = None) -> Response:
    """X-Map-Source and Cache-Control (tell_map_source), plus an ETag tied to the data currency: `"<currency>-<digest>"`.

    The tag names the Datenstand, so a new one never matches a tag of the old data; the digest is
    of the bytes (or the one the caller knows). If-None-Match with that tag answers 304 without a
    body. A stand-in (no-store) gets no tag: it must not be revalidated once the upstream is back.
    """
    tell_map_source(response, source, parcel_origin=parcel_origin, max_age=max_age)
    if response.headers["Cache-Control"] == "no-store":
        return response
    tag = entity_tag(currency, etag or hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.set_etag(tag)
    # Only If-None-Match: werkzeug's make_conditional (ranges, dates) costs a third of a cached tile's time.
    if request.method in ("GET", "HEAD") and request.if_none_match.contains_weak(tag):
        response.status_code = 304
        response.set_data(b"")
        remove_entity_headers(response.headers)
    return response


def tell_data_source(response: Response, origins) -> Response:
    """X-Data-Source: fallback when any record came from the fallback dataset (then never cached)."""
    if "fallback" in origins:
        response.headers["X-Data-Source"] = "fallback"
        response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, message: str, code: str, headers: dict | None = None):
    """problem+json for the API (and clients that ask for JSON), else the error page in the request's language."""
    lang = choose_language()
    # A Host outside TRUSTED_HOSTS leaves no URL adapter: the HTML page could not build its links.
    if wants_json() or request_ctx.url_adapter is None:
        return problem_response(status, status_title(status, lang), message, code, headers)
    html = render_template("error.html", status=status, title=status_title(status, lang), message=message,
                           request_id=current_request_id(), **page_context(lang))
    return html, status, headers or {}


def register_error_handlers(app: Flask) -> None:
    render_error = error_response

    @app.errorhandler(CadastreError)
    def handle_cadastre_error(error: CadastreError):
        lang = choose_language()
        status = getattr(error, "status", 400)
        return render_error(status, error.message(lang), error.code, getattr(error, "headers", None))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        lang = choose_language()
        messages = {404: N_("http_not_found"), 405: N_("http_method_not_allowed"), 413: N_("http_too_large")}
        if error.code in messages:
            message = text(messages[error.code], lang)
        else:  # Werkzeug's own description (English) where there is one
            message = error.description or text("http_bad_request", lang)
        return render_error(error.code or 400, message, f"http-{error.code}")

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error on %s", request.path)
        lang = choose_language()
        return render_error(500, text("internal_error", lang), "internal-error")


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def page_policy(settings: Settings) -> dict[str, str]:
    """The Content-Security-Policy of every HTML page, without frame-ancestors (decided per path).

    Forms post to ourselves only; the payment provider and the form server are listed because a
    form whose answer redirects there is checked against form-action too.
    """
    targets = ["'self'"]
    if settings.orders.enabled:
        form_server = settings.orders.form_server
        for url in (settings.orders.payment.base_url, form_server.postdata_url, form_server.form_url):
            origin = _origin(url)
            if origin and origin not in targets:
                targets.append(origin)
    return {
        "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data: blob:",
        "connect-src": "'self'", "font-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
        "form-action": " ".join(targets),
    }


# A page may widen these for itself (the demo host page frames the picker and shows its images);
# script-src, object-src, base-uri and form-action stay as the app decides.
_PAGE_MAY_SET = ("img-src", "frame-src", "connect-src", "style-src", "font-src", "frame-ancestors")


def _parse_policy(policy: str) -> dict[str, str]:
    directives = {}
    for item in policy.split(";"):
        name, _, value = item.strip().partition(" ")
        if name:
            directives[name.lower()] = value.strip()
    return directives


def register_security_headers(app: Flask, settings: Settings) -> None:
    allowed = " ".join(settings.embed.allowed_origins)
    base = page_policy(settings)
    # Over https, browsers are told to come back only over https (and the cookies are Secure).
    hsts = settings.served_over_https

    @app.after_request
    def security_headers(response):
        own = _parse_policy(response.headers.get("Content-Security-Policy", ""))
        if response.mimetype == "text/html":
            policy = dict(base)
            policy.update({name: value for name, value in own.items() if name in _PAGE_MAY_SET})
        else:
            policy = own
        if request.path.startswith("/embed"):
            policy["frame-ancestors"] = f"'self' {allowed}" if allowed else "'self'"
        else:
            policy.setdefault("frame-ancestors", "'none'")
        response.headers["Content-Security-Policy"] = "; ".join(f"{name} {value}" for name, value in policy.items())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
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
