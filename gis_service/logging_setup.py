"""Log output for the entry points: JSON lines for collectors or plain text for a terminal, each with the request id."""

from __future__ import annotations

import logging
import sys

from gis_service.request_context import current_request_id

_HANDLER_NAME = "gis-service"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request it was logged in ("-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """One handler on the root logger (replacing ours from an earlier call), on stderr as gunicorn expects."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # pikepdf announces its C++ logger bridge at INFO when first imported (by the PDF renderer), which
    # happens between the early plain-text setup and the configured one: a plain line among JSON lines.
    logging.getLogger("pikepdf").setLevel(max(logging.WARNING, root.level))
