"""The OpenAPI 3.1 contract of /api/v1, kept beside the routes and served at /api/v1/openapi.json."""

from __future__ import annotations

import copy

from gis_service.admission import MAX_VIEW_PX
from gis_service.config import PagingSettings

PROBLEM = "application/problem+json"


def _param(name: str, description: str, schema: dict | None = None, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


def _problems(*statuses: int) -> dict:
    # Every refusal is problem+json (gis_service/web/responses.py); 404/405/413 may come from any route.
    texts = {400: "Ungültige Anfrage / Bad request", 401: "Nicht berechtigt / Unauthorized",
             404: "Nicht gefunden / Not found", 409: "Konflikt / Conflict", 413: "Zu groß / Too large",
             415: "Falscher Inhaltstyp / Unsupported media type", 422: "Unvollständig / Unprocessable",
             429: "Zu viele Anfragen (limits.rate); Retry-After sagt, wann wieder / "
                  "too many requests (limits.rate); Retry-After says when to try again",
             503: "Vorübergehend nicht verfügbar / Temporarily unavailable"}
    answers = {str(s): {"description": texts.get(s, "Fehler / Error"),
                        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
               for s in sorted({400, 404, 405, 413, *statuses})}
    if "429" in answers:
        answers["429"]["headers"] = {"Retry-After": {"description": "Sekunden / seconds",
                                                     "schema": {"type": "integer", "minimum": 1}}}
    return answers


def _ok(description: str, media: str, schema: dict | None = None, status: str = "200") -> dict:
    return {status: {"description": description, "content": {media: {"schema": schema or {}}}}}


_BINARY = {"type": "string", "format": "binary"}
_LANG = _param("lang", "de oder en; sonst Deutsch / de or en; anything else gives German")
_CRS = _param("crs", "Koordinatensystem der Antwort / CRS of the answer, e.g. EPSG:25832, EPSG:4326")
_PAGE = [
    _param("parcel", "Flurstückskennzeichen in jeder Schreibweise / parcel key in any accepted form", required=True),
    _param("key", "wie parcel / same as parcel"),
    _param("scale", "Maßstabszahl / scale denominator, e.g. 1000", {"type": "string", "pattern": "^[0-9]{1,7}$"}),
    _param("paper", "Papierformat / paper size, e.g. A4"),
    _param("orientation", "Ausrichtung / orientation", {"type": "string", "enum": ["portrait", "landscape"]}),
    _param("dpi", "Auflösung / resolution", {"type": "string", "pattern": "^[0-9]{1,4}$"}),
    _param("center", "Mittelpunkt x,y in EPSG:25832 / centre x,y"),
    _LANG,
]
_ORDER_KEY = [{"ApiKey": []}, {"Bearer": []}, {}]


def _paths(paging: PagingSettings) -> dict:
    image = _problems(503)
    return {
        "/api/v1/openapi.json": {"get": {
            "operationId": "openapi", "summary": "Dieses Dokument / this document",
            "responses": {**_ok("OpenAPI 3.1", "application/json", {"type": "object"}), **_problems()}}},
        "/api/v1/parcels": {"get": {
            "operationId": "searchParcels", "summary": "Flurstücke suchen / search parcels",
            "parameters": [_param("q", "Kennzeichen oder Adresse / key or address"),
                           _param("gemarkung", "Gemarkung (Name oder Nummer)"), _param("flur", "Flur"),
                           _param("zaehler", "Zähler"), _param("nenner", "Nenner"),
                           _param("x", "Rechtswert / x"), _param("y", "Hochwert / y"),
                           _param("bbox", f"minx,miny,maxx,maxy; höchstens / at most {paging.max_bbox_km2:g} km² "
                                          "(limits.paging.max_bbox_km2), sonst / else 400"),
                           _param("bbox-crs", "CRS of bbox"), _CRS,
                           _param("limit", f"1–100; mit bbox / with bbox 1–{paging.max_page_size} "
                                           "(limits.paging.max_page_size); leer / empty: 20",
                                  {"type": "string", "pattern": "^[0-9]{0,4}$"}),
                           _param("offset", f"ab / from; mit bbox höchstens / with bbox at most {paging.max_offset} "
                                            "(limits.paging.max_offset); leer / empty: 0",
                                  {"type": "string", "pattern": "^[0-9]{0,7}$"})],
            "responses": {**_ok("Treffer / matches", "application/json", {"$ref": "#/components/schemas/Search"}),
                          **_problems(429)}}},
        "/api/v1/parcels/{key}": {"get": {
            "operationId": "getParcel", "summary": "Ein Flurstück / one parcel",
            "parameters": [_param("key", "Flurstückskennzeichen / parcel key", where="path"), _CRS],
            "responses": {**_ok("GeoJSON Feature", "application/geo+json", {"$ref": "#/components/schemas/Feature"}),
                          **_problems()}}},
        "/api/v1/preview.json": {"get": {
            "operationId": "previewJson", "summary": "Beschreibung der Vorschau / preview description",
            "parameters": _PAGE,
            "responses": {**_ok("Beschreibung / description", "application/json", {"type": "object"}), **image}}},
        "/api/v1/preview.png": {"get": {
            "operationId": "previewPng", "summary": "Vorschau als PNG / preview as PNG", "parameters": _PAGE,
            "responses": {**_ok("PNG", "image/png", _BINARY), **image}}},
        "/api/v1/preview.pdf": {"get": {
            "operationId": "previewPdf", "summary": "Vorschau als PDF / preview as PDF",
            "parameters": [*_PAGE, _param("download", "1: als Datei speichern / save as a file")],
            "responses": {**_ok("PDF", "application/pdf", _BINARY), **image}}},
        "/api/v1/preview.tif": {"get": {
            "operationId": "previewTif", "summary": "Kartenfeld als GeoTIFF / map face as GeoTIFF", "parameters": _PAGE,
            "responses": {**_ok("GeoTIFF", "image/tiff", _BINARY), **image}}},
        "/api/v1/map.png": {"get": {
            "operationId": "mapPng", "summary": "Die Karte ohne Seite / the bare map",
            "parameters": [_param("bbox", "minx,miny,maxx,maxy in EPSG:25832", required=True),
                           _param("width", f"1–{MAX_VIEW_PX} px", {"type": "string", "pattern": "^[0-9]{1,4}$"}, required=True),
                           _param("height", f"1–{MAX_VIEW_PX} px", {"type": "string", "pattern": "^[0-9]{1,4}$"}, required=True)],
            "responses": {**_ok("PNG", "image/png", _BINARY), **image}}},
        "/api/v1/products": {"get": {
            "operationId": "products", "summary": "Produkte und Gebühren / products and fees", "parameters": [_LANG],
            "responses": {**_ok("Produkte / products", "application/json", {"type": "object"}), **_problems()}}},
        "/api/v1/fee": {"get": {
            "operationId": "fee", "summary": "Gebühr der Optionen / fee of the options",
            "parameters": [_param(name, name) for name in ("parcel", "product", "paper", "orientation", "scale",
                                                          "center", "partial_ok", "copies", "delivery", "certified",
                                                          "payment_method")] + [_LANG],
            "responses": {**_ok("Gebühr / fee", "application/json", {"type": "object"}), **_problems(422)}}},
        "/api/v1/orders": {"post": {
            "operationId": "createOrder", "summary": "Bestellen / place an order", "security": _ORDER_KEY,
            "parameters": [_param("Idempotency-Key", "8–200 sichtbare ASCII-Zeichen / visible ASCII characters",
                                  {"type": "string", "pattern": "^[\\x21-\\x7e]{8,200}$"}, where="header",
                                  required=True)],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/OrderRequest"}}}},
            "responses": {**_ok("Bestellung / order", "application/json", {"type": "object"}, status="201"),
                          **_problems(401, 409, 415, 422, 429, 503)}}},
        "/api/v1/orders/{number}": {"get": {
            "operationId": "getOrder", "summary": "Stand einer Bestellung / an order's status", "security": _ORDER_KEY,
            "parameters": [_param("number", "Bestellnummer / order number", where="path"),
                           _param("token", "Zugangscode / the citizen's access token"),
                           _param("X-Order-Token", "Zugangscode / access token", where="header"), _LANG],
            "responses": {**_ok("Bestellung / order", "application/json", {"type": "object"}), **_problems(401)}}},
        "/api/v1/verifications/{code}": {"get": {
            "operationId": "getVerification",
            "summary": "Ausgestellter Auszug zu einem Prüfcode / the extract issued under a verification code",
            "parameters": [_param("code", "Prüfcode wie gedruckt, Groß-/Kleinschreibung und Bindestriche egal / "
                                          "verification code as printed, any case, dashes optional", where="path"),
                           _LANG],
            "responses": {**_ok("Ausgestellter Auszug; valid false: nicht mehr gültig / the issued extract; valid "
                                "false: no longer valid", "application/json",
                                {"$ref": "#/components/schemas/Verification"}),
                          **_problems(404, 429)}}},
        "/api/v1/payments/notify": {"post": {
            "operationId": "paymentNotification", "summary": "Meldung des Zahlungsdienstes / payment provider's notice",
            "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {**_ok("Angenommen / accepted", "application/json", {"type": "object"}),
                          **_problems(401, 503)}}},
    }


_COMPONENTS = {
    "schemas": {
        "Verification": {"type": "object", "required": ["code", "valid", "sha256", "issued_on", "parcel"], "properties": {
            "code": {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$"},
            "valid": {"type": "boolean"},
            "withdrawn_reason": {"type": ["string", "null"], "enum": ["superseded", "cancelled", "rejected", "refunded", None]},
            "withdrawn_on": {"type": ["string", "null"], "format": "date"},
            "product": {"type": "string"},
            "parcel": {"type": "object", "properties": {"key": {"type": "string"}, "label": {"type": "string"}}},
            "scale": {"type": "integer"}, "paper": {"type": "string"}, "orientation": {"type": "string"},
            "data_currency": {"type": ["string", "null"]}, "issued_on": {"type": "string", "format": "date"},
            "office": {"type": "string"}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "size": {"type": "integer"}, "sealed": {"type": "boolean"}, "page": {"type": "string", "format": "uri"}}},
        "Problem": {"type": "object", "required": ["type", "title", "status", "detail", "code"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "code": {"type": "string"},
            "request_id": {"type": "string", "description": "also in the X-Request-ID header and the log"},
            "errors": {"type": "array", "items": {"type": "object"}}}},
        "Feature": {"type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
            "type": {"const": "Feature"}, "id": {"type": "string"}, "geometry": {"type": "object"},
            "properties": {"type": "object"}}},
        "Search": {"type": "object", "required": ["parcels", "total", "ambiguous"], "properties": {
            "parcels": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
            "total": {"type": "integer"}, "ambiguous": {"type": "boolean"}, "search": {"type": "string"},
            "notice": {"$ref": "#/components/schemas/SearchNotice"}}},
        # Only on an address search that found nothing while limited to source.wfs.search_extent.
        "SearchNotice": {"type": "object", "required": ["code", "text", "search_extent"], "properties": {
            "code": {"const": "search-extent"},
            "text": {"type": "string", "description": "Deutsch, or English with ?lang=en / Accept-Language: en"},
            "search_extent": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                              "description": "minx, miny, maxx, maxy in EPSG:25832"}}},
        "OrderRequest": {"type": "object", "required": ["parcel", "product", "contact"], "properties": {
            "parcel": {"type": "string"}, "product": {"type": "string"}, "paper": {"type": "string"},
            "orientation": {"type": "string", "enum": ["portrait", "landscape"]}, "scale": {"type": "integer"},
            "center": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            "copies": {"type": "integer"}, "certified": {"type": "boolean"}, "delivery": {"type": "string"},
            "payment_method": {"type": "string"}, "justification": {"type": "string"},
            "contact": {"type": "object", "required": ["name", "email"], "properties": {
                "name": {"type": "string"}, "email": {"type": "string"}}},
            "address": {"type": "object"}}},
    },
    "securitySchemes": {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    },
}


def document(paging: PagingSettings | None = None) -> dict:
    """A fresh copy each time, so no caller can change what the next one is served; limits as configured."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "gis-service JSON API", "version": "1",
                 "description": "Auszüge aus der Liegenschaftskarte / cadastral map extracts. "
                                "Fehler als application/problem+json, Deutsch; Englisch mit Accept-Language: en."},
        "paths": _paths(paging or PagingSettings()),
        "components": _COMPONENTS,
    })
