"""The accessibility statement /embed/barrierefreiheit (BITV 2.0 § 7) with its feedback form, and the page that thanks for it."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gis_service.config import Settings
from gis_service.orders.errors import OrderValidationError
from gis_service.orders.feedback import FIELDS, MAX_LENGTH, FeedbackBox, check_feedback
from gis_service.web.i18n import choose_language, page_context, text
from gis_service.web.limits import per_address, limited
from gis_service.web.order_pages import errors_by_field
from gis_service.web.origins import foreign_origin

# Under /embed: the statement is linked from the picker's pages and opens inside the same frame of the host form.
blueprint = Blueprint("accessibility", __name__, url_prefix="/embed/barrierefreiheit")

# The form's token proves that the form came from this server a short while ago (the frame of a host form
# on another site cannot rely on cookies, so there is no session to tie it to); the Origin check does the rest.
FORM_TOKEN_MAX_AGE = 6 * 3600
_SALT = "gis-service accessibility feedback"
FEEDBACK_SENT = "gis_feedback_sent"  # set in g by a request that stored a message: only those count for the limit
# A draft's id in a path is the citizen's key to it; the page a message reports keeps only where it was.
_DRAFT = re.compile(r"/d/[A-Za-z0-9_-]{8,}")
PAGE_IN_LINK = 300


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def form_token() -> str:
    return _serializer().dumps("feedback")


def form_token_valid(token: object) -> bool:
    if not isinstance(token, str) or not 0 < len(token) < 200:
        return False
    try:
        return _serializer().loads(token, max_age=FORM_TOKEN_MAX_AGE) == "feedback"
    except BadSignature:  # also SignatureExpired
        return False


def reported_page(path: str) -> str:
    """The page the footer link came from, as the form suggests it: a path without capabilities in it."""
    return _DRAFT.sub("/d/…", path)[:PAGE_IN_LINK]


@blueprint.app_template_global("accessibility_statement_url")
def statement_url(lang: str) -> str:
    """The footer's link: the statement, with the page it came from for the form (not from the statement itself)."""
    page = None
    if request and request.blueprint != "accessibility" and request.method == "GET":
        page = reported_page(request.path)
    return url_for("accessibility.statement", lang=lang, page=page)


def statement_facts(settings: Settings, lang: str) -> dict:
    """What the statement says about this installation: the contact (orders.office where not set), date, body."""
    a11y, office = settings.accessibility, settings.orders.office
    statement_date = a11y.statement_date
    return {
        "office": a11y.contact.name or office.name,
        "email": a11y.contact.email or office.email,
        "phone": a11y.contact.phone if a11y.contact.phone is not None else office.phone,
        "date": statement_date.strftime("%d.%m.%Y") if lang == "de" else statement_date.strftime("%-d %B %Y"),
        "date_iso": statement_date.isoformat(),
        "method": a11y.method,
        "enforcement": a11y.enforcement,
        "limitations": [item.get(lang) for item in a11y.limitations],
        "keep_days": settings.orders.data_protection.personal_data_days,
    }


def feedback_box() -> FeedbackBox | None:
    """Where messages go; None when the form is switched off or there is no order database to keep them in."""
    settings: Settings = current_app.extensions["gis_settings"]
    orders = current_app.extensions.get("gis_orders")
    if not settings.accessibility.feedback or orders is None or orders.service is None:
        return None
    return orders.service.feedback


def _lang() -> str:
    return choose_language(current_app.extensions["gis_settings"].default_language)


def _render(template: str, lang: str, status: int = 200, **values) -> Response:
    context = page_context(lang)
    context.update(statement_facts(current_app.extensions["gis_settings"], lang))
    context.update(values)
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # the form carries a fresh token
    return response


def _statement(lang: str, status: int = 200, values: dict | None = None, error: OrderValidationError | None = None,
               refusal: str | None = None) -> Response:
    return _render("accessibility/statement.html", lang, status, values=values or {}, error=error,
                   errors=errors_by_field(error, lang), refusal=refusal, form_enabled=feedback_box() is not None,
                   form_token=form_token(), max_message=MAX_LENGTH["message"])


@blueprint.get("/")
@blueprint.get("")
def statement():
    lang = _lang()
    page = request.args.get("page", "")
    suggested = reported_page(page) if page.startswith("/") and not page.startswith("//") else ""
    return _statement(lang, values={"page_url": suggested})


def _feedback_sent(_response) -> bool:
    return bool(g.get(FEEDBACK_SENT))


@blueprint.post("/")
@blueprint.post("")
@limited(per_address("feedback_per_address", counts=_feedback_sent))
def send():
    lang = _lang()
    box = feedback_box()
    if box is None:
        abort(404)
    if foreign_origin():
        abort(400, description=text("a11y_foreign_origin", lang))
    # What is shown again in the form: a hostile size is cut, the check below still sees the whole field.
    values = {name: str(request.form.get(name, ""))[:MAX_LENGTH[name] + 100] for name in FIELDS}
    if not form_token_valid(request.form.get("form_token")):
        return _statement(lang, 400, values, refusal=text("a11y_form_expired", lang))
    try:
        checked = check_feedback({name: request.form.get(name) for name in FIELDS})
    except OrderValidationError as exc:
        return _statement(lang, 422, values, error=exc)
    number = box.submit(checked, lang)
    setattr(g, FEEDBACK_SENT, True)
    return redirect(url_for("accessibility.thanks", n=number, lang=lang), 303)


@blueprint.get("/danke")
def thanks():
    lang = _lang()
    number = request.args.get("n", "")
    return _render("accessibility/thanks.html", lang, number=number if number.isdigit() and len(number) < 12 else None)
