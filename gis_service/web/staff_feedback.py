"""The back office's list of accessibility feedback /staff/barrierefreiheit: newest first, filtered by state, marked read or answered."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for

from catalogues import N_, text
from gis_service.errors import ApiError
from gis_service.orders.feedback import LIST_LIMIT, MARKS, STATUSES, FeedbackBox, status_text
from gis_service.web.staff import STAFF_LANG, _render, blueprint, login_required, orders

MARKED = {"read": N_("feedback_marked_read"), "answered": N_("feedback_marked_answered")}


def _box() -> FeedbackBox:
    return orders().service.feedback


def _counts() -> dict[str, int]:
    """The messages by state, counted once per request (the list's tabs and the navigation both show them)."""
    if "staff_feedback_counts" not in g:
        g.staff_feedback_counts = _box().counts()
    return g.staff_feedback_counts


@blueprint.app_template_global("staff_feedback_new")
def _new_count() -> int:
    """The navigation's count of messages nobody has read yet."""
    return _counts()["new"]


@blueprint.get("/barrierefreiheit")
@login_required
def feedback():
    state = request.args.get("status", "new")
    if state not in (*STATUSES, "all"):
        state = "new"
    box = _box()
    return _render("staff/feedback.html", items=box.list(None if state == "all" else state), counts=_counts(),
                   state=state, states=STATUSES, feedback_status=status_text, limit=LIST_LIMIT)


@blueprint.post("/barrierefreiheit/<int:feedback_id>/<mark>")
@login_required
def mark_feedback(feedback_id: int, mark: str):
    if mark not in MARKS:
        abort(404)
    back = request.form.get("status", "new")
    back = back if back in (*STATUSES, "all") else "new"
    try:
        _box().mark(feedback_id, mark, g.staff.actor)
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(exc.de, "error")
    else:
        flash(text(MARKED[mark], STAFF_LANG, n=feedback_id), "ok")
    return redirect(url_for("staff.feedback", status=back, _anchor=f"feedback-{feedback_id}"), 303)
