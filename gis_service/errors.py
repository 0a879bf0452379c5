"""HTTP-facing errors: a status, a machine code and a message a person understands (de/en)."""

from __future__ import annotations

import math

from cadastre.errors import CadastreError
from catalogues import Message, msg, wording


class ApiError(CadastreError):
    """An answer other than success; rendered as application/problem+json or an HTML page."""

    status = 400

    def __init__(self, de: Message | str, en: str | None = None, *, status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(de, en, code=code)
        if status:
            self.status = status
        self.headers = headers or {}


class NotFound(ApiError):
    status = 404
    code = "not-found"


def bad_parameter(name: str, de: Message | str, en: str | None = None) -> ApiError:
    """The query parameter `name` is wrong; `de` (a Message) says why."""
    return ApiError(msg("parameter_invalid", name=name, detail=wording(de, en)), code="invalid-parameter")


class UpstreamUnavailable(ApiError):
    """503: the cadastral office's service does not answer and nothing cached or local can stand in."""

    status = 503
    code = "upstream-unavailable"


def map_unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(msg("map_unavailable", wait=wait_minutes(retry_after)),
                               headers={"Retry-After": str(retry_after)})


def parcels_unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(msg("parcels_unavailable", wait=wait_minutes(retry_after)),
                               headers={"Retry-After": str(retry_after)})


def wait_minutes(seconds: int) -> Message:
    """"einer Minute" / "3 Minuten": how long to wait, in whole minutes (at least one)."""
    minutes = max(1, math.ceil(seconds / 60))
    return msg("wait_one_minute") if minutes == 1 else msg("wait_n_minutes", n=minutes)
