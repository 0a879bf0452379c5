"""Words, not codes: audit actors, events, mail kinds and payment states as clerks read them, in German and English."""

from __future__ import annotations

from catalogues import N_, text
from gis_service.orders import lifecycle as lc


MAIL_KIND = {
    "received": N_("mail_kind_received"),
    "paid_staff": N_("mail_kind_paid_staff"),
    "ready": N_("mail_kind_ready"),
    "follows": N_("mail_kind_follows"),
    "completed": N_("mail_kind_completed"),
    "rejected": N_("mail_kind_rejected"),
    "cancelled": N_("mail_kind_cancelled"),
}

# XBezahldienste payment states (and our MISMATCH) as the payments table shows them.
PAYMENT_STATUS = {
    "INITIAL": N_("payment_status_initial"),
    "PAYED": N_("payment_status_payed"),
    "FAILED": N_("payment_status_failed"),
    "CANCELED": N_("payment_status_canceled"),
    "MISMATCH": N_("payment_status_mismatch"),
}

PROVIDERS = {"xbezahldienste": "XBezahldienste"}


def actor_text(actor: str, lang: str = "de") -> str:
    """`citizen`, `system`, `payment:xbezahldienste`, `staff:mmeier`, `api:formserver` in words."""
    kind, _, name = actor.partition(":")
    if actor == "citizen":
        return text("actor_citizen", lang)
    if actor == lc.SYSTEM:
        return text("actor_system", lang)
    if kind == "payment":
        return text("actor_payment", lang, provider=PROVIDERS.get(name, name or "?"))
    if kind == "staff":
        return text("actor_staff", lang, name=name)
    if kind == "api":
        # api:<client> or api:<client>:<key> — the client's configured name, never the key.
        return text("actor_api", lang, client=name.partition(":")[0]).strip()
    return text("actor_unknown", lang)


def event_text(action: str, lang: str = "de") -> str:
    if action.startswith("status:"):
        status = action.removeprefix("status:")
        return lc.action_text(action, lang) if status in lc.STATUS_TEXT else _unknown(lang)
    return lc.action_text(action, lang) if action in lc.ACTION_TEXT else _unknown(lang)


def mail_kind_text(kind: str, lang: str = "de") -> str:
    return text(MAIL_KIND[kind], lang) if kind in MAIL_KIND else _unknown(lang)


def payment_status_text(status: str, lang: str = "de") -> str:
    return text(PAYMENT_STATUS[status], lang) if status in PAYMENT_STATUS else _unknown(lang)


def status_words(status: str | None, lang: str = "de") -> str:
    """An order state; a state this code does not know is said to be unknown, not shown raw."""
    return lc.status_text(status, lang) if status in lc.STATUS_TEXT else _unknown(lang)


def _unknown(lang: str) -> str:
    return text("event_other", lang)
