"""Per request: an id (taken from the proxy or made), returned as X-Request-ID, and one log line without personal data."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from gis_service import metrics
from gis_service.request_context import begin_request, current_request_id, end_request

log = logging.getLogger("gis_service.requests")


def register_request_log(app: Flask, *, log_requests: bool = True) -> None:
    @app.before_request
    def _begin():
        begin_request(request.headers.get("X-Request-ID"))
        g._gis_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        request_id = current_request_id()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.pop("_gis_started", None)
        if started is None:
            return response
        # The route pattern, never the path or query: those carry tokens, keys and search text.
        route = request.url_rule.rule if request.url_rule is not None else None
        seconds = time.perf_counter() - started
        map_source = response.headers.get("X-Map-Source")
        metrics.count_request(route, request.method, response.status_code, seconds, map_source)
        if log_requests:
            log.info("request", extra={"method": request.method, "route": route, "status": response.status_code,
                                       "duration_ms": round(seconds * 1000, 1), "map_source": map_source})
        return response

    @app.teardown_request
    def _end(_error):
        end_request()
