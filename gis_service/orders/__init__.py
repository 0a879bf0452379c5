"""Orders: products and fees, lifecycle, payment, fulfilment, staff back office, data protection, handover."""

from __future__ import annotations


def init_app(app, settings) -> None:
    """Wire the order process into the Flask app (the only place here that knows Flask)."""
    from datetime import timedelta

    from gis_service.i18n import TEXTS
    from gis_service.orders.texts import ORDER_TEXTS
    from gis_service.orders.wiring import build_orders
    from gis_service.orders.worker import OrderWorker
    from gis_service.web import orders as order_pages
    from gis_service.web import orders_api, staff

    if not settings.orders.enabled:
        return
    for key, value in ORDER_TEXTS.items():
        TEXTS.setdefault(key, value)
    previews = app.extensions.get("gis_previews")
    orders = build_orders(settings, app.instance_path, app.config["SECRET_KEY"],
                          app.extensions["gis_parcels"], app.extensions["gis_source"],
                          faces=getattr(previews, "faces", None))
    app.extensions["gis_orders"] = orders
    staff_settings = settings.orders.staff
    app.config.update(
        SESSION_COOKIE_NAME="gis_staff_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=staff_settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=staff_settings.session_minutes),
    )
    _guard_request_size(app, staff_settings.max_upload_mb * 1024 * 1024)
    app.register_blueprint(order_pages.blueprint)
    app.register_blueprint(orders_api.blueprint)
    app.register_blueprint(staff.blueprint)
    if settings.orders.worker.enabled:
        orders.worker = OrderWorker(orders.service, settings.orders.worker.interval_seconds)
        orders.worker.start()


def _guard_request_size(app, upload_limit: int) -> None:
    """Refuse oversized bodies before anyone reads them.

    The shared error page asks request.form for ?lang, which would read the oversized body
    again and turn the 413 into a 500; an empty form is set first so the page can be shown.
    """
    from flask import request
    from werkzeug.datastructures import ImmutableMultiDict
    from werkzeug.exceptions import RequestEntityTooLarge

    @app.before_request
    def _oversized_body_guard():
        if request.endpoint == "staff.act" and (request.view_args or {}).get("action") == "attach":
            request.max_content_length = upload_limit
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            request.form = ImmutableMultiDict()
            request.files = ImmutableMultiDict()
            raise RequestEntityTooLarge()
