"""E-mail to citizens: texts per event and language, and delivery over SMTP (outbox.py queues and sends them)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from catalogues import N_, text
from gis_service.config import OfficeSettings, SmtpSettings

SUBJECTS = {
    "received": N_("mail_subject_received"),
    "confirm": N_("mail_subject_confirm"),
    "paid_staff": N_("mail_subject_paid_staff"),
    "ready": N_("mail_subject_ready"),
    "follows": N_("mail_subject_follows"),
    "completed": N_("mail_subject_completed"),
    "rejected": N_("mail_subject_rejected"),
    "cancelled": N_("mail_subject_cancelled"),
}

# The confirmation goes to an address nobody has proven yet: it carries nothing the orderer typed
# (no name, no free text), only what the office knows (product, parcel, fee) and the link.
BODIES = {
    "confirm": N_("mail_body_confirm"),
    "received": N_("mail_body_received"),
    "paid_staff": N_("mail_body_paid_staff"),
    "ready": N_("mail_body_ready"),
    "follows": N_("mail_body_follows"),
    "completed": N_("mail_body_completed"),
    "rejected": N_("mail_body_rejected"),
    "cancelled": N_("mail_body_cancelled"),
}


def compose_mail(kind: str, lang: str, office: OfficeSettings, name: str | None, **values) -> tuple[str, str]:
    """(subject, body) in the order's language, signed by the office."""
    subject = text(SUBJECTS[kind], lang, **values)
    greeting = text("mail_greeting_name", lang, name=name) if name else text("mail_greeting", lang)
    body = text(BODIES[kind], lang, **values)
    signature = "\n".join(line for line in [office.name, *office.address_lines, office.email, office.phone] if line)
    closing = text("mail_closing", lang)
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
