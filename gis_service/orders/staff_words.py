"""Words, not codes: audit actors, events, mail kinds and payment states as clerks read them, in German and English."""

from __future__ import annotations

from gis_service.orders import lifecycle as lc

# English for lifecycle.ACTION_TEXT (German there), plus the events this module's neighbours add.
ACTION_EN = {
    "created": "created",
    "assigned": "assigned",
    "address_confirmed": "e-mail address confirmed",
    "note_added": "internal note added",
    "cancelled_with_refund": "cancelled after completion, fee being refunded, documents revoked",
    "documents_revoked": "documents revoked",
    "invoice_sent": "invoice sent",
    "invoice_paid": "invoice paid",
    "invoice_written_off": "invoice written off",
    "payment_started": "payment started",
    "paid": "paid",
    "paid_staff": "marked as paid",
    "payment_failed": "payment failed",
    "payment_canceled": "payment cancelled",
    "payment_mismatch": "payment does not match the fee",
    "routed_to_staff": "handed to a clerk",
    "taken": "taken",
    "production_started": "production started",
    "production_resumed": "production resumed",
    "production_failed": "production failed",
    "extract_produced": "extract produced",
    "extract_regenerated": "extract produced again",
    "file_attached": "file attached",
    "completed": "completed",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "refund_needed": "refund needed",
    "refund_requested": "refund requested",
    "refunded": "refunded",
    "refund_failed": "refund failed",
    "mail_queued": "e-mail queued",
    "mail_resent": "e-mail sent again",
    "justification_given": "justification given",
    "justification_viewed": "justification viewed",
    "justification_purged": "justification deleted",
    "personal_data_purged": "personal data deleted",
}
ACTION_DE_EXTRA = {"mail_resent": "E-Mail erneut gesendet"}

MAIL_KIND = {
    "received": ("Eingangsbestätigung", "order received"),
    "paid_staff": ("Zahlungseingang", "payment received"),
    "ready": ("Auszug fertig", "extract ready"),
    "follows": ("Auszug folgt", "extract follows"),
    "completed": ("Auftrag erledigt", "order completed"),
    "rejected": ("Ablehnung", "rejection"),
    "cancelled": ("Stornierung", "cancellation"),
}

# XBezahldienste payment states (and our MISMATCH) as the payments table shows them.
PAYMENT_STATUS = {
    "INITIAL": ("begonnen, noch nicht bezahlt", "started, not paid yet"),
    "PAYED": ("bezahlt", "paid"),
    "FAILED": ("fehlgeschlagen", "failed"),
    "CANCELED": ("abgebrochen", "cancelled"),
    "MISMATCH": ("Betrag passt nicht zur Gebühr", "amount does not match the fee"),
}

PROVIDERS = {"xbezahldienste": "XBezahldienste"}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def actor_text(actor: str, lang: str = "de") -> str:
    """`citizen`, `system`, `payment:xbezahldienste`, `staff:mmeier`, `api:formserver` in words."""
    kind, _, name = actor.partition(":")
    if actor == "citizen":
        return _pick(("Kundin/Kunde", "citizen"), lang)
    if actor == lc.SYSTEM:
        return _pick(("automatisch (System)", "automatic (system)"), lang)
    if kind == "payment":
        provider = PROVIDERS.get(name, name or "?")
        return _pick((f"Bezahldienst {provider}", f"payment service {provider}"), lang)
    if kind == "staff":
        return _pick((f"{name} (Sachbearbeitung)", f"{name} (clerk)"), lang)
    if kind == "api":
        # api:<client> or api:<client>:<key> — the client's configured name, never the key.
        client = name.partition(":")[0]
        return _pick((f"Formularserver {client}".strip(), f"form server {client}".strip()), lang)
    return _pick(("unbekannt", "unknown"), lang)


def event_text(action: str, lang: str = "de") -> str:
    if action.startswith("status:"):
        status = action.removeprefix("status:")
        return f"Status: {lc.status_text(status, lang)}" if status in lc.STATUS_TEXT else _unknown(lang)
    if lang == "en":
        return ACTION_EN.get(action) or _unknown(lang)
    return lc.ACTION_TEXT.get(action) or ACTION_DE_EXTRA.get(action) or _unknown(lang)


def mail_kind_text(kind: str, lang: str = "de") -> str:
    return _pick(MAIL_KIND[kind], lang) if kind in MAIL_KIND else _unknown(lang)


def payment_status_text(status: str, lang: str = "de") -> str:
    return _pick(PAYMENT_STATUS[status], lang) if status in PAYMENT_STATUS else _unknown(lang)


def status_words(status: str | None, lang: str = "de") -> str:
    """An order state; a state this code does not know is said to be unknown, not shown raw."""
    return lc.status_text(status, lang) if status in lc.STATUS_TEXT else _unknown(lang)


def _unknown(lang: str) -> str:
    return _pick(("sonstiger Eintrag", "other entry"), lang)
