"""The order process's texts as catalogue messages (catalogues/translations): mail notes and why an action cannot be done."""

from __future__ import annotations
from catalogues import Message, N_, msg, text


def in_language(message: Message, lang: str) -> str:
    return message.render(lang)


def office_text(key: str, **values) -> str:
    """A text stored with the payment or the order (purpose, refund reason, why cancelled): German, the office's."""
    return text(key, "de", **values)


# Pieces of the e-mails that depend on the order (gis_service.orders.notifications holds the mails themselves).
MAIL_NOTES: dict[str, Message] = {
    "next_invoice": msg("mail_next_invoice"),
    "note_post": msg("mail_note_post"),
    "note_download": msg("mail_note_download"),
    "note_invoice": msg("mail_note_invoice"),
    "note_refund": msg("mail_note_refund"),
    "reason_line": msg("mail_reason_line"),
}

# Why an action cannot be done now; clerks read some of them, citizens others.
PRODUCT_MISSING = msg("order_product_missing")
DRAFT_UNKNOWN = msg("order_draft_unknown")
DRAFT_GONE = msg("order_draft_gone")
FORM_OUTDATED = msg("order_form_outdated")
ORDER_NOT_STORED = msg("order_order_not_stored")
PAID_BY_INVOICE = msg("order_paid_by_invoice")
NOT_PAYABLE = msg("order_not_payable")
CITIZEN_CANNOT_CANCEL_PAID = msg("order_citizen_cannot_cancel_paid")
TAKE_NOT_POSSIBLE = msg("order_take_not_possible")
ADDRESS_NOT_CONFIRMED = msg("order_address_not_confirmed")
CONFIRMATION_EXPIRED = msg("order_confirmation_expired")
CONFIRMATION_INVALID = msg("order_confirmation_invalid")
TAKE_FIRST = msg("order_take_first")
NO_MAP_FOR_PRODUCT = msg("order_no_map_for_product")
UPLOAD_TYPES = msg("order_upload_types")
NOTHING_TO_DELIVER = msg("order_nothing_to_deliver")
REJECT_REASON_MISSING = msg("order_reject_reason_missing")
CANCEL_REASON_MISSING = msg("order_cancel_reason_missing")
DOCUMENTS_REVOKED_NOTE = msg("order_documents_revoked_note")
LATE_CANCEL_NOT_COMPLETED = msg("order_late_cancel_not_completed")
LATE_CANCEL_NOT_ONLINE = msg("order_late_cancel_not_online")
LATE_CANCEL_NOTHING_TO_REFUND = msg("order_late_cancel_nothing_to_refund")
INVOICE_AMOUNT_INVALID = msg("order_invoice_amount_invalid")
INVOICE_DATE_INVALID = msg("order_invoice_date_invalid")
INVOICE_PAID_BEFORE_SENT = msg("order_invoice_paid_before_sent")
NOT_AN_INVOICE_ORDER = msg("order_not_an_invoice_order")
INVOICE_ALREADY_SENT = msg("order_invoice_already_sent")
INVOICE_ORDER_CLOSED = msg("order_invoice_order_closed")
INVOICE_NOT_SENT = msg("order_invoice_not_sent")
INVOICE_SETTLED = msg("order_invoice_settled")
WRITE_OFF_REASON_MISSING = msg("order_write_off_reason_missing")

# With values, or stored in German with the payment or the order (office_text()): their message ids.
UNCONFIRMED_EXPIRED = N_("order_unconfirmed_expired")
PRODUCTION_FAILED = N_("order_production_failed")
PAYMENT_PURPOSE = N_("order_payment_purpose")
REFUND_REASON = N_("order_refund_reason")
PAYMENT_NOT_COMPLETED = N_("order_payment_not_completed")
