"""JSON API of the order process: products, orders (idempotent creation, status) and payment notifications."""

from __future__ import annotations

import hmac
import logging
import re

from flask import Blueprint, current_app, g, jsonify, request

from catalogues import Message, N_, msg
from gis_service.errors import ApiError
from gis_service.web.i18n import choose_language, text
from gis_service.web.responses import problem_response
from gis_service.web.limits import ORDER_CREATED, Declared, limited, order_created, per_address, recipient_key
from gis_service.orders.errors import IdempotencyMismatch, OrderNotFound, OrderValidationError, PaymentError
from gis_service.orders.payments import InvalidNotification
from gis_service.orders.products import format_money
from gis_service.orders.validation import flatten_api_payload, request_hash
from gis_service.orders.installation import Orders

log = logging.getLogger(__name__)
blueprint = Blueprint("orders_api", __name__, url_prefix="/api/v1")

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")
MAX_NOTIFICATION_BYTES = 16 * 1024
# What the options page sends for its fee (its form's fields), each cut to a sane length.
FEE_FIELDS = ("parcel", "product", "paper", "orientation", "scale", "center", "partial_ok", "copies", "delivery",
              "certified", "payment_method", "lang")


def orders() -> Orders:
    return current_app.extensions["gis_orders"]


def _lang() -> str:
    return choose_language(current_app.extensions["gis_settings"].default_language)


def problem(status: int, message: Message, code: str, title: str = N_("status_title_other"), **extra):
    lang = _lang()
    return problem_response(status, text(title, lang), message.render(lang), code, **extra)


@blueprint.errorhandler(OrderValidationError)
def _invalid(error: OrderValidationError):
    lang = _lang()
    return problem(422, error.wording, error.code, title=N_("orders_api_order_incomplete"), errors=error.as_list(lang))


def api_client() -> str | None:
    """The name of the API key the caller presents; a wrong key is refused outright."""
    key = request.headers.get("X-API-Key")
    authorization = request.headers.get("Authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        return None
    for candidate in orders().settings.orders.api_keys:
        if hmac.compare_digest(candidate.key.encode("utf-8"), key.encode("utf-8", "surrogatepass")[:512]):
            return candidate.name
    raise ApiError(msg("orders_api_the_api_key_is_not_valid"), status=401, code="unauthorized",
                   headers={"WWW-Authenticate": 'Bearer realm="gis-service"'})


@blueprint.get("/products")
def products():
    o = orders()
    return jsonify({"currency": o.catalogue.currency, "vat": "none",
                    "products": [o.catalogue.describe(p) for p in o.catalogue.products]})


@blueprint.get("/fee")
def fee():
    """The fee of the order options as they stand: the options page shows it at once (frontend/src/fee.js).

    The same check as the page's "Weiter", so a fee is given only for options the order would take; else
    422 with the fields' problems, in the page's language.
    """
    lang = _lang()
    values = {name: request.args[name][:200] for name in FEE_FIELDS if name in request.args}
    current = orders().validator.options(values).fee

    def money(cents: int) -> str:
        return format_money(cents, lang, current.currency)

    response = jsonify({
        "currency": current.currency,
        "total_cents": current.total_cents,
        "total": money(current.total_cents),
        "items": [{"code": item.code, "label": item.label(lang), "quantity": item.quantity,
                   "unit_cents": item.unit_cents, "unit": money(item.unit_cents),
                   "amount_cents": item.amount_cents, "amount": money(item.amount_cents)} for item in current.items],
        "announcement": text("fee_live_now", lang, total=money(current.total_cents)),
    })
    response.headers["Cache-Control"] = "no-store"
    return response


def _api_recipient() -> str:
    """The per-recipient key of an API order: the e-mail address in its JSON body."""
    body = request.get_json(silent=True) if request.is_json else None
    email = flatten_api_payload(body).get("email") if isinstance(body, dict) else None
    return recipient_key(email if isinstance(email, str) else None)


def _without_a_valid_key() -> bool:
    # The form server sends every citizen's order from its one address: with its key it is not
    # limited per address (the limit per recipient still holds).
    try:
        return api_client() is None
    except ApiError:
        return True  # the handler refuses the wrong key


@blueprint.post("/orders")
@limited(per_address("orders_per_address", counts=order_created, only_when=_without_a_valid_key),
         Declared("orders_per_recipient", _api_recipient, counts=order_created))
def create_order():
    o = orders()
    client = api_client()
    if o.settings.orders.api_requires_key and client is None:
        raise ApiError(msg("orders_api_orders_over_the_api_need_an"),
                       status=401, code="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="gis-service"'})
    if not request.is_json:
        raise ApiError(msg("orders_api_please_send_json_content_type_application"), status=415, code="unsupported-media-type")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(msg("orders_api_the_body_is_not_valid_json"), code="invalid-json")
    key = request.headers.get("Idempotency-Key", "")
    if not _IDEMPOTENCY_KEY.match(key):
        raise ApiError(msg("orders_api_the_idempotency_key_header_is_missing"),
                       code="idempotency-key-required")
    scoped_key = f"api:{client or '-'}:{key}"
    fingerprint = request_hash(body)
    lang = _lang()
    existing = o.service.repository.find_by_idempotency_key(scoped_key)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyMismatch()
        return _created(existing, replayed=True, lang=lang)
    draft = o.validator.full(flatten_api_payload(body))
    # A client with a key (the form server) may vouch for the address if the office allows it.
    proven = client is not None and o.settings.orders.confirmation.api_key_skips
    result = o.service.actions.create(draft, idempotency_key=scoped_key, request_hash=fingerprint,
                                      actor=f"api:{client}" if client else "api", address_proven=proven)
    setattr(g, ORDER_CREATED, result.created)
    return _created(result.order, replayed=not result.created, lang=lang)


def _created(order, replayed: bool, lang: str):
    o = orders()
    view = o.service.views.public_view(order, lang)
    response = jsonify(view)
    response.status_code = 201
    response.headers["Location"] = o.urls.api_order(order.order_number)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blueprint.get("/orders/<path:number>")
def get_order(number: str):
    o = orders()
    client = api_client()
    token = request.args.get("token") or request.headers.get("X-Order-Token")
    if client is None and not token:
        # The same answer whether the order exists or not.
        raise ApiError(msg("orders_api_please_give_an_api_key_or"), status=401, code="unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="gis-service"'})
    if client is not None:
        order = o.service.repository.find(number)
        if order is None:
            raise OrderNotFound()
    else:
        order = o.service.repository.for_citizen(number, token)
    response = jsonify(o.service.views.public_view(order, _lang()))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/payments/notify")
def payment_notification():
    o = orders()
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        raise ApiError(msg("orders_api_the_notification_is_too_large"), status=413, code="too-large")
    body = request.get_data(cache=False)[:MAX_NOTIFICATION_BYTES + 1]
    if len(body) > MAX_NOTIFICATION_BYTES:
        raise ApiError(msg("orders_api_the_notification_is_too_large_2"), status=413, code="too-large")
    try:
        order = o.service.payments.handle_notification(request.headers, body)
    except InvalidNotification as exc:
        log.warning("payment notification refused: %s", exc)
        raise ApiError(msg("orders_api_the_notification_is_not_validly_signed"),
                       status=401, code="invalid-signature") from None
    except PaymentError as exc:
        # The provider retries a notification that was not acknowledged.
        log.warning("payment notification: status query failed: %s", exc)
        raise ApiError(msg("orders_api_the_payment_status_could_not_be"),
                       status=503, code="payment-service-unavailable") from None
    return jsonify({"status": "ok", "known": order is not None})
