"""The embeddable pages under /embed: search → result list → preview → select, all without JavaScript."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from cadastre.errors import CadastreError
from gis_service.i18n import choose_language, page_context

blueprint = Blueprint("embed", __name__, url_prefix="/embed")


@blueprint.get("")
@blueprint.get("/")
def search():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    q = request.args.get("q")
    result, error = None, None
    if q is not None and q.strip():
        try:
            result = current_app.extensions["gis_parcels"].search_text(q, limit=20)
        except CadastreError as exc:
            error = exc.message(lang)
    status = 400 if error else 200
    return render_template("embed/search.html", q=q, result=result, error=error, **page_context(lang)), status


@blueprint.get("/preview")
def preview():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    previews = current_app.extensions["gis_previews"]
    req = previews.request_from_args(request.args)
    plan = previews.plan(req)
    query = {"parcel": req.parcel, "scale": req.scale, "paper": req.paper, "orientation": req.orientation, "dpi": req.dpi}
    if req.centre:
        query["center"] = f"{req.centre[0]:.2f},{req.centre[1]:.2f}"
    info = current_app.extensions["gis_source"].info()
    return render_template(
        "embed/preview.html",
        parcel=plan.parcel,
        plan=plan,
        req=req,
        papers=previews.settings.papers,
        scales=previews.settings.scales,
        png_url=url_for("api.preview_png", **query),
        pdf_url=url_for("api.preview_pdf", **{**query, "dpi": 150 if previews.settings.max_dpi >= 150 else previews.settings.max_dpi}),
        attribution=info.attribution,
        data_currency=info.data_currency,
        **page_context(lang),
    )


@blueprint.post("/select")
def select():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    previews = current_app.extensions["gis_previews"]
    req = previews.request_from_args(request.form)
    plan = previews.plan(req)
    query = {"parcel": req.parcel, "scale": req.scale, "paper": req.paper, "orientation": req.orientation, "lang": lang}
    if req.centre:
        query["center"] = f"{req.centre[0]:.2f},{req.centre[1]:.2f}"
    selection = {
        "key": plan.parcel.key,
        "label": plan.parcel.label,
        "scale": req.scale,
        "paper": req.paper,
        "orientation": req.orientation,
        "center": list(plan.layout.centre),
        "preview_url": url_for("api.preview_png", _external=True, **{k: v for k, v in query.items() if k != "lang"}),
    }
    return render_template(
        "embed/selected.html",
        parcel=plan.parcel,
        req=req,
        selection=selection,
        back_url=url_for("embed.preview", **query),
        **page_context(lang),
    )
