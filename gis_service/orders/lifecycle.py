"""Order states, the transitions allowed between them, and the audit event each change leaves."""

from __future__ import annotations

from catalogues import N_, text
from gis_service.orders.db import utcnow
from gis_service.orders.errors import InvalidTransition
from gis_service.orders.models import Order, OrderEvent

SUBMITTED = "submitted"
AWAITING_PAYMENT = "awaiting_payment"
PAID = "paid"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
REJECTED = "rejected"
CANCELLED = "cancelled"

STATUSES = (SUBMITTED, AWAITING_PAYMENT, PAID, IN_PROGRESS, COMPLETED, REJECTED, CANCELLED)
CLOSED = frozenset({COMPLETED, REJECTED, CANCELLED})
# A citizen may cancel only before paying; a paid order is cancelled (and refunded) by staff.
CITIZEN_CANCELLABLE = frozenset({SUBMITTED, AWAITING_PAYMENT})
SYSTEM = "system"  # the actor of changes no person made

TRANSITIONS: dict[str, frozenset[str]] = {
    # submitted → in_progress only for orders paid by invoice (guarded in `transition`)
    SUBMITTED: frozenset({AWAITING_PAYMENT, IN_PROGRESS, REJECTED, CANCELLED}),
    AWAITING_PAYMENT: frozenset({PAID, REJECTED, CANCELLED}),
    PAID: frozenset({IN_PROGRESS, REJECTED, CANCELLED}),
    IN_PROGRESS: frozenset({COMPLETED, REJECTED, CANCELLED}),
    COMPLETED: frozenset(),
    REJECTED: frozenset(),
    CANCELLED: frozenset(),
}

STATUS_TEXT = {
    SUBMITTED: N_("status_submitted"),
    AWAITING_PAYMENT: N_("status_awaiting_payment"),
    PAID: N_("status_paid"),
    IN_PROGRESS: N_("status_in_progress"),
    COMPLETED: N_("status_completed"),
    REJECTED: N_("status_rejected"),
    CANCELLED: N_("status_cancelled"),
}


def status_text(status: str, lang: str = "de") -> str:
    return text(STATUS_TEXT[status], lang) if status in STATUS_TEXT else status


# What the audit log says, in the clerks' words (staff_words in either language); an action not listed is shown as recorded.
ACTION_TEXT = {
    "created": N_("event_created"),
    "payment_started": N_("event_payment_started"),
    "paid": N_("event_paid"),
    "paid_staff": N_("event_paid_staff"),
    "payment_failed": N_("event_payment_failed"),
    "payment_canceled": N_("event_payment_canceled"),
    "payment_mismatch": N_("event_payment_mismatch"),
    "routed_to_staff": N_("event_routed_to_staff"),
    "taken": N_("event_taken"),
    "assigned": N_("event_assigned"),
    "note_added": N_("event_note_added"),
    "production_started": N_("event_production_started"),
    "production_resumed": N_("event_production_resumed"),
    "production_failed": N_("event_production_failed"),
    "extract_produced": N_("event_extract_produced"),
    "extract_regenerated": N_("event_extract_regenerated"),
    "file_attached": N_("event_file_attached"),
    "completed": N_("event_completed"),
    "rejected": N_("event_rejected"),
    "cancelled": N_("event_cancelled"),
    "refund_needed": N_("event_refund_needed"),
    "refund_requested": N_("event_refund_requested"),
    "refunded": N_("event_refunded"),
    "refund_failed": N_("event_refund_failed"),
    "mail_queued": N_("event_mail_queued"),
    "address_confirmed": N_("event_address_confirmed"),
    "justification_given": N_("event_justification_given"),
    "justification_viewed": N_("event_justification_viewed"),
    "justification_purged": N_("event_justification_purged"),
    "personal_data_purged": N_("event_personal_data_purged"),
    "cancelled_with_refund": N_("event_cancelled_with_refund"),
    "documents_revoked": N_("event_documents_revoked"),
    "invoice_sent": N_("event_invoice_sent"),
    "invoice_paid": N_("event_invoice_paid"),
    "invoice_written_off": N_("event_invoice_written_off"),
    "mail_resent": N_("event_mail_resent"),
}


def action_text(action: str, lang: str = "de") -> str:
    if action.startswith("status:"):
        return text("event_status", lang, status=status_text(action.removeprefix("status:"), lang))
    return text(ACTION_TEXT[action], lang) if action in ACTION_TEXT else action


def can_transition(order: Order, to: str) -> bool:
    if to not in TRANSITIONS.get(order.status, frozenset()):
        return False
    if order.status == SUBMITTED and to == IN_PROGRESS and order.payment_method != "invoice":
        return False  # an order paid online is worked on only once it is paid
    return True


def record(order: Order, actor: str, action: str, reason: str | None = None, details: dict | None = None,
           from_status: str | None = None, to_status: str | None = None) -> OrderEvent:
    event = OrderEvent(at=utcnow(), actor=actor[:120], action=action, reason=reason, details=details,
                       from_status=from_status, to_status=to_status)
    order.events.append(event)
    order.updated_at = event.at
    return event


def transition(order: Order, to: str, actor: str, reason: str | None = None, details: dict | None = None,
               action: str | None = None) -> OrderEvent:
    """Move the order to `to` or raise InvalidTransition; the event records who, when and why."""
    if not can_transition(order, to):
        raise InvalidTransition(order.status, to)
    previous = order.status
    order.status = to
    if to in CLOSED:
        order.closed_at = utcnow()
        order.lease_until = None
    return record(order, actor, action or f"status:{to}", reason, details, previous, to)
