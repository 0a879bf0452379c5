"""Accessibility feedback (BITV 2.0 § 7): a checked message is stored, mailed to the contact through the outbox, then read and answered by staff."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from catalogues import N_, msg, text
from gis_service.errors import ApiError
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.errors import ActionError, FieldError, OrderValidationError
from gis_service.orders.models import AccessibilityFeedback, MailMessage
from gis_service.orders.office_mail import OFFICE_LANG, queue_office_mail
from gis_service.orders.urls import STAFF, Urls
from gis_service.orders.validation import _CONTROL, _EMAIL, _LINE_BREAK

FIELDS = ("name", "email", "page_url", "message")
MAX_LENGTH = {"name": 200, "email": 254, "page_url": 2000, "message": 5000}
STATUSES = ("new", "read", "answered")
STATUS_TEXT = {"new": N_("feedback_state_new"), "read": N_("feedback_state_read"), "answered": N_("feedback_state_answered")}
# What a clerk may mark, from which states: answering may come without reading it here first (by phone, say).
MARKS = {"read": ("new",), "answered": ("new", "read")}
STAFF_PATH = f"{STAFF}/barrierefreiheit"
LIST_LIMIT = 200
PURGE_BATCH = 500  # per round of the order tasks


@dataclass(frozen=True)
class CheckedFeedback:
    message: str
    name: str | None = None
    email: str | None = None
    page_url: str | None = None


def check_feedback(form: Mapping) -> CheckedFeedback:
    """The form's fields as they will be stored, or OrderValidationError naming every field that is not right."""
    errors: list[FieldError] = []
    values = {name: _text(form, name, errors) for name in FIELDS}
    if not values["message"] and not any(e.field == "message" for e in errors):
        errors.append(FieldError("message", msg("feedback_please_describe_what_is_not_accessible")))
    email = values["email"]
    if email and not _EMAIL.match(email):
        errors.append(FieldError("email", msg("feedback_please_enter_a_valid_e_mail")))
    page = values["page_url"]
    if page and not _page_address(page):
        errors.append(FieldError("page_url", msg("feedback_please_enter_the_page_s_address")))
    if errors:
        raise OrderValidationError(errors)
    return CheckedFeedback(message=values["message"], name=values["name"], email=email, page_url=page)


def _text(form: Mapping, name: str, errors: list[FieldError]) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, msg("feedback_this_field_expects_text")))
        return None
    text = value.replace("\r\n", "\n").strip()
    multiline = name == "message"
    if _CONTROL.search(text) or (not multiline and _LINE_BREAK.search(text)):
        errors.append(FieldError(name, msg("feedback_the_field_contains_control_characters")))
        return None
    limit = MAX_LENGTH[name]
    if len(text) > limit:
        errors.append(FieldError(name, msg("feedback_too_long", limit=limit, length=len(text))))
        return None
    return text or None


def _page_address(text: str) -> bool:
    """A web address or a path on this site; staff see it as text, never as a link."""
    if text.startswith("/") and not text.startswith("//"):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def status_text(status: str, lang: str = "de") -> str:
    return text(STATUS_TEXT.get(status, N_("actor_unknown")), lang)


class FeedbackBox:
    """The messages of the feedback form, over the order database and its mail outbox."""

    def __init__(self, factory: sessionmaker[Session], recipient: str, urls: Urls, keep_days: int,
                 wake=lambda: None):
        self.factory = factory
        self.recipient = recipient  # accessibility.contact.email, else orders.office.email
        self.urls = urls
        self.keep_days = keep_days  # answered messages are deleted this long after the answer
        self.wake = wake  # lets the order worker send the mail now rather than at its next round

    def submit(self, feedback: CheckedFeedback, lang: str) -> int:
        """Store the message and queue its mail in one transaction; returns its number."""
        with transaction(self.factory) as session:
            now = utcnow()
            row = AccessibilityFeedback(created_at=now, lang=lang if lang in ("de", "en") else "de",
                                        name=feedback.name, email=feedback.email, page_url=feedback.page_url,
                                        message=feedback.message, status="new")
            session.add(row)
            session.flush()
            subject, body = self._mail(row)
            mail = queue_office_mail(session, None, self.recipient, subject, body)
            session.flush()
            row.mail_id = mail.id
            number = row.id
        self.wake()
        return number

    def _mail(self, row: AccessibilityFeedback) -> tuple[str, str]:
        # The message goes to the contact's mailbox (that is what the form is for); who sent it stays in
        # the back office, as in every office mail: a mailbox may be shared or forwarded.
        office = OFFICE_LANG
        subject = text("feedback_mail_subject", office, number=row.id)
        sender = N_("feedback_with_contact") if row.email or row.name else N_("feedback_without_contact")
        language = N_("feedback_page_language_en") if row.lang == "en" else N_("feedback_page_language_de")
        body = text("feedback_mail_body", office, sender=text(sender, office), language=text(language, office),
                    page=row.page_url or text("feedback_page_not_given", office), message=row.message,
                    staff_url=f"{self.urls.base}{STAFF_PATH}", footer=text("office_footer", office))
        return subject, body

    def list(self, status: str | None = None, limit: int = LIST_LIMIT) -> list[AccessibilityFeedback]:
        """Newest first; `status` one of STATUSES or None for all."""
        query = select(AccessibilityFeedback).order_by(AccessibilityFeedback.created_at.desc(),
                                                       AccessibilityFeedback.id.desc()).limit(limit)
        if status is not None:
            query = query.where(AccessibilityFeedback.status == status)
        with self.factory() as session:
            return list(session.scalars(query))

    def counts(self) -> dict[str, int]:
        with self.factory() as session:
            found = dict(session.execute(select(AccessibilityFeedback.status, func.count())
                                         .group_by(AccessibilityFeedback.status)).all())
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def mark(self, feedback_id: int, status: str, actor: str) -> AccessibilityFeedback:
        """Mark a message read or answered; a message already past that state is refused with the reason."""
        if status not in MARKS:
            raise ActionError(msg("feedback_unknown_mark"), status=400, code="bad-mark")
        with transaction(self.factory) as session:
            row = session.get(AccessibilityFeedback, feedback_id, with_for_update=True)
            if row is None:
                raise ApiError(msg("feedback_there_is_no_such_feedback"), status=404,
                               code="feedback-not-found")
            if row.status not in MARKS[status]:
                state = row.status
                raise ActionError(msg("feedback_already_marked", number=row.id,
                                      state=lambda lang: status_text(state, lang)))
            now = utcnow()
            if status == "read":
                row.read_at, row.read_by = now, actor
            else:
                row.answered_at, row.answered_by = now, actor
                if row.read_at is None:
                    row.read_at, row.read_by = now, actor
            row.status = status
            return row

    def purge_answered(self) -> int:
        """Answered messages hold names, addresses and free text: gone `keep_days` after the answer, with their mail."""
        cutoff = utcnow() - timedelta(days=self.keep_days)
        with transaction(self.factory) as session:
            due = session.execute(select(AccessibilityFeedback.id, AccessibilityFeedback.mail_id).where(
                AccessibilityFeedback.status == "answered", AccessibilityFeedback.answered_at < cutoff)
                .limit(PURGE_BATCH)).all()
            if not due:
                return 0
            session.execute(delete(AccessibilityFeedback).where(AccessibilityFeedback.id.in_([d.id for d in due])))
            mails = [d.mail_id for d in due if d.mail_id is not None]
            if mails:
                session.execute(delete(MailMessage).where(MailMessage.id.in_(mails)))
            return len(due)
