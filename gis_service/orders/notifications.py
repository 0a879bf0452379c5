"""E-mail to citizens: texts per event and language, and delivery over SMTP (outbox.py queues and sends them)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from gis_service.config import OfficeSettings, SmtpSettings

SUBJECTS = {
    "received": ("Ihre Bestellung {number} ist eingegangen", "Your order {number} has been received"),
    "confirm": ("Bitte bestätigen Sie die Bestellung {number}", "Please confirm order {number}"),
    "paid_staff": ("Zahlung für Bestellung {number} eingegangen", "Payment for order {number} received"),
    "ready": ("Ihr Auszug zur Bestellung {number} ist fertig", "Your extract for order {number} is ready"),
    "follows": ("Ihr Auszug zur Bestellung {number} folgt", "Your extract for order {number} will follow"),
    "completed": ("Ihre Bestellung {number} ist erledigt", "Your order {number} is completed"),
    "rejected": ("Ihre Bestellung {number} wurde abgelehnt", "Your order {number} was rejected"),
    "cancelled": ("Ihre Bestellung {number} wurde storniert", "Your order {number} was cancelled"),
}

# The confirmation goes to an address nobody has proven yet: it carries nothing the orderer typed
# (no name, no free text), only what the office knows (product, parcel, fee) and the link.
BODIES = {
    "confirm": (
        "mit dieser E-Mail-Adresse wurde beim Katasteramt die Bestellung {number} aufgegeben:\n"
        "{product} für {parcel}, Gebühr {amount}, Zahlung per Rechnung.\n\n"
        "Bitte bestätigen Sie die Bestellung über diesen Link:\n{confirm_url}\n\n"
        "Ohne Bestätigung wird die Bestellung nach {hours} Stunden verworfen. Wenn Sie nichts bestellt haben, "
        "müssen Sie nichts tun; Sie erhalten dann keine weitere Nachricht.",
        "the order {number} was placed with the surveying office using this e-mail address:\n"
        "{product} for {parcel}, fee {amount}, paid by invoice.\n\n"
        "Please confirm the order with this link:\n{confirm_url}\n\n"
        "Without confirmation the order is discarded after {hours} hours. If you did not order anything, "
        "there is nothing to do; you will receive no further message.",
    ),
    "received": (
        "vielen Dank für Ihre Bestellung „{product}“ für {parcel}.\n"
        "Bestellnummer: {number}\nGebühr: {amount}\n\n{next_step}\n\n"
        "Den Stand Ihrer Bestellung sehen Sie hier:\n{status_url}",
        "thank you for your order “{product}” for {parcel}.\n"
        "Order number: {number}\nFee: {amount}\n\n{next_step}\n\n"
        "You can follow your order here:\n{status_url}",
    ),
    "paid_staff": (
        "Ihre Zahlung zur Bestellung {number} ist eingegangen. Das Katasteramt bearbeitet Ihre Bestellung "
        "und benachrichtigt Sie, sobald sie erledigt ist.\n\nStand der Bestellung:\n{status_url}",
        "Your payment for order {number} has been received. The surveying office is working on your order "
        "and will tell you when it is done.\n\nOrder status:\n{status_url}",
    ),
    "ready": (
        "Ihr Auszug aus der Liegenschaftskarte für {parcel} ist fertig.\n\n"
        "Herunterladen (PDF):\n{links}\n\nStand der Bestellung:\n{status_url}\n\n"
        "Bitte drucken Sie den Auszug in Originalgröße (100 %, ohne „An Seite anpassen“), damit der Maßstab stimmt.",
        "Your extract of the cadastral map for {parcel} is ready.\n\n"
        "Download (PDF):\n{links}\n\nOrder status:\n{status_url}\n\n"
        "Please print at actual size (100 %, no “fit to page”) so that the scale is right.",
    ),
    "follows": (
        "Ihre Zahlung zur Bestellung {number} ist eingegangen. Der Auszug konnte nicht sofort automatisch "
        "erstellt werden; das Katasteramt erstellt ihn und sendet Ihnen eine Nachricht, sobald er fertig ist. "
        "Sie müssen nichts weiter tun.\n\nStand der Bestellung:\n{status_url}",
        "Your payment for order {number} has been received. The extract could not be produced automatically "
        "right away; the surveying office will produce it and tell you when it is ready. "
        "There is nothing more you need to do.\n\nOrder status:\n{status_url}",
    ),
    "completed": (
        "Ihre Bestellung {number} ({product}) ist erledigt.\n{delivery_note}\n{links_block}\nStand der Bestellung:\n{status_url}",
        "Your order {number} ({product}) is completed.\n{delivery_note}\n{links_block}\nOrder status:\n{status_url}",
    ),
    "rejected": (
        "Ihre Bestellung {number} ({product}) wurde abgelehnt.\nBegründung: {reason}\n{refund_note}\n"
        "Stand der Bestellung:\n{status_url}",
        "Your order {number} ({product}) was rejected.\nReason: {reason}\n{refund_note}\nOrder status:\n{status_url}",
    ),
    "cancelled": (
        "Ihre Bestellung {number} ({product}) wurde storniert.\n{reason_line}{refund_note}\nStand der Bestellung:\n{status_url}",
        "Your order {number} ({product}) was cancelled.\n{reason_line}{refund_note}\nOrder status:\n{status_url}",
    ),
}


def compose_mail(kind: str, lang: str, office: OfficeSettings, name: str | None, **values) -> tuple[str, str]:
    """(subject, body) in the order's language, signed by the office."""
    index = 1 if lang == "en" else 0
    subject = SUBJECTS[kind][index].format(**values)
    greeting = (f"Dear {name}," if name else "Hello,") if lang == "en" else (f"Guten Tag {name}," if name else "Guten Tag,")
    body = BODIES[kind][index].format(**values)
    signature = "\n".join(line for line in [office.name, *office.address_lines, office.email, office.phone] if line)
    closing = "Kind regards" if lang == "en" else "Mit freundlichen Grüßen"
    return subject, f"{greeting}\n\n{body}\n\n{closing}\n{signature}\n"


class Mailer:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def send(self, recipient: str, subject: str, body: str, message_id_domain: str | None = None) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=message_id_domain or _domain(s.sender))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with client:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password or "")
            client.send_message(message)


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"
