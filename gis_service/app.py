"""create_app(settings): wires the source, the parcel and preview services and the blueprints."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from cadastre.errors import CadastreError
from gis_service.config import (
    PROJECT_ROOT,
    ConfigError,
    LocalSourceSettings,
    Settings,
    UpstreamSourceSettings,
    load_settings,
)
from gis_service.errors import ApiError
from gis_service.i18n import choose_language, page_context
from gis_service.parcels import ParcelService
from gis_service.previews import build_previews
from wms_clients.base import CadastreSource
from wms_clients.local import LocalLayers, LocalSource, LocalSourceConfig

log = logging.getLogger(__name__)

# Requests larger than this are refused before any handler reads them.
MAX_CONTENT_LENGTH = 1024 * 1024


def build_source(settings: Settings) -> CadastreSource:
    source = settings.source
    if isinstance(source, LocalSourceSettings):
        return build_local_source(source)
    if isinstance(source, UpstreamSourceSettings):
        from gis_service.upstream import build_upstream_source

        fallback = build_local_source(source.fallback, "source.fallback") if source.fallback else None
        return build_upstream_source(settings, source, settings.instance_path or (PROJECT_ROOT / "instance"), fallback)
    raise ConfigError(f"source.type: unsupported source type {source.type!r}")


def build_local_source(source: LocalSourceSettings, where: str = "source") -> LocalSource:
    try:
        return LocalSource(
            LocalSourceConfig(
                dataset=source.dataset,
                fields=source.fields,
                address_fields=source.address_fields,
                layers=LocalLayers(**source.layers.model_dump()),
                attribution=source.attribution,
                gemarkung_names=source.gemarkungen,
                data_currency=source.data_currency,
                default_land=source.default_land,
                name=source.name,
            )
        )
    except CadastreError as exc:
        raise ConfigError(f"{where}.dataset: {exc.en}") from exc


def create_app(settings: Settings | None = None, source: CadastreSource | None = None) -> Flask:
    settings = settings or load_settings()
    instance_path = settings.instance_path or (PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config["SECRET_KEY"] = settings.secret_key or _instance_secret(Path(app.instance_path))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    source = source or build_source(settings)
    parcels = ParcelService(source, default_land=getattr(settings.source, "default_land", None))
    app.extensions["gis_settings"] = settings
    app.extensions["gis_source"] = source
    app.extensions["gis_parcels"] = parcels
    app.extensions["gis_previews"] = build_previews(settings, parcels, source, Path(app.instance_path))

    from gis_service.orders import init_app as init_orders
    from gis_service.web import api, demo, embed
    from gis_service.web.ogc import init_app as init_ogc

    for blueprint in (api.blueprint, embed.blueprint, demo.blueprint):
        app.register_blueprint(blueprint)
    init_orders(app, settings)
    init_ogc(app, settings)
    _register_error_handlers(app)
    _register_security_headers(app, settings)

    @app.get("/healthz")
    def healthz():
        info = source.info()
        return jsonify({"status": "ok", "source": info.name, "data_currency": info.data_currency})

    return app


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts.

    Several worker processes may start at once: the first to link its file in wins, and every
    worker reads that one, so a session made by one worker is valid in all.
    """
    path = instance / "secret_key"
    if not path.exists():
        candidate = instance / f".secret_key.{os.getpid()}"
        candidate.write_text(secrets.token_hex(32))
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
        and not request.path.startswith("/embed")
    )


def problem_response(status: int, title: str, detail: str, code: str, headers: dict | None = None):
    response = jsonify({"type": f"about:blank#{code}", "title": title, "status": status, "detail": detail, "code": code})
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_TITLES = {
    400: ("Ungültige Anfrage", "Bad request"),
    404: ("Nicht gefunden", "Not found"),
    405: ("Methode nicht erlaubt", "Method not allowed"),
    413: ("Anfrage zu groß", "Request too large"),
    500: ("Interner Fehler", "Internal error"),
    503: ("Dienst vorübergehend nicht verfügbar", "Service temporarily unavailable"),
}


def _title(status: int, lang: str) -> str:
    de, en = _TITLES.get(status, ("Fehler", "Error"))
    return en if lang == "en" else de


def _register_error_handlers(app: Flask) -> None:
    from flask import render_template

    def render_error(status: int, message: str, code: str, headers: dict | None = None):
        lang = choose_language()
        if wants_json():
            return problem_response(status, _title(status, lang), message, code, headers)
        html = render_template("error.html", status=status, title=_title(status, lang), message=message, **page_context(lang))
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


def _register_security_headers(app: Flask, settings: Settings) -> None:
    allowed = " ".join(settings.embed.allowed_origins)

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


__all__ = ["create_app", "build_source", "ApiError"]
