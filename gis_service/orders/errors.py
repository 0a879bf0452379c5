"""Errors of the order domain, each with a status and a message in German and English."""

from __future__ import annotations

from dataclasses import dataclass

from catalogues import Message, msg, wording
from gis_service.errors import ApiError


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field: a catalogues.Message (or, legacy, German and English sentences)."""

    field: str
    de: Message | str
    en: str | None = None

    def message(self, lang: str) -> str:
        return wording(self.de, self.en).render(lang)


class OrderValidationError(ApiError):
    """The order request is incomplete or contradictory; `errors` says which field and why."""

    status = 422

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__(msg("order_check_entries", details=lambda lang: " ".join(e.message(lang) for e in errors)),
                         status=422, code="invalid-order")

    def as_list(self, lang: str) -> list[dict]:
        return [{"field": e.field, "message": e.message(lang)} for e in self.errors]


class OrderNotFound(ApiError):
    status = 404

    def __init__(self):
        super().__init__(msg("errors_there_is_no_such_order_or"), status=404, code="order-not-found")


class InvalidTransition(ApiError):
    status = 409

    def __init__(self, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        super().__init__(
            msg("errors_this_is_not_possible_in_state", current=current, wanted=wanted),
            status=409, code="invalid-transition")


class ConflictError(ApiError):
    """Someone else changed the order meanwhile (optimistic locking)."""

    status = 409

    def __init__(self):
        super().__init__(
            msg("errors_someone_else_changed_the_order_meanwhile"),
            status=409, code="conflict")


class IdempotencyMismatch(ApiError):
    status = 422

    def __init__(self):
        super().__init__(
            msg("errors_this_idempotency_key_was_already_used"),
            status=422, code="idempotency-key-reused")


class PaymentError(ApiError):
    """The payment service could not be reached or answered nonsense."""

    status = 502

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(
            msg("errors_the_payment_service_cannot_be_reached"),
            status=502, code="payment-service-unavailable")

    def __str__(self) -> str:
        return self.detail


class ActionError(ApiError):
    """A staff or citizen action that cannot be done now; the message says why."""

    status = 409

    def __init__(self, de: Message | str, en: str | None = None, *, status: int = 409, code: str = "action-not-possible"):
        super().__init__(de, en, status=status, code=code)
