"""JSON API /api/v1: parcels as GeoJSON, preview images and their description."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, request

from cadastre.model import NATIVE_CRS, Parcel
from catalogues import msg
from gis_service.admission import MAX_VIEW_PX
from gis_service.errors import bad_parameter
from gis_service.parcels import (
    SearchResult,
    check_bulk_page,
    geojson_geometry,
    normalise_crs,
    parcel_properties,
    parse_bbox,
    parse_float,
    parse_int,
)
from gis_service.previews import PreviewService, Rendered
from gis_service.web.embed import fit_advice
from gis_service.web.i18n import choose_language, search_notice
from gis_service.web.limits import limited, per_address
from gis_service.web.openapi import document
from gis_service.web.responses import already_held, image_response, tell_data_source
from renderers.layout import LayoutError, make_view

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def parcel_service():
    return current_app.extensions["gis_parcels"]


def preview_service() -> PreviewService:
    return current_app.extensions["gis_previews"]


def parcel_feature(parcel: Parcel, crs: str = NATIVE_CRS, matched: str | None = None) -> dict:
    properties = parcel_properties(parcel)
    if matched:
        properties["treffer"] = matched
    feature = {"type": "Feature", "id": parcel.key, "geometry": geojson_geometry(parcel.geometry, crs), "properties": properties}
    if crs not in ("EPSG:4326", "CRS84"):
        feature["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.split(':')[1]}"}}
    return feature


@blueprint.get("/parcels/<path:key>")
def get_parcel(key: str):
    crs = normalise_crs(request.args.get("crs"))
    parcel = parcel_service().get(key)
    response = jsonify(parcel_feature(parcel, crs))
    response.mimetype = "application/geo+json"
    return tell_data_source(response, {parcel.origin})


@blueprint.get("/parcels")
@limited(per_address("searches_per_address"))
def search_parcels():
    args = request.args
    service = parcel_service()
    paging = current_app.extensions["gis_settings"].limits.paging
    bulk = args.get("bbox") is not None and not any(args.get(name) is not None for name in ("q", "gemarkung", "x", "y"))
    # A bbox pages through an area: its page may be as large as limits.paging allows; searches give 100 at most.
    limit = parse_int("limit", args.get("limit"), 1, paging.max_page_size if bulk else 100) or 20
    offset = parse_int("offset", args.get("offset"), 0, 1_000_000) or 0
    crs = normalise_crs(args.get("crs"))
    if args.get("q") is not None:
        result = service.search_text(args["q"], limit=limit)
    elif args.get("gemarkung") is not None:
        result = service.search_attributes(args["gemarkung"], args.get("flur"), args.get("zaehler"), args.get("nenner"), limit=limit)
    elif args.get("x") is not None or args.get("y") is not None:
        x = parse_float("x", args.get("x"))
        y = parse_float("y", args.get("y"))
        result = service.search_point(x, y, crs)
    elif args.get("bbox") is not None:
        bbox_crs = normalise_crs(args.get("bbox-crs") or args.get("crs"))
        area = parse_bbox(args["bbox"], bbox_crs)
        check_bulk_page(paging, offset=offset, bbox=area)
        result = service.search_bbox(area, limit=limit, offset=offset)
    else:
        raise bad_parameter(
            "q",
            msg("api_please_give_q_gemarkung_with_flur"),
        )
    return _search_response(result, crs)


def _search_response(result: SearchResult, crs: str) -> Response:
    body = {
        "type": "FeatureCollection",
        "parcels": [parcel_feature(p, crs, result.matched.get(p.key)) for p in result.parcels],
        "total": result.total,
        "ambiguous": result.ambiguous,
        "search": result.kind,
    }
    if result.search_limit is not None:
        # Said in the answer, not only in the log: an empty answer may be the configuration's doing.
        body["notice"] = {
            "code": "search-extent",
            "text": search_notice(result, choose_language(current_app.extensions["gis_settings"].default_language)),
            "search_extent": [round(v, 3) for v in result.search_limit.extent],
        }
    return tell_data_source(jsonify(body), {p.origin for p in result.parcels})


@blueprint.get("/preview.json")
def preview_json():
    plan = preview_service().plan_from_args(request.args)
    # The picker shows this sentence as it is: the advice is true for the frame as it stands.
    return jsonify({**plan.describe(), "advice": fit_advice(plan, choose_language())})


def _image(rendered: Rendered, mimetype: str, *, max_age: int = 300, disposition: str | None = None,
           etag: str | None = None) -> Response:
    return image_response(rendered.data, mimetype, rendered.map_source, currency=preview_service().currency(),
                          parcel_origin=rendered.parcel_origin, max_age=max_age, disposition=disposition, etag=etag)


@blueprint.get("/preview.png")
def preview_png():
    service = preview_service()
    return _image(service.png(service.plan_from_args(request.args)), "image/png")


@blueprint.get("/preview.pdf")
def preview_pdf():
    service = preview_service()
    # ?download=1 saves the file; inline it opens in a new window (the pages never show it in their frame).
    how = "attachment" if request.args.get("download") == "1" else "inline"
    plan = service.plan_from_args(request.args)
    version = service.version_tag(plan, "pdf")
    # A page takes a second to make: a client that holds this version is answered before it is made.
    return already_held(service.currency(), version) or _image(
        service.pdf(plan), "application/pdf", disposition=f'{how}; filename="liegenschaftskarte-vorschau.pdf"',
        etag=version)


@blueprint.get("/preview.tif")
def preview_geotiff():
    service = preview_service()
    plan = service.plan_from_args(request.args)
    version = service.version_tag(plan, "tif")
    return already_held(service.currency(), version) or _image(
        service.geotiff(plan), "image/tiff", disposition='attachment; filename="liegenschaftskarte-vorschau.tif"',
        etag=version)


@blueprint.get("/map.png")
def map_png():
    """The bare cadastral map (no page, no highlight) for a web map, like a WMS GetMap."""
    bbox = parse_bbox(request.args.get("bbox") or "")
    width = parse_int("width", request.args.get("width"), 1, MAX_VIEW_PX)
    height = parse_int("height", request.args.get("height"), 1, MAX_VIEW_PX)
    if width is None or height is None:
        raise bad_parameter("width", msg("api_give_width_and_height_in_pixels"))
    try:
        view = make_view(bbox, width, height)
    except LayoutError as exc:
        raise bad_parameter("bbox", str(exc), str(exc)) from exc
    return _image(preview_service().map_png(view), "image/png", max_age=3600)


@blueprint.get("/openapi.json")
def openapi_json():
    """The contract of this API (gis_service/web/openapi.py); tests/test_openapi.py keeps it beside the routes."""
    # Only the routes this app has: without orders, their operations are not offered.
    present = {re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule) for rule in current_app.url_map.iter_rules()}
    contract = document(current_app.extensions["gis_settings"].limits.paging)
    contract["paths"] = {path: item for path, item in contract["paths"].items() if path in present}
    return jsonify(contract)
