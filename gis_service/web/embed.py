"""The embeddable pages under /embed: search → result list → preview → select without JavaScript, plus the map picker on top."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from cadastre.errors import CadastreError
from catalogues import N_
from gis_service.web.i18n import choose_language, page_context, search_help, search_notice, text
from gis_service.web.limits import limited, per_address
from gis_service.web.tiles import map_description

blueprint = Blueprint("embed", __name__, url_prefix="/embed")

# The pages' Content-Security-Policy (own scripts and styles only, data in <script type="application/json">
# blocks, frame-ancestors from the allow-list) is the app-wide one of web.responses.register_security_headers.

# Texts the picker script shows or announces; rendered into the page so the bundle holds no language.
SCRIPT_TEXTS = (
    N_("map_none_yet"), N_("map_selected"), N_("map_no_parcel_here"), N_("map_searching"), N_("map_error"),
    N_("map_error_network"), N_("map_load_error"), N_("map_zoom_in"), N_("map_zoom_out"), N_("frame_moved"),
    N_("preview_loading"), N_("preview_alt"), N_("fits_yes"), N_("suggestions_label"), N_("suggestions_count"),
    N_("suggestions_one"), N_("suggestions_none"), N_("portrait"), N_("landscape"), N_("area"),
    N_("viewer_caption"),
)


@blueprint.app_context_processor
def embed_context():
    """Every page (also other blueprints' pages shown in the iframe) tells its script whom it may talk to."""
    settings = current_app.extensions["gis_settings"]
    return {"embed_allowed_origins": " ".join(settings.embed.allowed_origins)}


def picker_config(lang: str, initial: dict | None = None) -> dict:
    """What the map picker needs: where the data are, the choices offered, the texts in the page's language."""
    previews = current_app.extensions["gis_previews"]
    info = current_app.extensions["gis_source"].info()
    s = previews.settings
    return {
        "lang": lang,
        "extent": [round(v, 3) for v in info.extent],
        "crs": "EPSG:25832",
        "urls": {
            "map": url_for("api.map_png"),
            "parcels": url_for("api.search_parcels"),
            "parcel": url_for("api.get_parcel", key="KEY").removesuffix("KEY"),
            "preview_png": url_for("api.preview_png"),
            "preview_json": url_for("api.preview_json"),
            "preview_pdf": url_for("api.preview_pdf"),
        },
        "scales": s.scales,
        "papers": s.papers,
        "defaults": {"scale": s.default_scale, "paper": s.default_paper, "orientation": s.default_orientation,
                     "dpi": s.default_dpi, "pdf_dpi": preview_pdf_dpi(s)},
        "initial": initial,
        # the tile grid, in the page itself: the map needs no round trip before its first tiles
        "tiles": map_description() if "gis_tiles" in current_app.extensions else None,
        "texts": {key: text(key, lang) for key in SCRIPT_TEXTS},
    }


def _picker_context(lang: str, initial: dict | None = None) -> dict:
    previews = current_app.extensions["gis_previews"]
    info = current_app.extensions["gis_source"].info()
    return {
        "picker_config": picker_config(lang, initial),
        "papers": previews.settings.papers,
        "scales": previews.settings.scales,
        "defaults": previews.settings,
        "attribution": info.attribution,
        "data_currency": info.data_currency,
    }


@blueprint.get("")
@blueprint.get("/")
@limited(per_address("searches_per_address", only_when=lambda: bool((request.args.get("q") or "").strip())))
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
    examples = current_app.extensions["gis_parcels"].examples
    return render_template("embed/search.html", q=q, result=result, error=error,
                           search_help=search_help(examples, lang),
                           notice=search_notice(result, lang) if result is not None else None,
                           **_picker_context(lang), **page_context(lang)), status


def preview_pdf_dpi(settings) -> int:
    """The preview PDF's resolution: sharp enough to print, small enough to download on a phone."""
    return min(150, settings.max_dpi)


def fit_advice(plan, lang: str) -> str:
    """What the citizen reads about the frame: true for the frame as it stands (gis_service.fit_rule)."""
    problem = plan.fit.problem()
    return text("fits_yes", lang) if problem is None else problem.render(lang)


def viewer_for(plan, lang: str) -> dict:
    """What templates/embed/_viewer.html needs to show a plan's preview page (also on the order summary)."""
    settings = current_app.extensions["gis_previews"].settings
    query = {**plan.request.query(), "dpi": settings.default_dpi}
    pdf_query = {**query, "dpi": preview_pdf_dpi(settings)}
    req = plan.request
    width, height = plan.layout.image_px
    orientation = text(req.orientation, lang)
    double = settings.default_dpi * 2
    return {
        "png_url": url_for("api.preview_png", **query),
        "png_2x_url": url_for("api.preview_png", **{**query, "dpi": double}) if double <= settings.max_dpi else None,
        "pdf_url": url_for("api.preview_pdf", **pdf_query),
        "pdf_download_url": url_for("api.preview_pdf", **pdf_query, download=1),
        "width": width, "height": height, "dpi": settings.default_dpi, "max_dpi": settings.max_dpi,
        "alt": text("preview_alt", lang, label=plan.parcel.label, scale=req.scale, paper=req.paper, orientation=orientation),
        "caption": text("viewer_caption", lang, label=plan.parcel.label, scale=req.scale, paper=req.paper,
                        orientation=orientation),
    }


@blueprint.get("/preview")
def preview():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    return _preview_page(current_app.extensions["gis_previews"].plan_from_args(request.args), lang)


def _preview_page(plan, lang: str, refusal: str | None = None):
    req = plan.request
    initial = {"parcel": req.parcel, "scale": req.scale, "paper": req.paper, "orientation": req.orientation,
               "center": list(req.centre) if req.centre else None}
    context = _picker_context(lang, initial)
    return render_template(
        "embed/preview.html",
        parcel=plan.parcel,
        plan=plan,
        req=req,
        viewer=viewer_for(plan, lang),
        advice=fit_advice(plan, lang),
        refusal=refusal,
        **context,
        **page_context(lang),
    ), 422 if refusal else 200


@blueprint.post("/select")
def select():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    plan = current_app.extensions["gis_previews"].plan_from_args(request.form)
    # A part of a parcel that cannot fit may be chosen (the order asks to confirm it); a frame beside it not.
    problem = plan.fit.problem(acknowledged_partial=True)
    if problem is not None:
        return _preview_page(plan, lang, refusal=problem.render(lang))
    req = plan.request
    query = {**req.query(), "lang": lang}
    query.pop("dpi")
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

