"""Order states, the transitions allowed between them, and the audit event each change leaves."""

from __future__ import annotations

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
    SUBMITTED: ("Eingegangen", "Received"),
    AWAITING_PAYMENT: ("Wartet auf Zahlung", "Awaiting payment"),
    PAID: ("Bezahlt", "Paid"),
    IN_PROGRESS: ("In Bearbeitung", "In progress"),
    COMPLETED: ("Erledigt", "Completed"),
    REJECTED: ("Abgelehnt", "Rejected"),
    CANCELLED: ("Storniert", "Cancelled"),
}


def status_text(status: str, lang: str = "de") -> str:
    de, en = STATUS_TEXT.get(status, (status, status))
    return en if lang == "en" else de


# What the audit log says, in the clerks' words; an action not listed is shown as recorded.
ACTION_TEXT = {
    "created": "angelegt",
    "payment_started": "Zahlung begonnen",
    "paid": "bezahlt",
    "paid_staff": "als bezahlt vermerkt",
    "payment_failed": "Zahlung fehlgeschlagen",
    "payment_canceled": "Zahlung abgebrochen",
    "payment_mismatch": "Zahlung passt nicht zur Gebühr",
    "routed_to_staff": "an die Sachbearbeitung gegeben",
    "taken": "übernommen",
    "assigned": "zugewiesen",
    "note_added": "interne Notiz hinzugefügt",
    "production_started": "Erstellung begonnen",
    "production_resumed": "Erstellung fortgesetzt",
    "production_failed": "Erstellung fehlgeschlagen",
    "extract_produced": "Auszug erstellt",
    "extract_regenerated": "Auszug neu erstellt",
    "file_attached": "Datei angehängt",
    "completed": "erledigt",
    "rejected": "abgelehnt",
    "cancelled": "storniert",
    "refund_needed": "Erstattung nötig",
    "refund_requested": "Erstattung angefordert",
    "refunded": "erstattet",
    "refund_failed": "Erstattung fehlgeschlagen",
    "mail_queued": "E-Mail vorgemerkt",
    "address_confirmed": "E-Mail-Adresse bestätigt",
    "justification_given": "Begründung angegeben",
    "justification_viewed": "Begründung eingesehen",
    "justification_purged": "Begründung gelöscht",
    "personal_data_purged": "personenbezogene Daten gelöscht",
    "cancelled_with_refund": "nach Abschluss storniert, Gebühr wird erstattet, Unterlagen widerrufen",
    "documents_revoked": "Unterlagen widerrufen",
    "invoice_sent": "Rechnung verschickt",
    "invoice_paid": "Rechnung bezahlt",
    "invoice_written_off": "Rechnung abgeschrieben",
}


def action_text(action: str) -> str:
    if action.startswith("status:"):
        return "Status: " + status_text(action.removeprefix("status:"))
    return ACTION_TEXT.get(action, action)


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
