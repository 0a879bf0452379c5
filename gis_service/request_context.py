"""The id of the request being served, for log lines, the X-Request-ID header and error pages (framework-free)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("gis_request_id", default=None)
# An id from the proxy is kept only if it cannot smuggle anything into a log line or a header.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def begin_request(incoming: str | None = None) -> str:
    """Take the proxy's X-Request-ID when it is a plain token, else make one; returns it."""
    request_id = incoming if incoming and _ACCEPTABLE.fullmatch(incoming) else uuid.uuid4().hex
    _REQUEST_ID.set(request_id)
    return request_id


def end_request() -> None:
    _REQUEST_ID.set(None)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()
