"""Citizen order steps inside the iframe, without JavaScript: product → options and fee → contact → summary → order."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, url_for

from catalogues import msg
from gis_service.errors import ApiError
from gis_service.orders import texts
from gis_service.orders.drafts import Draft, idempotency_key, valid_draft_id
from gis_service.orders.errors import FieldError, IdempotencyMismatch, OrderValidationError
from gis_service.orders.models import Order
from gis_service.orders.validation import ADDRESS_FIELDS, CONTACT_FIELDS, request_hash
from gis_service.orders.installation import Orders
from gis_service.page_request import ChoiceProblem, PreviewRequest
from gis_service.web import order_status  # noqa: F401 - the pages of a placed order join the blueprint
from gis_service.web.embed import viewer_for
from gis_service.web.limits import ORDER_CREATED, Declared, limited, order_created, per_address, recipient_key
from gis_service.web.order_pages import blueprint, errors_by_field, orders, page_lang, render, status_redirect

# Product and options are GET forms: they hold no personal data and may live in the URL. From "Weiter zu
# den Kontaktdaten" on, the order in progress is a draft on the server (the iframe is a third-party
# context where cookies cannot be relied on), named by an unguessable id in the URL: /d/<draft_id>/….
# Every POST answers 303 with a page to GET, errors included, so back and reload only ever repeat a GET;
# the draft id is the order's idempotency key, so a summary sent twice still makes one order, and once
# the order exists every page of the draft leads to it.
OPTION_FIELDS = ("parcel", "product", "paper", "orientation", "scale", "center", "partial_ok", "copies", "delivery",
                 "certified", "payment_method")
PERSONAL_FIELDS = CONTACT_FIELDS + ADDRESS_FIELDS + ("justification",)


def _values(source, names=OPTION_FIELDS + PERSONAL_FIELDS) -> dict[str, str]:
    """The known fields of a form or query, as short strings (hostile sizes are cut, not stored)."""
    values = {}
    for name in names:
        value = source.get(name)
        if value is not None:
            values[name] = str(value)[:4100]
    return values


def _option_values(values: dict) -> dict[str, str]:
    return {k: v for k, v in values.items() if k in OPTION_FIELDS}


# --- the draft and the order made from it ---------------------------------------------------------------
def _to_status(order: Order, lang: str, **extra):
    return status_redirect(order.order_number, orders().service.tokens.for_order(order), lang, **extra)


def _unless_ordered(draft_id: str) -> Draft | None:
    """The open draft (None when unknown or expired); once it is ordered, its pages lead to the order (303)."""
    # The draft first: the order is committed before its draft is discarded, so a draft found missing
    # here while a second request is ordering it shows that request's order, never "expired".
    saved = orders().service.drafts.load(draft_id)
    order = orders().service.repository.find_by_idempotency_key(idempotency_key(draft_id))
    if order is not None:
        abort(_to_status(order, page_lang(order.lang)))
    return saved


def _open_draft(draft_id: str) -> Draft:
    """The draft of a /d/<draft_id>/… page: 404 for a malformed id, 410 when it expired (or never was)."""
    if not valid_draft_id(draft_id):
        raise ApiError(texts.DRAFT_UNKNOWN, status=404, code="draft-not-found")
    saved = _unless_ordered(draft_id)
    if saved is None:
        hours = orders().service.drafts.hours
        raise ApiError(msg(texts.DRAFT_GONE.key, hours=hours), status=410, code="draft-gone")
    return saved


def _carried_draft(draft_id: str | None) -> Draft | None:
    """The draft the stateless steps pass along (back from the contact page), if it is still open."""
    return _unless_ordered(draft_id) if valid_draft_id(draft_id) else None


def _id_of(draft: Draft | None) -> str | None:
    return draft.draft_id if draft else None


def _with_lang(values: dict, lang: str) -> dict:
    # The validator takes the order's language from the fields: the page the citizen is on decides it.
    return {**values, "lang": lang}


# --- step 1: product --------------------------------------------------------------------------------
@blueprint.get("")
@blueprint.get("/")
def choose_product():
    lang = page_lang()
    values = _values(request.args, OPTION_FIELDS)
    draft_id = _id_of(_carried_draft(request.args.get("draft")))
    parcel = current_app.extensions["gis_parcels"].get(values.get("parcel") or "")
    values["parcel"] = parcel.key
    return render("orders/product.html", lang, parcel=parcel, values=values, step=1, draft_id=draft_id)


# --- step 2: options and fee ------------------------------------------------------------------------
@blueprint.get("/options")
def options():
    lang = page_lang()
    values = _values(request.args, OPTION_FIELDS)
    draft_id = _id_of(_carried_draft(request.args.get("draft")))
    if not values.get("product"):
        parcel = current_app.extensions["gis_parcels"].get(values.get("parcel") or "")
        error = OrderValidationError([FieldError("product", texts.PRODUCT_MISSING)])
        return render("orders/product.html", lang, 422, parcel=parcel, values=values, step=1, draft_id=draft_id,
                      errors=errors_by_field(error, lang), error=error)
    return _options_page(orders(), values, lang, draft_id)


def _options_page(o: Orders, values: dict, lang: str, draft_id: str | None):
    product = o.validator.product_of(values)
    draft, error, status = None, None, 200
    try:
        draft = o.validator.options(values)
    except OrderValidationError as exc:
        error, status = exc, 422
    parcel = draft.parcel if draft else _parcel_or_none(values)
    plan = _plan_of(product, parcel, values) if parcel is not None else None
    without_centre = {k: v for k, v in values.items() if k not in ("center", "partial_ok")}
    carried = {"draft": draft_id} if draft_id else {}
    return render("orders/options.html", lang, status, product=product, draft=draft, parcel=parcel, values=values,
                  errors=errors_by_field(error, lang), error=error, step=2, plan=plan, draft_id=draft_id,
                  viewer=viewer_for(plan, lang) if plan else None, **_viewer_context(),
                  centre_url=url_for("orders.options", **without_centre, **carried, lang=lang),
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


def _options_url(values: dict, draft_id: str | None, lang: str) -> str:
    carried = {"draft": draft_id} if draft_id else {}
    return url_for("orders.options", **_option_values(values), **carried, lang=lang)


# --- into the draft: "Weiter zu den Kontaktdaten" ---------------------------------------------------
@blueprint.post("/contact")
def start_draft():
    """The options become a draft (or replace the options of the draft carried back); on to the contact page."""
    lang = page_lang()
    values = _values(request.form, OPTION_FIELDS)
    o = orders()
    carried = _carried_draft(request.form.get("draft"))
    try:
        o.validator.options(values)
    except OrderValidationError:
        return redirect(_options_url(values, _id_of(carried), lang), 303)  # the options page shows what is wrong
    saved = None
    if carried is not None:
        personal = {k: v for k, v in carried.values.items() if k in PERSONAL_FIELDS}
        saved = o.service.drafts.save(carried.draft_id, {**personal, **values}, lang)
    if saved is None:
        saved = o.service.drafts.create(values, lang)
    return redirect(url_for("orders.draft_contact", draft_id=saved.draft_id, lang=lang), 303)


# --- step 3: contact --------------------------------------------------------------------------------
@blueprint.get("/d/<draft_id>/contact")
def draft_contact(draft_id: str):
    saved = _open_draft(draft_id)
    lang = page_lang(saved.lang)
    o = orders()
    try:
        checked = o.validator.options(saved.values)
    except OrderValidationError:
        return redirect(_options_url(saved.values, draft_id, lang), 303)
    error = None
    if request.args.get("check") == "1":  # after a POST that did not pass: show why
        try:
            o.validator.full(_with_lang(saved.values, lang))
        except OrderValidationError as exc:
            error = exc
    return render("orders/contact.html", lang, 422 if error else 200, draft=checked, values=saved.values,
                  draft_id=draft_id, errors=errors_by_field(error, lang), error=error, step=3,
                  options_url=_options_url(saved.values, draft_id, lang))


@blueprint.post("/d/<draft_id>/contact")
def save_contact(draft_id: str):
    saved = _open_draft(draft_id)
    lang = page_lang(saved.lang)
    o = orders()
    # Kept even when not valid yet: the page shown next (a GET) reads them back with the errors.
    values = {**_option_values(saved.values), **_values(request.form, PERSONAL_FIELDS)}
    if o.service.drafts.save(draft_id, values, lang) is None:
        return redirect(url_for("orders.draft_contact", draft_id=draft_id, lang=lang), 303)  # expired meanwhile
    try:
        o.validator.full(_with_lang(values, lang))
    except OrderValidationError:
        return redirect(url_for("orders.draft_contact", draft_id=draft_id, lang=lang, check=1), 303)
    return redirect(url_for("orders.draft_summary", draft_id=draft_id, lang=lang), 303)


# --- step 4: summary --------------------------------------------------------------------------------
NOTICES = ("fee", "changed")  # why a summary is shown again instead of ordering


@blueprint.get("/d/<draft_id>/summary")
def draft_summary(draft_id: str):
    saved = _open_draft(draft_id)
    lang = page_lang(saved.lang)
    try:
        checked = orders().validator.full(_with_lang(saved.values, lang))
    except OrderValidationError:
        return redirect(url_for("orders.draft_contact", draft_id=draft_id, lang=lang, check=1), 303)
    plan = _plan_of(checked.product, checked.parcel, saved.values)
    notice = request.args.get("notice")
    return render("orders/summary.html", lang, draft=checked, draft_id=draft_id, revision=saved.revision, step=4,
                  viewer=viewer_for(plan, lang) if plan else None, **_viewer_context(),
                  notice=notice if notice in NOTICES else None,
                  contact_url=url_for("orders.draft_contact", draft_id=draft_id, lang=lang))


def _clean(values: dict, draft) -> dict:
    """Only what the order uses counts: no address when nothing goes by post, no stray justification."""
    cleaned = {k: v for k, v in values.items() if k in OPTION_FIELDS + CONTACT_FIELDS}
    if draft.needs_address:
        cleaned.update({k: values[k] for k in ADDRESS_FIELDS if k in values})
    if draft.product.requires_justification and "justification" in values:
        cleaned["justification"] = values["justification"]
    return cleaned


# --- order: "zahlungspflichtig bestellen" -------------------------------------------------------------
def _draft_recipient() -> str:
    """The per-recipient key of the draft being ordered: the address the citizen gave on the contact page."""
    draft_id = (request.view_args or {}).get("draft_id", "")
    saved = orders().service.drafts.load(draft_id) if valid_draft_id(draft_id) else None
    return recipient_key(saved.values.get("email") if saved else None)


@blueprint.post("/d/<draft_id>/submit")
@limited(per_address("orders_per_address", counts=order_created),
         Declared("orders_per_recipient", _draft_recipient, counts=order_created))
def submit(draft_id: str):
    saved = _open_draft(draft_id)  # already ordered (back, reload, a second tab): the order is shown
    lang = page_lang(saved.lang)
    o = orders()
    if request.form.get("revision") != str(saved.revision):
        # The details changed since this summary was shown (another tab): show them before ordering.
        return redirect(url_for("orders.draft_summary", draft_id=draft_id, lang=lang, notice="changed"), 303)
    try:
        checked = o.validator.full({**_with_lang(saved.values, lang),
                                    "expected_amount_cents": request.form.get("expected_amount_cents", "")})
    except OrderValidationError as exc:
        if [e.field for e in exc.errors] == ["expected_amount_cents"]:
            # The fee changed since the summary was shown: show it again, never charge silently.
            return redirect(url_for("orders.draft_summary", draft_id=draft_id, lang=lang, notice="fee"), 303)
        return redirect(url_for("orders.draft_contact", draft_id=draft_id, lang=lang, check=1), 303)
    key = idempotency_key(draft_id)
    try:
        result = o.service.actions.create(checked, idempotency_key=key, actor="citizen",
                                          request_hash=request_hash(_clean(saved.values, checked)))
        order = result.order
        setattr(g, ORDER_CREATED, result.created)
    except IdempotencyMismatch:
        # Two tabs sent the same draft with different details at once: the first made the order.
        order = o.service.repository.find_by_idempotency_key(key)
    o.service.drafts.discard(draft_id)  # the order holds the data now
    return _to_status(order, lang, received=1)


# Summary pages from before the drafts posted everything to these; they cannot order any more.
@blueprint.post("/summary")
@blueprint.post("/submit")
def outdated_form():
    raise ApiError(texts.FORM_OUTDATED, status=410, code="form-outdated")
