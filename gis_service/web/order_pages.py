"""What the citizen's order pages share: their blueprint, the language of a page, rendering, the host page's context."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, url_for

from catalogues import N_
from gis_service.orders import lifecycle as lc
from gis_service.orders.errors import OrderValidationError
from gis_service.orders.products import format_money
from gis_service.orders.installation import Orders
from gis_service.web.i18n import choose_language, page_context

# One blueprint for the order steps (web/orders.py) and the pages of an order (web/order_status.py).
blueprint = Blueprint("orders", __name__, url_prefix="/embed/order")

# Ids the templates build from a choice (t('order_delivery_' ~ d)), named here so that the extraction finds them.
CHOICE_TEXTS = (
    N_("order_delivery_download"), N_("order_delivery_download_details"), N_("order_delivery_post"),
    N_("order_delivery_post_details"), N_("order_payment_online"), N_("order_payment_online_details"),
    N_("order_payment_invoice"), N_("order_payment_invoice_details"),
)


def orders() -> Orders:
    return current_app.extensions["gis_orders"]


def page_lang(fallback: str | None = None) -> str:
    """The page's language (?lang= or the form's lang), else the fallback: a draft's or an order's own."""
    return choose_language(fallback or current_app.extensions["gis_settings"].default_language)


def _context(lang: str, **values) -> dict:
    context = page_context(lang)
    context.update({"errors": {}, "error": None})
    context.update(values)
    context["money"] = lambda cents, currency="EUR": format_money(cents, lang, currency)
    context["status_text"] = lambda status: lc.status_text(status, lang)
    context["products"] = orders().catalogue.products
    return context


def errors_by_field(error: OrderValidationError | None, lang: str) -> dict[str, str]:
    if error is None:
        return {}
    result: dict[str, str] = {}
    for item in error.errors:
        result.setdefault(item.field, item.message(lang))
    return result


def render(template: str, lang: str, status: int = 200, **values) -> Response:
    response = Response(render_template(template, **_context(lang, **values)), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def status_redirect(number: str, token: str, lang: str, **extra):
    """303 to an order's status page (after a POST, or from a page that has nothing left to show)."""
    return redirect(url_for("orders.status", number=number, t=token, lang=lang, **extra), 303)


@blueprint.app_context_processor
def _embed_context():
    settings = current_app.extensions.get("gis_settings")
    if settings is None or "gis_orders" not in current_app.extensions:
        return {"orders_embed": {"enabled": False, "allowed_origins": [], "form_server": False}}
    return {"orders_embed": {"enabled": True, "allowed_origins": settings.embed.allowed_origins,
                             "form_server": settings.orders.form_server.enabled}}
