"""create_app(settings): the Flask app over the services built by gis_service.wiring, with every blueprint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from gis_service.config import PROJECT_ROOT, Settings, load_settings
from gis_service.orders.worker import OrderWorker
from gis_service.time_budget import begin_shared_budget
from gis_service.web import accessibility, api, demo, embed, operations, orders_api, staff, tiles, verify
from gis_service.web import staff_feedback  # noqa: F401 - the feedback list joins the staff blueprint
from gis_service.web.ogc import mount as ogc_mount
from gis_service.web import orders as order_steps  # with web.order_status: the citizen pages of orders
from gis_service.web.i18n import init_babel
from gis_service.web.limits import apply_limits
from gis_service.web.request_log import register_request_log
from gis_service.web.responses import register_error_handlers, register_security_headers
from gis_service.wiring import Services, build_services
from wms_clients.base import CadastreSource

# Requests larger than this are refused before any handler reads them.
MAX_CONTENT_LENGTH = 1024 * 1024


def create_app(settings: Settings | None = None, source: CadastreSource | None = None) -> Flask:
    settings = settings or load_settings()
    services = build_services(settings, source)
    app = Flask(
        __name__,
        instance_path=str(services.instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config["SECRET_KEY"] = services.secret_key
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions.update({
        "gis_services": services,
        "gis_settings": settings,
        "gis_source": services.source,
        "gis_parcels": services.parcels,
        "gis_previews": services.previews,
    })

    init_babel(app)
    register_request_log(app, log_requests=settings.logging.requests)  # first: every later hook logs with the id
    for blueprint in (operations.blueprint, api.blueprint, embed.blueprint, demo.blueprint, accessibility.blueprint):
        app.register_blueprint(blueprint)
    if services.tiles is not None:
        app.extensions["gis_tiles"] = services.tiles
        app.register_blueprint(tiles.blueprint)
    if services.orders is not None:
        _add_orders(app, services)
    ogc_mount.init_app(app, settings)
    # After every blueprint: the limits the routes declared are given to the one limiter here.
    apply_limits(app, settings.limits.rate)
    register_error_handlers(app)
    register_security_headers(app, settings)
    _behind_proxies(app, settings)
    _share_one_upstream_budget_per_request(app)

    return app


def _add_orders(app: Flask, services: Services) -> None:
    orders = services.orders
    app.extensions["gis_orders"] = orders
    staff_settings = services.settings.orders.staff
    app.config.update(
        SESSION_COOKIE_NAME="gis_staff_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=services.settings.cookies_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=staff_settings.session_minutes),
    )
    _guard_request_size(app, staff_settings.max_upload_mb * 1024 * 1024,
                        services.settings.orders.verification.max_upload_mb * 1024 * 1024)
    for blueprint in (order_steps.blueprint, orders_api.blueprint, staff.blueprint, verify.blueprint,
                      verify.api_blueprint):
        app.register_blueprint(blueprint)
    worker = services.settings.orders.worker
    if worker.enabled:
        orders.worker = OrderWorker(orders.service, worker.interval_seconds)
        orders.worker.start()


def _behind_proxies(app: Flask, settings: Settings) -> None:
    """Scheme and host as the client used them, taken only from proxies that are known to be there."""
    hops = settings.server.trusted_proxies
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    base = settings.orders.public_base_url if settings.orders.enabled else None
    host = urlsplit(base).hostname if base else None
    if host:
        # External links (preview URLs for the form server, payment return) are built from the Host
        # header: only the public name is accepted, and loopback for the demo and the tests.
        app.config["TRUSTED_HOSTS"] = sorted({host, "localhost", "127.0.0.1", "::1", "[::1]"})


def _share_one_upstream_budget_per_request(app: Flask) -> None:
    """Every upstream call of one request (a WFS lookup and a GetMap) shares one time budget."""

    @app.before_request
    def _open_budget():
        g._gis_close_budget = begin_shared_budget()

    @app.teardown_request
    def _close_budget(_error):
        close = g.pop("_gis_close_budget", None)
        if close is not None:
            close()


def _guard_request_size(app: Flask, upload_limit: int, verify_limit: int) -> None:
    """Refuse oversized bodies before anyone reads them.

    The shared error page asks request.form for ?lang, which would read the oversized body
    again and turn the 413 into a 500; an empty form is set first so the page can be shown.
    """

    @app.before_request
    def _oversized_body_guard():
        if request.endpoint == "staff.act" and (request.view_args or {}).get("action") == "attach":
            request.max_content_length = upload_limit
        elif request.endpoint == "verify.check":  # a whole extract, hashed as it streams in (web/verify.py)
            request.max_content_length = verify_limit
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            request.form = ImmutableMultiDict()
            request.files = ImmutableMultiDict()
            raise RequestEntityTooLarge()
