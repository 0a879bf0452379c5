"""The OGC API: pygeoapi's Flask blueprint mounted at /ogc, with one pygeoapi API per app."""

from __future__ import annotations

import logging
import os
import sys
import threading
from copy import deepcopy
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from werkzeug.datastructures import Headers

from gis_service.web.ogc.config import MOUNT, write_documents
from gis_service.web.i18n import choose_language, text
from gis_service.web.responses import conditional_image, problem_response, status_title, tell_map_source

log = logging.getLogger(__name__)

_import_lock = threading.Lock()


def init_app(app: Flask, settings) -> None:
    """Generate pygeoapi's config and OpenAPI into the instance folder, then mount its blueprint at /ogc.

    pygeoapi.flask_app reads PYGEOAPI_CONFIG and PYGEOAPI_OPENAPI when it is imported and keeps
    one API object in a module global. The first app to get here imports it with its own
    documents; every app then gets its own API (its own config, extent and URL), which a stand-in
    for that global finds through current_app. So several apps (tests, or two configurations in
    one process) each answer with their own data.
    """
    if not settings.ogc.enabled:
        return
    # pygeoapi logs every 4xx it answers as an error with a traceback. Our providers log upstream
    # failures themselves, and anything unexpected reaches Flask's error handler.
    logging.getLogger("pygeoapi").setLevel(logging.CRITICAL)
    instance = Path(app.instance_path)
    # The static URL appears where no request is at hand (metadata, the licence link): behind a
    # proxy it must be the public address, not the internal one.
    public_base = settings.orders.public_base_url if settings.orders.enabled else None
    url = settings.ogc.url or (public_base.rstrip("/") + MOUNT if public_base else f"http://{_public_host(settings)}{MOUNT}")
    config_path, openapi_path, config, openapi = write_documents(
        settings, app.extensions["gis_source"], instance, url
    )
    flask_app = _pygeoapi(config_path, openapi_path)
    app.extensions["gis_ogc_api"] = _make_api(config, openapi, settings.ogc.url)
    app.register_blueprint(flask_app.BLUEPRINT, url_prefix=MOUNT)
    app.before_request(_refuse_undecodable_bodies)
    app.after_request(_tell_where_answers_came_from)


def _tell_where_answers_came_from(response):
    """pygeoapi answers from our providers' return values alone: headers are added here."""
    if not request.path.startswith(MOUNT):
        return response
    if not isinstance(response.headers, Headers):
        response.headers = Headers(response.headers)  # pygeoapi sets a plain dict, which hides the mimetype
    map_source = g.pop("gis_map_source", None)
    if map_source is not None and response.status_code == 200 and (response.mimetype or "").startswith("image/"):
        response = conditional_image(response, map_source, currency=current_app.extensions["gis_previews"].currency())
    elif map_source is not None:
        tell_map_source(response, map_source)
    if response.status_code == 503 and "Retry-After" not in response.headers:
        source = current_app.extensions["gis_source"]
        retry_after = getattr(source, "retry_after", None)
        response.headers["Retry-After"] = str(retry_after() if retry_after else 30)
    return response


def _refuse_undecodable_bodies():
    """pygeoapi decodes request bodies as UTF-8 without a guard (a 500 otherwise)."""
    if request.path.startswith(MOUNT + "/") and request.method in ("POST", "PUT", "PATCH") and request.content_length:
        try:
            request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError:
            lang = choose_language()
            return problem_response(400, status_title(400, lang), text("ogc_body_not_utf8", lang), "invalid-encoding")
    return None


def _public_host(settings) -> str:
    host = settings.server.host
    return f"{'localhost' if host in ('127.0.0.1', '0.0.0.0', '::') else host}:{settings.server.port}"


def _pygeoapi(config_path: Path, openapi_path: Path):
    with _import_lock:
        if "pygeoapi.flask_app" not in sys.modules:
            os.environ["PYGEOAPI_CONFIG"] = str(config_path)
            os.environ["PYGEOAPI_OPENAPI"] = str(openapi_path)
            import pygeoapi.api as core

            # pygeoapi's API() calls logging.basicConfig(), which would take over this process's
            # root logger; our application configures logging itself.
            core.setup_logger = lambda _config: None
        import pygeoapi.flask_app as flask_app

        if not isinstance(flask_app.api_, _AppAPI):
            flask_app.api_ = _AppAPI(flask_app.api_)
        return flask_app


def _make_api(config: dict, openapi: dict, fixed_url: str | None):
    from pygeoapi.api import API

    class RequestAwareAPI(API):
        """pygeoapi's API whose links start at the URL the client used, unless ogc.url fixes it."""

        @property
        def base_url(self) -> str:
            if fixed_url:
                return fixed_url
            if has_request_context():
                return request.url_root.rstrip("/") + MOUNT
            return self._base_url

        @base_url.setter
        def base_url(self, value: str) -> None:
            self._base_url = value

        @property
        def tpl_config(self) -> dict:
            # HTML pages take the server URL from here: the same per-request URL as the links.
            return {**self._tpl_config, "server": {**self._tpl_config["server"], "url": self.base_url}}

        @tpl_config.setter
        def tpl_config(self, value: dict) -> None:
            self._tpl_config = value

    return RequestAwareAPI(deepcopy(config), openapi)


class _AppAPI:
    """Stands in for pygeoapi.flask_app.api_: the API of the Flask app that serves the request."""

    def __init__(self, fallback):
        self._fallback = fallback

    def _target(self):
        if has_app_context():
            api = current_app.extensions.get("gis_ogc_api")
            if api is not None:
                return api
        return self._fallback

    def __getattr__(self, name: str):
        return getattr(self._target(), name)
