"""Citizen order pages inside the iframe, without JavaScript: product → options and fee → contact → summary → pay."""

from __future__ import annotations

import logging
import re
import secrets
import time
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from gis_service.errors import ApiError
from gis_service.web.i18n import choose_language, page_context
from gis_service.orders import lifecycle as lc
from gis_service.orders.documents import current_document
from gis_service.orders.errors import ActionError, IdempotencyMismatch, OrderValidationError, PaymentError
from gis_service.orders.handover import HandoverError, form_url_with_cache_id, post_selection
from gis_service.orders.products import format_money
from gis_service.orders.validation import ADDRESS_FIELDS, CONTACT_FIELDS, request_hash
from gis_service.orders.wiring import Orders
from gis_service.page_request import ChoiceProblem, PreviewRequest
from gis_service.web.embed import viewer_for
from gis_service.web.origins import server_origins

log = logging.getLogger(__name__)
blueprint = Blueprint("orders", __name__, url_prefix="/embed/order")

OPTION_FIELDS = ("parcel", "product", "paper", "orientation", "scale", "center", "partial_ok", "copies", "delivery",
                 "certified", "payment_method")
FORM_FIELDS = OPTION_FIELDS + CONTACT_FIELDS + ADDRESS_FIELDS + ("justification",)
_FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def orders() -> Orders:
    return current_app.extensions["gis_orders"]


def _lang() -> str:
    return choose_language(current_app.extensions["gis_settings"].default_language)


def _values(source) -> dict[str, str]:
    """The known fields of a form or query, as short strings (hostile sizes are cut, not stored)."""
    values = {}
    for name in FORM_FIELDS:
        value = source.get(name)
        if value is not None:
            values[name] = str(value)[:4100]
    return values


def _context(lang: str, **values) -> dict:
    context = page_context(lang)
    context.update({"errors": {}, "error": None})
    context.update(values)
    context["money"] = lambda cents, currency="EUR": format_money(cents, lang, currency)
    context["status_text"] = lambda status: lc.status_text(status, lang)
    context["products"] = orders().catalogue.products
    return context


def _errors_by_field(error: OrderValidationError | None, lang: str) -> dict[str, str]:
    if error is None:
        return {}
    result: dict[str, str] = {}
    for item in error.errors:
        result.setdefault(item.field, item.message(lang))
    return result


def _render(template: str, lang: str, status: int = 200, **values):
    response = Response(render_template(template, **_context(lang, **values)), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.app_context_processor
def _embed_context():
    settings = current_app.extensions.get("gis_settings")
    if settings is None or "gis_orders" not in current_app.extensions:
        return {"orders_embed": {"enabled": False, "allowed_origins": [], "form_server": False}}
    return {"orders_embed": {"enabled": True, "allowed_origins": settings.embed.allowed_origins,
                             "form_server": settings.orders.form_server.enabled}}


# --- step 1: product --------------------------------------------------------------------------------
@blueprint.get("")
@blueprint.get("/")
def choose_product():
    lang = _lang()
    values = _values(request.args)
    parcel = current_app.extensions["gis_parcels"].get(values.get("parcel") or "")
    values["parcel"] = parcel.key
    return _render("orders/product.html", lang, parcel=parcel, values=values, step=1)


# --- step 2: options and fee ------------------------------------------------------------------------
@blueprint.get("/options")
def options():
    lang = _lang()
    values = _values(request.args)
    o = orders()
    if not values.get("product"):
        parcel = current_app.extensions["gis_parcels"].get(values.get("parcel") or "")
        error = OrderValidationError([_product_missing()])
        return _render("orders/product.html", lang, 422, parcel=parcel, values=values, step=1,
                       errors=_errors_by_field(error, lang), error=error)
    return _options_page(o, values, lang)


def _product_missing():
    from gis_service.orders.errors import FieldError

    return FieldError("product", "Bitte wählen Sie ein Produkt.", "Please choose a product.")


def _options_page(o: Orders, values: dict, lang: str, error: OrderValidationError | None = None, status: int = 200):
    product = o.validator.product_of(values)
    draft = None
    if error is None:
        try:
            draft = o.validator.options(values)
        except OrderValidationError as exc:
            error, status = exc, 422
    parcel = draft.parcel if draft else _parcel_or_none(values)
    plan = _plan_of(product, parcel, values) if parcel is not None else None
    without_centre = {k: v for k, v in values.items() if k not in ("center", "partial_ok")}
    return _render("orders/options.html", lang, status, product=product, draft=draft, parcel=parcel, values=values,
                   errors=_errors_by_field(error, lang), error=error, step=2, plan=plan,
                   viewer=viewer_for(plan, lang) if plan else None, **_viewer_context(),
                   centre_url=url_for("orders.options", **without_centre, lang=lang),
                   picker_url=url_for("embed.preview", **{k: v for k, v in values.items()
                                                          if k in ("parcel", "scale", "paper", "orientation", "center")},
                                      lang=lang))


def _plan_of(product, parcel, values: dict):
    """The preview plan of the choices as they stand, if they are valid at all (else no picture)."""
    if product.kind != "map":
        return None
    previews = current_app.extensions["gis_previews"]
    choices = previews.pipeline.choices
    try:
        request_ = PreviewRequest(parcel.key, choices.scale(values.get("scale"), product.scales),
                                  choices.paper(values.get("paper"), product.papers, product.papers[0]),
                                  choices.orientation(values.get("orientation"), "portrait"),
                                  previews.settings.default_dpi, choices.centre(values.get("center")))
    except ChoiceProblem:
        return None
    if request_.scale not in previews.settings.scales or request_.paper not in previews.settings.papers:
        return None  # staff products up to A0: no screen preview offered for these
    return previews.pipeline.plan(request_, parcel)


def _viewer_context() -> dict:
    info = current_app.extensions["gis_source"].info()
    return {"defaults": current_app.extensions["gis_previews"].settings, "attribution": info.attribution,
            "data_currency": info.data_currency}


def _parcel_or_none(values: dict):
    try:
        return current_app.extensions["gis_parcels"].get(values.get("parcel") or "")
    except ApiError:
        return None
    except Exception:  # noqa: BLE001 - any unreadable parcel text is shown as a field error
        return None


# --- step 3: contact --------------------------------------------------------------------------------
@blueprint.post("/contact")
def contact():
    lang = _lang()
    values = _values(request.form)
    o = orders()
    try:
        draft = o.validator.options(values)
    except OrderValidationError as exc:
        return _options_page(o, values, lang, exc, 422)
    return _render("orders/contact.html", lang, draft=draft, values=values, errors={}, error=None, step=3)


# --- step 4: summary --------------------------------------------------------------------------------
@blueprint.post("/summary")
def summary():
    lang = _lang()
    values = _values(request.form)
    o = orders()
    try:
        draft = o.validator.options(values)
    except OrderValidationError as exc:
        return _options_page(o, values, lang, exc, 422)
    try:
        draft = o.validator.full(values)
    except OrderValidationError as exc:
        return _render("orders/contact.html", lang, 422, draft=draft, values=values,
                       errors=_errors_by_field(exc, lang), error=exc, step=3)
    return _render("orders/summary.html", lang, draft=draft, values=_clean(values, draft), step=4,
                   **_summary_viewer(draft, values, lang),
                   form_token=secrets.token_urlsafe(24), price_changed=False)


def _summary_viewer(draft, values: dict, lang: str) -> dict:
    plan = _plan_of(draft.product, draft.parcel, values)
    return {"viewer": viewer_for(plan, lang) if plan else None, **_viewer_context()}


def _clean(values: dict, draft) -> dict:
    """Only what the order uses travels on: no address when nothing goes by post, no stray justification."""
    cleaned = {k: v for k, v in values.items() if k in OPTION_FIELDS + CONTACT_FIELDS}
    if draft.needs_address:
        cleaned.update({k: values[k] for k in ADDRESS_FIELDS if k in values})
    if draft.product.requires_justification and "justification" in values:
        cleaned["justification"] = values["justification"]
    return cleaned


# --- order ------------------------------------------------------------------------------------------
@blueprint.post("/submit")
def submit():
    lang = _lang()
    o = orders()
    form_token = request.form.get("form_token", "")
    if not _FORM_TOKEN.match(form_token):
        raise ApiError("Das Bestellformular ist unvollständig. Bitte beginnen Sie die Bestellung erneut.",
                       "The order form is incomplete. Please start the order again.", code="form-token-missing")
    values = _values(request.form)
    key = f"web:{form_token}"
    existing = o.service.repository.find_by_idempotency_key(key)
    if existing is None:
        try:
            draft = o.validator.full({**values, "expected_amount_cents": request.form.get("expected_amount_cents", "")})
        except OrderValidationError as exc:
            if [e.field for e in exc.errors] == ["expected_amount_cents"]:
                # The fee changed since the summary was shown: show it again, never charge silently.
                draft = o.validator.full(values)
                return _render("orders/summary.html", lang, 409, draft=draft, values=_clean(values, draft), step=4,
                               **_summary_viewer(draft, values, lang),
                               form_token=secrets.token_urlsafe(24), price_changed=True)
            raise
        try:
            result = o.service.actions.create(draft, idempotency_key=key,
                                              request_hash=request_hash(_clean(values, draft)), actor="citizen")
        except IdempotencyMismatch:
            raise ApiError("Diese Bestellung wurde bereits mit anderen Angaben abgeschickt.",
                           "This order was already sent with different details.", status=422,
                           code="form-reused") from None
        order, token = result.order, result.token
    else:
        # A double click or a reload: the order exists, show it.
        order, token = existing, o.service.tokens.for_order(existing)
    return redirect(url_for("orders.status", number=order.order_number, t=token, lang=lang, received=1), 303)


# --- status, payment, download ----------------------------------------------------------------------
def _citizen_order(number: str):
    o = orders()
    token = request.values.get("t", "")
    return o.service.repository.for_citizen(number, token), token


@blueprint.get("/<number>")
def status(number: str):
    lang = _lang()
    order, token = _citizen_order(number)
    return _status_page(order, token, lang)


def _status_page(order, token: str, lang: str, message: str | None = None, status_code: int = 200):
    o = orders()
    settings = current_app.extensions["gis_settings"]
    product = o.catalogue.get(order.product_id)
    return _render(
        "orders/status.html", lang, status_code, order=order, token=token, message=message,
        product_label=product.name.get(lang) if product else order.product_name,
        automatic_product=bool(product and product.fulfilment == "automatic"),
        received=request.args.get("received") == "1", from_payment=request.args.get("from") == "payment",
        last_payment=order.payments[-1] if order.payments else None,
        documents=order.current_documents, payable=order.payment_method == "online" and order.status in (
            lc.SUBMITTED, lc.AWAITING_PAYMENT),
        cancellable=order.status in (lc.SUBMITTED, lc.AWAITING_PAYMENT),
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
    lang = _lang()
    order, token = _citizen_order(number)
    o = orders()
    if o.urls.base.lower() != request.host_url.rstrip("/").lower() and o.urls.base.lower() in server_origins(request.host_url):
        # On loopback the payment comes back under public_base_url's name: the way back is kept there.
        return redirect(o.urls.base + request.full_path, 303)
    try:
        url = o.service.payments.start_payment(order.order_number)
    except ActionError:
        return redirect(url_for("orders.status", number=order.order_number, t=token, lang=lang), 303)
    except PaymentError as exc:
        log.warning("starting the payment of %s failed: %s", order.order_number, exc)
        return _status_page(o.service.repository.get(order.order_number), token, lang, exc.message(lang), 503)
    response = redirect(url, 303)
    back = _return_target(request.args.get("return_to"))
    path = _cookie_path(order.order_number)
    if back:
        response.set_cookie(RETURN_COOKIE, quote(back, safe=""), max_age=RETURN_COOKIE_SECONDS, path=path,
                            secure=request.is_secure, httponly=True, samesite="Lax")
    else:
        response.delete_cookie(RETURN_COOKIE, path=path)
    return response


@blueprint.get("/<number>/payment-return")
def payment_return(number: str):
    lang = _lang()
    order, token = _citizen_order(number)
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


@blueprint.post("/<number>/cancel")
def cancel(number: str):
    lang = _lang()
    order, token = _citizen_order(number)
    o = orders()
    try:
        o.service.actions.cancel(order.order_number, "citizen", None, request.form.get("reason", "")[:500] or None,
                                 citizen=True)
    except ApiError as exc:
        current = o.service.repository.get(order.order_number)
        return _status_page(current, token, lang, exc.message(lang), exc.status)
    return redirect(url_for("orders.status", number=order.order_number, t=token, lang=lang), 303)


@blueprint.get("/<number>/files/<int:document_id>/<path:filename>")
def download(number: str, document_id: int, filename: str):
    order, _ = _citizen_order(number)
    o = orders()
    document = current_document(order, document_id)
    if document is None or not o.store.exists(document.storage_name):
        raise ApiError("Diese Datei gibt es nicht (mehr).", "This file does not exist (any more).", status=404,
                       code="file-not-found")
    return _file_response(o, document)


def _file_response(o: Orders, document) -> Response:
    response = Response(o.store.read(document.storage_name), mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{_ascii_name(document.filename)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ascii_name(name: str) -> str:
    folded = name.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("Ä", "Ae").replace("Ö", "Oe") \
        .replace("Ü", "Ue").replace("ß", "ss")
    return re.sub(r"[^A-Za-z0-9._-]", "_", folded)[:120] or "datei"


# --- handover to the form server --------------------------------------------------------------------
@blueprint.post("/handover")
def handover():
    """Selection (and order) to the form server by Postdata; the citizen continues in the form."""
    lang = _lang()
    settings = current_app.extensions["gis_settings"]
    form_server = settings.orders.form_server
    if not form_server.enabled:
        raise ApiError("Es ist kein Formularserver eingerichtet.", "No form server is configured.", status=404,
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
        raise ApiError("Die Übergabe an das Formular ist fehlgeschlagen. Bitte versuchen Sie es erneut.",
                       "Handing over to the form failed. Please try again.", status=502, code="handover-failed") from None
    return redirect(form_url_with_cache_id(form_server.form_url, cache_id), 303)
