"""The citizen's order once placed: status, payment and its return, cancelling (confirmed), downloads, handover."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from flask import current_app, redirect, request, url_for

from catalogues import msg
from gis_service.errors import ApiError
from gis_service.orders import lifecycle as lc
from gis_service.orders.documents import current_document
from gis_service.orders.errors import ActionError, PaymentError
from gis_service.orders.handover import HandoverError, form_url_with_cache_id, post_selection
from gis_service.web.order_pages import blueprint, orders, page_lang, render, status_redirect
from gis_service.web.origins import server_origins
from gis_service.web.responses import file_response

log = logging.getLogger(__name__)


# --- status, payment, download ----------------------------------------------------------------------
def _citizen_order(number: str):
    """The order the token opens, with the token and the page's language (by default the order's own)."""
    o = orders()
    token = request.values.get("t", "")
    order = o.service.repository.for_citizen(number, token)
    return order, token, page_lang(order.lang)


@blueprint.get("/<number>")
def status(number: str):
    order, token, lang = _citizen_order(number)
    return _status_page(order, token, lang)


def _status_page(order, token: str, lang: str, message: str | None = None, status_code: int = 200):
    o = orders()
    settings = current_app.extensions["gis_settings"]
    product = o.catalogue.get(order.product_id)
    return render(
        "orders/status.html", lang, status_code, order=order, token=token, message=message,
        product_label=product.name.get(lang) if product else order.product_name,
        automatic_product=bool(product and product.fulfilment == "automatic"),
        received=request.args.get("received") == "1", confirmed=request.args.get("confirmed") == "1",
        confirm_hours=settings.orders.confirmation.expire_hours, from_payment=request.args.get("from") == "payment",
        last_payment=order.payments[-1] if order.payments else None,
        documents=order.current_documents, payable=order.payment_method == "online" and order.status in (
            lc.SUBMITTED, lc.AWAITING_PAYMENT),
        cancellable=order.status in lc.CITIZEN_CANCELLABLE,
        status_url=o.urls.status(order.order_number, token, lang),
        payment_target=settings.orders.payment.target,
        allowed_origins=settings.embed.allowed_origins,
        form_server=settings.orders.form_server.enabled,
        handover_message={"type": "gis-service:order-submitted", "order_number": order.order_number,
                          "status": order.status, "status_url": o.urls.status(order.order_number, token, lang)},
    )


# Payment providers refuse to be framed, so the payment page opens in the whole window (payment.target
# "_top"). The host page (the online form) may name the page to come back to (message
# gis-service:return-url; embed.js sends it as return_to, see docs/picker.md): after the payment the
# citizen is sent back there, with our page to show in its iframe in ?gis_service_page=. It is kept in
# a first-party cookie of the order's pages for the round trip.
RETURN_COOKIE = "gis_payment_return"
RETURN_COOKIE_SECONDS = 2 * 3600
# An A3 extract at 300 dpi takes about a second; the citizen waits at most this long for it.
PRODUCTION_WAIT_SECONDS = 8.0


def _return_target(url: str | None) -> str | None:
    """The host page to come back to, only on an origin allowed to embed us (never an open redirect)."""
    if not url or len(url) > 2000:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc or "\\" in url:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    allowed = {o.rstrip("/").lower() for o in current_app.extensions["gis_settings"].embed.allowed_origins}
    allowed |= server_origins(request.host_url)  # on loopback under both names (the demo)
    return url if origin in allowed else None


def _cookie_path(number: str) -> str:
    return url_for("orders.status", number=number)


@blueprint.get("/<number>/pay")
def pay(number: str):
    order, token, lang = _citizen_order(number)
    o = orders()
    if o.urls.base.lower() != request.host_url.rstrip("/").lower() and o.urls.base.lower() in server_origins(request.host_url):
        # On loopback the payment comes back under public_base_url's name: the way back is kept there.
        return redirect(o.urls.base + request.full_path, 303)
    try:
        url = o.service.payments.start_payment(order.order_number)
    except ActionError:
        return status_redirect(order.order_number, token, lang)
    except PaymentError as exc:
        log.warning("starting the payment of %s failed: %s", order.order_number, exc)
        return _status_page(o.service.repository.get(order.order_number), token, lang, exc.message(lang), 503)
    response = redirect(url, 303)
    back = _return_target(request.args.get("return_to"))
    path = _cookie_path(order.order_number)
    if back:
        response.set_cookie(RETURN_COOKIE, quote(back, safe=""), max_age=RETURN_COOKIE_SECONDS, path=path,
                            secure=request.is_secure or current_app.extensions["gis_settings"].cookies_secure, httponly=True, samesite="Lax")
    else:
        response.delete_cookie(RETURN_COOKIE, path=path)
    return response


@blueprint.get("/<number>/payment-return")
def payment_return(number: str):
    order, token, lang = _citizen_order(number)
    o = orders()
    try:
        order = o.service.payments.confirm_order(order.order_number)
    except PaymentError as exc:
        log.warning("confirming the payment of %s failed: %s", order.order_number, exc)
        return _status_page(order, token, lang, exc.message(lang), 503)
    if order.status in (lc.PAID, lc.IN_PROGRESS) and order.handling == "automatic":
        # The citizen waits for the download; the worker would do it too, but later.
        if o.service.production.fulfil(order.order_number) in ("busy", "skipped"):
            # Another worker (or the payment notification) is producing it right now: wait a
            # little for it, since these pages have no script to refresh themselves.
            _wait_for_production(o, order.order_number, seconds=PRODUCTION_WAIT_SECONDS)
    status_url = url_for("orders.status", number=order.order_number, t=token, lang=lang, **{"from": "payment"})
    back = _return_target(unquote(request.cookies.get(RETURN_COOKIE, "")))
    if not back:
        return redirect(status_url, 303)
    # Back to the online form, which shows our status page in its iframe again.
    page = f"{o.urls.status(order.order_number, token, lang)}&from=payment"
    parts = urlsplit(back)
    query = "&".join(filter(None, [parts.query, urlencode({"gis_service_page": page})]))
    response = redirect(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), 303)
    response.delete_cookie(RETURN_COOKIE, path=_cookie_path(order.order_number))
    return response


def _wait_for_production(o, number: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = o.service.repository.get(number)
        if current.status != lc.IN_PROGRESS or current.attention:
            return
        time.sleep(0.2)


# Cancelling takes two steps, so that a single click (or a stray Enter) never closes an order: the
# first shows what would be cancelled and asks, only the confirmation's POST cancels.
@blueprint.get("/<number>/cancel")
def cancel_confirmation(number: str):
    order, token, lang = _citizen_order(number)
    if order.status not in lc.CITIZEN_CANCELLABLE:
        return status_redirect(order.order_number, token, lang)
    product = orders().catalogue.get(order.product_id)
    return render("orders/cancel.html", lang, order=order, token=token,
                  product_label=product.name.get(lang) if product else order.product_name,
                  payment_started=bool(order.payments))


@blueprint.post("/<number>/cancel")
def cancel(number: str):
    order, token, lang = _citizen_order(number)
    if request.form.get("confirm") != "yes":
        # Not from the confirmation (an old page, a script): ask first.
        return redirect(url_for("orders.cancel_confirmation", number=order.order_number, t=token, lang=lang), 303)
    o = orders()
    try:
        o.service.actions.cancel(order.order_number, "citizen", None, request.form.get("reason", "")[:500] or None,
                                 citizen=True)
    except ApiError as exc:
        current = o.service.repository.get(order.order_number)
        return _status_page(current, token, lang, exc.message(lang), exc.status)
    return status_redirect(order.order_number, token, lang)


# The link of the confirmation mail (invoice orders, orders/confirmation.py) shows a page; only its POST
# confirms, so that a mail scanner opening the link confirms nothing.
@blueprint.get("/<number>/confirm")
def confirm_page(number: str):
    o = orders()
    token = request.args.get("c", "")
    order = o.service.confirmation.order_for(number, token)
    lang = page_lang(order.lang)
    if not order.awaiting_confirmation or order.status in lc.CLOSED:
        return status_redirect(order.order_number, o.service.tokens.for_order(order), lang)
    product = o.catalogue.get(order.product_id)
    return render("orders/confirm.html", lang, order=order, confirmation_token=token,
                  product_label=product.name.get(lang) if product else order.product_name)


@blueprint.post("/<number>/confirm")
def confirm(number: str):
    o = orders()
    order = o.service.confirmation.confirm(number, request.form.get("c", ""))
    return status_redirect(order.order_number, o.service.tokens.for_order(order), page_lang(order.lang), confirmed=1)


@blueprint.get("/<number>/files/<int:document_id>/<path:filename>")
def download(number: str, document_id: int, filename: str):
    order, _, _ = _citizen_order(number)
    o = orders()
    document = current_document(order, document_id)
    if document is None or not o.store.exists(document.storage_name):
        raise ApiError(msg("order_status_this_file_does_not_exist_any"), status=404,
                       code="file-not-found")
    return file_response(o.store, document)


# --- handover to the form server --------------------------------------------------------------------
@blueprint.post("/handover")
def handover():
    """Selection (and order) to the form server by Postdata; the citizen continues in the form."""
    lang = page_lang()
    settings = current_app.extensions["gis_settings"]
    form_server = settings.orders.form_server
    if not form_server.enabled:
        raise ApiError(msg("order_status_no_form_server_is_configured"), status=404,
                       code="no-form-server")
    plan = current_app.extensions["gis_previews"].plan_from_args(request.form)
    req = plan.request
    k = plan.parcel.kennzeichen
    query = req.query()
    query.pop("dpi")
    values: dict[str, object] = {
        "key": plan.parcel.key, "label": plan.parcel.label, "gemarkung": plan.parcel.gemarkung_name or k.gemarkung,
        "flur": k.flur, "flurstueck": k.nummer, "scale": req.scale, "paper": req.paper, "orientation": req.orientation,
        "preview_url": url_for("api.preview_png", _external=True, **query),
    }
    number = request.form.get("order_number")
    if number:
        order = orders().service.repository.for_citizen(number, request.form.get("t", ""))
        values["order_number"] = order.order_number
        values["status_url"] = orders().urls.status(order.order_number, request.form.get("t", ""), lang)
    try:
        cache_id = post_selection(form_server, values)
    except HandoverError as exc:
        log.warning("handover to the form server failed: %s", exc)
        raise ApiError(msg("order_status_handing_over_to_the_form_failed"), status=502, code="handover-failed") from None
    return redirect(form_url_with_cache_id(form_server.form_url, cache_id), 303)
