"""Errors of the order domain, each with a status and a message in German and English."""

from __future__ import annotations

from dataclasses import dataclass

from gis_service.errors import ApiError


@dataclass(frozen=True)
class FieldError:
    field: str
    de: str
    en: str

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


class OrderValidationError(ApiError):
    """The order request is incomplete or contradictory; `errors` says which field and why."""

    status = 422

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        de = "Bitte prüfen Sie Ihre Angaben: " + " ".join(e.de for e in errors)
        en = "Please check your entries: " + " ".join(e.en for e in errors)
        super().__init__(de, en, status=422, code="invalid-order")

    def as_list(self, lang: str) -> list[dict]:
        return [{"field": e.field, "message": e.message(lang)} for e in self.errors]


class OrderNotFound(ApiError):
    status = 404

    def __init__(self):
        super().__init__("Diese Bestellung gibt es nicht, oder der Link ist nicht gültig.",
                         "There is no such order, or the link is not valid.", status=404, code="order-not-found")


class InvalidTransition(ApiError):
    status = 409

    def __init__(self, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        super().__init__(
            f"Das ist im Zustand „{current}“ nicht möglich (gewünscht: „{wanted}“).",
            f"This is not possible in state '{current}' (wanted: '{wanted}').",
            status=409, code="invalid-transition")


class ConflictError(ApiError):
    """Someone else changed the order meanwhile (optimistic locking)."""

    status = 409

    def __init__(self):
        super().__init__(
            "Der Auftrag wurde inzwischen von jemand anderem geändert. Bitte laden Sie die Seite neu und prüfen Sie den Stand.",
            "Someone else changed the order meanwhile. Please reload the page and check its state.",
            status=409, code="conflict")


class IdempotencyMismatch(ApiError):
    status = 422

    def __init__(self):
        super().__init__(
            "Dieser Idempotency-Key wurde schon für eine andere Bestellung verwendet.",
            "This Idempotency-Key was already used for a different order.",
            status=422, code="idempotency-key-reused")


class PaymentError(ApiError):
    """The payment service could not be reached or answered nonsense."""

    status = 502

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(
            "Der Bezahldienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.",
            "The payment service cannot be reached right now. Please try again in a few minutes.",
            status=502, code="payment-service-unavailable")

    def __str__(self) -> str:
        return self.detail


class ActionError(ApiError):
    """A staff or citizen action that cannot be done now; the message says why."""

    status = 409

    def __init__(self, de: str, en: str | None = None, *, status: int = 409, code: str = "action-not-possible"):
        super().__init__(de, en or de, status=status, code=code)
