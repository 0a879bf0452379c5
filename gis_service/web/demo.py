"""The demo host page /demo/formular: plays a municipality's online form that embeds the picker and takes over its choice."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, render_template, request, url_for

from gis_service.orders.lifecycle import STATUSES, status_text
from gis_service.web.i18n import choose_language, page_context
from gis_service.web.origins import server_origins

blueprint = Blueprint("demo", __name__, url_prefix="/demo")


def _picker(lang: str) -> tuple[str, str]:
    """The picker's URL and the origin its messages must come from."""
    configured = current_app.extensions["gis_settings"].embed.demo_picker_url
    url = configured or url_for("embed.search")
    separator = "&" if "?" in url else "?"
    url = f"{url}{separator}{urlencode({'lang': lang})}"
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else request.host_url.rstrip("/")
    return url, origin


def _resumed(picker_origin: str) -> str | None:
    """Back from the payment (whole window): the picker's page to show again, only on the picker's origin.

    On loopback the page may come under the server's other name (the payment returns to
    orders.public_base_url, http://localhost:8080, while the demo was opened as http://127.0.0.1:8080):
    it is framed under the picker's name, the one this page and the picker's allow-list expect.
    """
    page = request.args.get("gis_service_page", "")
    try:
        parts = urlsplit(page)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if len(page) < 2000 and origin in server_origins(picker_origin) and parts.path.startswith("/embed/"):
        picker = urlsplit(picker_origin)
        return urlunsplit((picker.scheme, picker.netloc, parts.path, parts.query, parts.fragment))
    return None


@blueprint.get("/formular")
def formular():
    lang = choose_language(current_app.extensions["gis_settings"].default_language)
    picker_url, picker_origin = _picker(lang)
    # back from paying in the whole window: the iframe shows the order's page again
    picker_url = _resumed(picker_origin) or picker_url
    response = current_app.make_response(render_template(
        "demo/formular.html", picker_url=picker_url, picker_origin=picker_origin,
        statuses={status: status_text(status, lang) for status in STATUSES}, **page_context(lang)))
    # The host page frames exactly the picker and runs only its own script.
    frame_src = "'self'" if picker_origin == request.host_url.rstrip("/") else f"'self' {picker_origin}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {picker_origin}; "
        f"frame-src {frame_src}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return response
