"""Staff back office /staff (German): login, order queue, order detail with actions, CSV export, accounts."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import date
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from catalogues import N_, msg, text
from gis_service.errors import ApiError
from gis_service.orders import lifecycle as lc
from gis_service.orders.accounts import AccountError
from gis_service.orders.bulk import parse_selection
from gis_service.orders.csvexport import orders_csv
from gis_service.orders.products import format_money
from gis_service.orders.queries import SearchFilters
from gis_service.orders.staff_search import DEFAULT_SORT, SORT_COLUMNS
from gis_service.orders.installation import Orders
from gis_service.page_request import PreviewRequest
from gis_service.web.limits import Declared, account_key, limited, per_address
from gis_service.web.origins import foreign_origin
from gis_service.web.responses import file_response

log = logging.getLogger(__name__)
blueprint = Blueprint("staff", __name__, url_prefix="/staff")
STAFF_LANG = "de"  # the back office speaks German (its templates are German); the catalogue has English too

ACTIONS = ("take", "produce", "attach", "complete", "reject", "cancel")
CSV_LIMIT = 10_000


def orders() -> Orders:
    return current_app.extensions["gis_orders"]


# --- session, CSRF ----------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


@blueprint.app_template_global("staff_csrf_token")
def _csrf_global() -> str:
    return csrf_token()


@blueprint.before_request
def _protect():
    g.staff = None
    if request.method == "POST":
        sent = request.form.get("csrf_token", "") if request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data") else ""
        expected = session.get("csrf", "")
        # Byte-wise: compare_digest refuses str with non-ASCII characters (a TypeError, a 500, on a typed field).
        if not expected or not sent or not isinstance(expected, str) or not hmac.compare_digest(
                expected.encode("utf-8"), sent.encode("utf-8", "surrogatepass")):
            abort(400, description=text("staff_form_expired", STAFF_LANG))
        if foreign_origin():
            abort(400, description=text("staff_foreign_origin", STAFF_LANG))
    identity = session.get("staff")
    if isinstance(identity, dict):
        g.staff = orders().accounts.current(int(identity.get("id", 0)), int(identity.get("epoch", -1)))
        if g.staff is None:
            session.pop("staff", None)


@blueprint.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("staff") is None:
            if request.method == "GET":
                return redirect(url_for("staff.login", next=request.full_path if request.query_string else request.path))
            raise ApiError(msg("staff_please_log_in"), status=401, code="login-required")
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.staff.is_admin:
            raise ApiError(msg("staff_admins_only"), status=403,
                           code="forbidden")
        return view(*args, **kwargs)
    return wrapper


def local_time(moment, pattern: str = "%d.%m.%Y %H:%M") -> str:
    """A stored (naive UTC) time as the clerk's wall clock shows it."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    if moment is None:
        return "–"
    zone = ZoneInfo(current_app.extensions["gis_settings"].orders.staff.timezone)
    return moment.replace(tzinfo=UTC).astimezone(zone).strftime(pattern)


def _render(template: str, status: int = 200, **values):
    values.setdefault("local", local_time)
    values.setdefault("money", format_money)
    values.setdefault("status_text", lc.status_text)
    values.setdefault("action_text", lc.action_text)
    values.setdefault("statuses", lc.STATUSES)
    values.setdefault("staff", g.get("staff"))
    return Response(render_template(template, **values), status=status, mimetype="text/html")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("staff.queue")


# --- login ------------------------------------------------------------------------------------------
@blueprint.route("/login", methods=["GET", "POST"])
@limited(per_address("logins_per_address", methods=("POST",)),
         Declared("logins_per_account", account_key, methods=("POST",)))
def login():
    error = None
    status = 200
    if request.method == "POST":
        try:
            identity = orders().accounts.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except AccountError as exc:
            error, status = exc.message, 401
        else:
            session.clear()  # a fresh session: nothing from before the login carries over
            session.permanent = True
            session["staff"] = {"id": identity.id, "epoch": identity.session_epoch}
            session["csrf"] = secrets.token_urlsafe(32)
            # The account id, not the user name: a log line names no person (the id leads to the account).
            log.info("staff login: account %s (%s)", identity.id, identity.role)
            return redirect(_safe_next(request.form.get("next")), 303)
    return _render("staff/login.html", status, error=error, next=request.values.get("next", ""),
                   username=request.form.get("username", "")[:80])


@blueprint.post("/logout")
def logout():
    identity = session.get("staff")
    if isinstance(identity, dict) and g.get("staff") is not None:
        # A copy of the cookie (another tab, a stolen one) must not outlive the logout.
        orders().accounts.end_sessions(g.staff.id)
    session.clear()
    return redirect(url_for("staff.login"), 303)


# --- queue ------------------------------------------------------------------------------------------
def _filters() -> SearchFilters:
    args = request.args
    status = args.get("status", "open")
    if status not in ("open", "all", *lc.STATUSES):
        status = "open"
    product = args.get("product") or None
    if product and orders().catalogue.get(product) is None:
        product = None

    def parse_date(name: str) -> date | None:
        value = args.get(name, "")
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            return None

    try:
        page = max(1, min(10_000, int(args.get("page", "1"))))
    except ValueError:
        page = 1
    return SearchFilters(status=None if status == "all" else status, product=product, date_from=parse_date("from"),
                         date_to=parse_date("to"), q=(args.get("q") or "").strip()[:100] or None, page=page,
                         page_size=orders().settings.orders.staff.page_size,
                         timezone=orders().settings.orders.staff.timezone)


@blueprint.get("/")
@login_required
def queue():
    filters = _queue_filters()
    rows, total = orders().service.queries.search(filters, _parse_key)
    pages = max(1, -(-total // filters.page_size))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return _render("staff/queue.html", rows=rows, total=total, filters=filters, pages=pages, args=args,
                   products=orders().catalogue.products, status_filter=request.args.get("status", "open"),
                   colleagues=_colleagues())


@blueprint.get("/export.csv")
@login_required
def export_csv():
    filters = _queue_filters()
    filters.page, filters.page_size = 1, CSV_LIMIT
    rows, _ = orders().service.queries.search(filters, _parse_key)
    response = Response(orders_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="bestellungen-{date.today().isoformat()}.csv"'
    return response


# --- detail and actions -----------------------------------------------------------------------------
@blueprint.get("/orders/<number>")
@login_required
def detail(number: str):
    o = orders()
    order = o.service.repository.get(number)
    if order.justification:
        # Who looked at an owner-data justification is part of the audit.
        o.service.queries.log_view(order, g.staff.actor, "justification_viewed")
        order = o.service.repository.get(number)
    settings = current_app.extensions["gis_previews"].settings
    preview_url = None
    if order.kind == "map" and order.paper in settings.papers and order.scale in settings.scales:
        request_ = PreviewRequest(order.parcel_key, order.scale, order.paper, order.orientation, settings.default_dpi,
                                  tuple(order.centre) if order.centre else None)
        preview_url = url_for("api.preview_png", **request_.query())
    product = o.catalogue.get(order.product_id)
    return _render("staff/detail.html", order=order, preview_url=preview_url, product=product,
                   status_url=o.urls.status(order.order_number, o.service.tokens.for_order(order), order.lang),
                   can=_possible_actions(order), notes=o.service.notes.for_order(order.id))


def _possible_actions(order) -> dict[str, bool]:
    open_ = order.status not in lc.CLOSED
    return {
        "take": order.status == lc.PAID or (order.status == lc.SUBMITTED and order.payment_method == "invoice")
        or (order.status == lc.IN_PROGRESS and order.assigned_to != g.staff.username),
        "produce": order.kind == "map" and order.status in (lc.IN_PROGRESS, lc.COMPLETED),
        "attach": order.status in (lc.IN_PROGRESS, lc.COMPLETED),
        "complete": order.status == lc.IN_PROGRESS,
        "reject": open_,
        "cancel": open_,
    }


@blueprint.post("/orders/<number>/<action>")
@login_required
def act(number: str, action: str):
    if action not in ACTIONS:
        abort(404)
    o = orders()
    actions = o.service.actions
    version = _form_version()
    actor = g.staff.actor
    messages = {
        "take": N_("staff_done_take"), "produce": N_("staff_done_produce"), "attach": N_("staff_done_attach"),
        "complete": N_("staff_done_complete"), "reject": N_("staff_done_reject"), "cancel": N_("staff_done_cancel"),
    }
    try:
        if action == "take":
            actions.take(number, actor, version)
        elif action == "produce":
            actions.produce_extract(number, actor, version)
        elif action == "attach":
            try:
                upload = request.files.get("file")
            except RequestEntityTooLarge:
                raise ApiError(msg("staff_file_too_large", most=o.settings.orders.staff.max_upload_mb),
                               status=413, code="too-large") from None
            if upload is None or not upload.filename:
                raise ApiError(msg("staff_please_choose_a_file"), status=422, code="file-missing")
            actions.attach(number, actor, version, upload.filename, upload.read())
        elif action == "complete":
            actions.complete(number, actor, version, request.form.get("note", "").strip()[:2000] or None)
        elif action == "reject":
            actions.reject(number, actor, version, request.form.get("reason", ""))
        elif action == "cancel":
            actions.cancel(number, actor, version, request.form.get("reason", ""))
    except ApiError as exc:
        return _back_to_detail(number, exc.de, "error")
    return _back_to_detail(number, text(messages[action], STAFF_LANG), "ok")


def _form_version() -> int:
    """The order version the form was rendered with (the optimistic lock); 400 if the form lacks it."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400, description=text("staff_form_version_missing", STAFF_LANG))


def _back_to_detail(number: str, message: str, category: str):
    flash(message, category)
    return redirect(url_for("staff.detail", number=number), 303)


@blueprint.get("/orders/<number>/files/<int:document_id>")
@login_required
def file(number: str, document_id: int):
    o = orders()
    order = o.service.repository.get(number)
    document = next((d for d in order.documents if d.id == document_id), None)
    if document is None or not o.store.exists(document.storage_name):
        abort(404)
    return file_response(o.store, document)


# --- accounts (admin) -------------------------------------------------------------------------------
@blueprint.get("/users")
@admin_required
def users():
    return _render("staff/users.html", users=orders().accounts.list())


@blueprint.post("/users")
@admin_required
def create_user():
    try:
        orders().accounts.create(request.form.get("username", ""), request.form.get("password", ""),
                                 request.form.get("role", "clerk"), request.form.get("display_name") or None)
    except AccountError as exc:
        flash(exc.message, "error")
    else:
        flash(text("staff_account_created", STAFF_LANG), "ok")
    return redirect(url_for("staff.users"), 303)


@blueprint.post("/users/<int:user_id>/<action>")
@admin_required
def user_action(user_id: int, action: str):
    accounts = orders().accounts
    try:
        if action == "password":
            accounts.set_password(user_id, request.form.get("password", ""))
        elif action == "unlock":
            accounts.unlock(user_id)
        elif action in ("deactivate", "activate"):
            if action == "deactivate" and user_id == g.staff.id:
                raise AccountError(msg("staff_cannot_deactivate_self"))
            accounts.set_active(user_id, action == "activate")
        else:
            abort(404)
    except AccountError as exc:
        flash(exc.message, "error")
    else:
        flash(text("staff_saved", STAFF_LANG), "ok")
    return redirect(url_for("staff.users"), 303)


# --- money to the end: cancelling a completed order with a refund, invoices, the treasury's cash report ----------
# (domain logic in gis_service.orders.late_cancellation, .invoices, .cashreport; these are thin wrappers)
from gis_service.orders import invoices as inv  # noqa: E402
from gis_service.orders.cashreport import cash_report, cash_report_csv, euro, parse_range  # noqa: E402
from gis_service.orders.late_cancellation import can_cancel_with_refund  # noqa: E402
from gis_service.orders.refunds import refundable_cents  # noqa: E402

MONEY_ACTIONS = {
    "cancel-refund": N_("staff_done_cancel_refund"),
    "invoice-sent": N_("staff_done_invoice_sent"),
    "invoice-paid": N_("staff_done_invoice_paid"),
    "invoice-written-off": N_("staff_done_invoice_written_off"),
}


def _clerk_today() -> date:
    return orders().service.invoices.today()


@blueprint.app_template_global("staff_money")
def _money_state(order) -> dict:
    """What the detail page's money section shows and offers for this order."""
    return {"invoice_text": inv.invoice_text(order), "settled": inv.settled(order),
            "next_invoice": inv.next_invoice_action(order) if order.payment_method == "invoice" else None,
            "can_cancel_refund": can_cancel_with_refund(order), "refundable": refundable_cents(order),
            "revoked": [d for d in order.documents if d.deleted_at is not None], "today": _clerk_today().isoformat(),
            "euro": euro}


@blueprint.post("/orders/<number>/money/<action>")
@login_required
def money_act(number: str, action: str):
    if action not in MONEY_ACTIONS:
        abort(404)
    version = _form_version()
    service, actor, form = orders().service, g.staff.actor, request.form
    try:
        if action == "cancel-refund":
            service.late_cancellation.cancel_with_refund(number, actor, version, form.get("reason", ""))
        elif action == "invoice-sent":
            service.invoices.mark_sent(number, actor, version, day=form.get("date"), amount=form.get("amount"),
                                       invoice_number=form.get("invoice_number"))
        elif action == "invoice-paid":
            service.invoices.mark_paid(number, actor, version, day=form.get("date"), amount=form.get("amount"))
        else:
            service.invoices.write_off(number, actor, version, day=form.get("date"), reason=form.get("reason", ""))
    except ApiError as exc:
        return _back_to_detail(number, exc.de, "error")
    return _back_to_detail(number, text(MONEY_ACTIONS[action], STAFF_LANG), "ok")


@blueprint.get("/kasse")
@login_required
def cash():
    today = _clerk_today().isoformat()
    return _render("staff/cashreport.html", first=request.args.get("from", today)[:10],
                   last=request.args.get("to", today)[:10], error=None,
                   unsettled=inv.unsettled_invoices(orders().factory), invoice_text=inv.invoice_text)


@blueprint.get("/kasse.csv")
@login_required
def cash_csv():
    try:
        first, last = parse_range(request.args.get("from"), request.args.get("to"))
    except ApiError as exc:
        # The form again, with the message next to the fields, rather than a file the treasury cannot use.
        return _render("staff/cashreport.html", exc.status, first=(request.args.get("from") or "")[:10],
                       last=(request.args.get("to") or "")[:10], error=exc.de,
                       unsettled=inv.unsettled_invoices(orders().factory), invoice_text=inv.invoice_text)
    rows = cash_report(orders().factory, first, last, orders().settings.orders.staff.timezone)
    response = Response(cash_report_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = (f'attachment; filename="kassenbericht-{first.isoformat()}'
                                               f'-bis-{last.isoformat()}.csv"')
    return response
# --- search, sorting, bulk actions, internal notes ----------------------------------------------------
def _parse_key(text: str):
    """A parcel key in any form the citizen search reads (the Gemarkung names and numbers it knows)."""
    return current_app.extensions["gis_parcels"].parse(text)


def _queue_filters() -> SearchFilters:
    filters = _filters()
    sort = request.args.get("sort", "")
    filters.sort = sort if sort in SORT_COLUMNS else DEFAULT_SORT
    filters.descending = request.args.get("dir", "desc" if filters.sort == DEFAULT_SORT else "asc") != "asc"
    assignee = request.args.get("assignee", "")
    filters.assignee = assignee if assignee in ("mine", "none") else None
    filters.username = g.staff.username
    return filters


def _colleagues() -> list:
    return [user for user in orders().accounts.list() if user.active]


BULK_DONE = {"take": N_("staff_bulk_taken"), "assign": N_("staff_bulk_assigned")}


@blueprint.post("/bulk")
@login_required
def bulk():
    """Take, assign or export the ticked orders; the answer names those that failed and why."""
    service = orders().service
    action = request.form.get("bulk_action", "")
    if action not in ("take", "assign", "export"):
        raise ApiError(msg("staff_please_choose_a_bulk_action"), status=422,
                       code="bulk-action-missing")
    back = _safe_next(request.form.get("back"))
    try:
        selection = parse_selection(request.form.getlist("selected"))
        if action == "export":
            response = Response(orders_csv(service.bulk.orders(selection)), mimetype="text/csv")
            response.headers["Content-Disposition"] = (
                f'attachment; filename="bestellungen-auswahl-{date.today().isoformat()}.csv"')
            return response
        if action == "take":
            outcome = service.bulk.take(selection, g.staff.actor)
        else:
            assignee = request.form.get("assignee", "")
            outcome = service.bulk.assign(selection, g.staff.actor, assignee,
                                          {user.username for user in _colleagues()})
    except ApiError as exc:
        flash(exc.de, "error")
        return redirect(back, 303)
    if outcome.done:
        flash(text(BULK_DONE[action], STAFF_LANG, n=len(outcome.done), total=len(selection), who=request.form.get("assignee", "")),
              "ok")
    for number, why in outcome.failed:
        flash(f"{number}: {why}", "error")
    return redirect(back, 303)


@blueprint.post("/orders/<number>/notes")
@login_required
def add_note(number: str):
    try:
        orders().service.notes.add(number, g.staff.actor, request.form.get("note", ""))
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(exc.de, "error")
    else:
        flash(text("staff_note_saved", STAFF_LANG), "ok")
    return redirect(url_for("staff.detail", number=number, _anchor="notes"), 303)
# --- office notifications, outbox, queue counts, words (issue 11) -----------------------------------
from flask import jsonify  # noqa: E402 - kept with the block it serves, to keep merges of this file apart

from gis_service.orders import staff_outbox as outbox_words  # noqa: E402
from gis_service.orders import staff_words  # noqa: E402

blueprint.add_app_template_global(staff_words.actor_text, "actor_words")
blueprint.add_app_template_global(staff_words.event_text, "event_words")
blueprint.add_app_template_global(staff_words.mail_kind_text, "mail_kind_words")
blueprint.add_app_template_global(staff_words.payment_status_text, "payment_words")
blueprint.add_app_template_global(staff_words.status_words, "status_words")
blueprint.add_app_template_global(outbox_words.state_text, "mail_state_words")
blueprint.add_app_template_global(outbox_words.audience_text, "mail_audience_words")


@blueprint.app_template_global("staff_now_utc")
def _now_utc():
    """Now as stored times are (naive UTC): "Entsperren" is offered only while a lock lasts."""
    from gis_service.orders.db import utcnow

    return utcnow()


@blueprint.app_template_global("staff_order_mails")
def _order_mails(order_id: int):
    """The order's mails for its detail page (a global, so the detail view itself stays as it is)."""
    return orders().service.staff_outbox.mails(order_id=order_id, limit=50)


@blueprint.app_template_global("staff_queue_counts")
def _queue_counts():
    return orders().service.staff_outbox.counts(g.staff.username)


@blueprint.app_template_global("staff_refresh_seconds")
def _refresh_seconds() -> int:
    return current_app.extensions["gis_settings"].orders.staff.queue_refresh_seconds


@blueprint.get("/counts.json")
@login_required
def counts():
    """What the queue page polls: counts, and how many orders needing a person came after `since` (an order id)."""
    try:
        since = max(0, int(request.args.get("since", "0")))
    except ValueError:
        raise ApiError(msg("staff_since_must_be_a_whole_number"), status=400,
                       code="bad-since") from None
    return jsonify(orders().service.staff_outbox.counts(g.staff.username, since).as_dict())


@blueprint.get("/outbox")
@login_required
def outbox():
    state = request.args.get("state", "")
    if state and state not in outbox_words.STATES:
        state = ""
    return _render("staff/outbox.html", mails=orders().service.staff_outbox.mails(state or None), state=state,
                   states=outbox_words.STATES)


@blueprint.post("/outbox/<int:mail_id>/resend")
@login_required
def resend_mail(mail_id: int):
    o = orders()
    try:
        number = o.service.staff_outbox.resend(mail_id, g.staff.actor)
    except ApiError as exc:
        flash(exc.de, "error")
        return redirect(url_for("staff.outbox"), 303)
    o.service.wake()
    flash(text("staff_mail_resent", STAFF_LANG), "ok")
    if request.form.get("back") == "order" and number:
        return redirect(url_for("staff.detail", number=number), 303)
    return redirect(url_for("staff.outbox"), 303)
