"""HTTP-facing errors: a status, a machine code and a message a person understands (de/en)."""

from __future__ import annotations

from cadastre.errors import CadastreError


class ApiError(CadastreError):
    """An answer other than success; rendered as application/problem+json or an HTML page."""

    status = 400

    def __init__(self, de: str, en: str, *, status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(de, en, code=code)
        if status:
            self.status = status
        self.headers = headers or {}


class NotFound(ApiError):
    status = 404
    code = "not-found"


def bad_parameter(name: str, de: str, en: str) -> ApiError:
    return ApiError(f"Parameter „{name}“: {de}", f"Parameter '{name}': {en}", code="invalid-parameter")
