"""Citizens' orders in progress, kept on the server under an unguessable id until ordered or expired."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, not_, select
from sqlalchemy.orm import Session, sessionmaker

from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import SavedDraft

# secrets.token_urlsafe(24): 192 random bits, URL-safe, never a personal detail.
_DRAFT_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")


def valid_draft_id(text: object) -> bool:
    return isinstance(text, str) and bool(_DRAFT_ID.match(text))


def _hash(draft_id: str) -> str:
    return hashlib.sha256(draft_id.encode("ascii")).hexdigest()


def idempotency_key(draft_id: str) -> str:
    """The key the order made from this draft carries: one draft, one order, however often it is sent."""
    return f"draft:{_hash(draft_id)}"


@dataclass(frozen=True)
class Draft:
    draft_id: str
    values: dict[str, str]
    lang: str
    revision: int


def _alive(now: datetime, hours: int):
    # The stored expiry, and also the period configured now, in case it was shortened since.
    return and_(SavedDraft.expires_at > now, SavedDraft.created_at > now - timedelta(hours=hours))


def delete_expired(session: Session, hours: int, now: datetime, dry_run: bool = False) -> int:
    """Delete (or with dry_run only count) the drafts past their time; they hold personal data."""
    expired = not_(_alive(now, hours))
    if dry_run:
        return session.scalar(select(func.count()).select_from(SavedDraft).where(expired)) or 0
    return session.execute(delete(SavedDraft).where(expired)).rowcount or 0


class DraftStore:
    def __init__(self, factory: sessionmaker[Session], hours: int):
        self.factory = factory
        self.hours = hours

    def create(self, values: dict[str, str], lang: str) -> Draft:
        draft_id = secrets.token_urlsafe(24)
        now = utcnow()
        with transaction(self.factory) as session:
            session.add(SavedDraft(id_hash=_hash(draft_id), form_values=dict(values), lang=lang, revision=1,
                                   created_at=now, updated_at=now, expires_at=now + timedelta(hours=self.hours)))
        return Draft(draft_id, dict(values), lang, 1)

    def _find(self, session: Session, draft_id: str) -> SavedDraft | None:
        if not valid_draft_id(draft_id):
            return None
        return session.scalar(select(SavedDraft).where(SavedDraft.id_hash == _hash(draft_id),
                                                       _alive(utcnow(), self.hours)))

    def load(self, draft_id: str) -> Draft | None:
        """The draft, or None when the id is malformed, unknown or expired (all look alike)."""
        with self.factory() as session:
            saved = self._find(session, draft_id)
            return Draft(draft_id, dict(saved.form_values), saved.lang, saved.revision) if saved else None

    def save(self, draft_id: str, values: dict[str, str], lang: str) -> Draft | None:
        """Replace the draft's values; None when it is gone meanwhile."""
        with transaction(self.factory) as session:
            saved = self._find(session, draft_id)
            if saved is None:
                return None
            saved.form_values = dict(values)
            saved.lang = lang
            saved.revision += 1
            saved.updated_at = utcnow()
            return Draft(draft_id, dict(values), lang, saved.revision)

    def discard(self, draft_id: str) -> None:
        """Once the order exists it holds the data; the draft's copy goes at once."""
        if valid_draft_id(draft_id):
            with transaction(self.factory) as session:
                session.execute(delete(SavedDraft).where(SavedDraft.id_hash == _hash(draft_id)))

    def purge_expired(self) -> int:
        with transaction(self.factory) as session:
            return delete_expired(session, self.hours, utcnow())
