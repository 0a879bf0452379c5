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
    return UpstreamUnavailable(
        "Der Kartendienst des Katasteramts ist gerade nicht erreichbar, und es liegt kein gespeichertes "
        f"Kartenbild vor. Bitte versuchen Sie es in {_minutes_de(retry_after)} noch einmal.",
        "The cadastral office's map service cannot be reached right now and no stored map image is "
        f"available. Please try again in {_minutes_en(retry_after)}.",
        headers={"Retry-After": str(retry_after)},
    )


def parcels_unavailable(retry_after: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "Die Flurstücksdaten des Katasteramts sind gerade nicht erreichbar. Bitte versuchen Sie es in "
        f"{_minutes_de(retry_after)} noch einmal.",
        "The cadastral office's parcel data cannot be reached right now. Please try again in "
        f"{_minutes_en(retry_after)}.",
        headers={"Retry-After": str(retry_after)},
    )


def _minutes(seconds: int, one: str, many: str) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return one if minutes == 1 else f"{minutes} {many}"


def _minutes_de(seconds: int) -> str:
    return _minutes(seconds, "einer Minute", "Minuten")


def _minutes_en(seconds: int) -> str:
    return _minutes(seconds, "a minute", "minutes")
