"""For the operator: /healthz (liveness), /readyz (readiness with reasons) and /metrics (Prometheus)."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request

from gis_service import metrics
from gis_service.web.limits import rate_limit_problems
from gis_service.web.i18n import choose_language, text
from gis_service.web.responses import problem_response, status_title

blueprint = Blueprint("operations", __name__)


def _services():
    return current_app.extensions["gis_services"]


@blueprint.get("/healthz")
def healthz():
    info = _services().source.info()
    return jsonify({"status": "ok", "source": info.name, "data_currency": info.data_currency})


@blueprint.get("/readyz")
def readyz():
    """For the load balancer: 503 with the reasons while this process cannot serve."""
    problems = _services().readiness_problems() + rate_limit_problems(current_app)
    response = jsonify({"status": "not ready" if problems else "ready", "problems": problems})
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/metrics")
def metrics_text():
    services = _services()
    settings = services.settings.metrics
    if not settings.enabled:
        lang = choose_language()
        return problem_response(404, status_title(404, lang), text("metrics_off", lang), "metrics-off")
    if not _may_read(settings):
        lang = choose_language()
        return problem_response(403, status_title(403, lang), text("metrics_forbidden", lang), "metrics-forbidden")
    readings = []
    if services.orders is not None:
        from gis_service.orders.monitoring import order_readings, seal_readings

        readings = order_readings(services.orders.factory)
        if services.orders.service is not None:
            readings += seal_readings(services.orders.service.issuer.sealer)
    response = Response(metrics.exposition(readings), mimetype=None, content_type=metrics.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_read(settings) -> bool:
    if settings.token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if offered and hmac.compare_digest(offered.encode(), settings.token.encode()):
            return True
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in settings.allow_networks)
