"""Staff accounts: argon2id password hashes, roles clerk and admin, lock-out after failed logins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalogues import Message, msg, text
from gis_service.config import StaffSettings
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import StaffUser

ROLES = ("clerk", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


# One answer for a wrong name, a wrong password and a locked account: none of them is told apart.
LOGIN_REFUSED = msg("accounts_login_refused")


class AccountError(Exception):
    """An account cannot be created, changed or used; `message` says why, in the back office's German."""

    def __init__(self, message: Message):
        self.message = message.render("de")
        super().__init__(self.message)


@dataclass(frozen=True)
class StaffIdentity:
    id: int
    username: str
    display_name: str
    role: str
    session_epoch: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"


def _identity(user: StaffUser) -> StaffIdentity:
    return StaffIdentity(user.id, user.username, user.display_name, user.role, user.session_epoch)


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(msg("accounts_password_too_short", minimum=MIN_PASSWORD))
    if len(password) > 1024:
        raise AccountError(msg("accounts_password_too_long"))
    if username and username.lower() in password.lower():
        raise AccountError(msg("accounts_password_contains_name"))
    if len(set(password)) < 5:
        raise AccountError(msg("accounts_password_too_simple"))


class Accounts:
    def __init__(self, factory: sessionmaker[Session], settings: StaffSettings):
        self.factory = factory
        self.settings = settings

    def create(self, username: str, password: str, role: str = "clerk", display_name: str | None = None) -> StaffIdentity:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError(msg("accounts_username_rules"))
        if role not in ROLES:
            raise AccountError(msg("accounts_role_unknown", roles=lambda lang: text("or_separator", lang).join(ROLES)))
        check_password_strength(password, username)
        try:
            with transaction(self.factory) as session:
                user = StaffUser(username=username, display_name=(display_name or username)[:200],
                                 password_hash=_hasher.hash(password), role=role, active=True, failed_logins=0,
                                 session_epoch=1, created_at=utcnow())
                session.add(user)
                session.flush()
                return _identity(user)
        except IntegrityError:
            raise AccountError(msg("accounts_user_exists", username=username)) from None

    def authenticate(self, username: str, password: str) -> StaffIdentity:
        """The identity, or AccountError with one message for a wrong name, a wrong password and a lock-out.

        The argon2 check runs outside any write transaction (on SQLite a write transaction holds the
        database's one write lock, and a login flood would stall every order); the counter is then
        raised in SQL, so parallel wrong guesses cannot overwrite each other's count.
        """
        refused = AccountError(LOGIN_REFUSED)
        username = (username or "").strip().lower()[:80]
        password = (password or "")[:1024]
        with self.factory() as session:
            row = session.execute(select(StaffUser.id, StaffUser.password_hash, StaffUser.active, StaffUser.locked_until)
                                  .where(StaffUser.username == username)).first()
        if row is None or not row.active:
            _verify(_DUMMY_HASH, password)
            raise refused
        # Verified even when locked, so the answer's timing does not tell a locked account apart.
        correct = _verify(row.password_hash, password)
        now = utcnow()
        if row.locked_until and row.locked_until > now:
            raise refused
        if not correct:
            self._count_failure(row.id, now)
            raise refused
        with transaction(self.factory) as session:
            values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            # Only if nothing changed meanwhile: a lock-out by parallel guesses or a new password wins.
            done = session.execute(
                update(StaffUser)
                .where(StaffUser.id == row.id, StaffUser.active.is_(True),
                       StaffUser.password_hash == row.password_hash,
                       or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now))
                .values(**values)).rowcount
            user = session.get(StaffUser, row.id) if done else None
            identity = _identity(user) if user is not None else None
        if identity is None:
            raise refused
        return identity

    def _count_failure(self, user_id: int, now) -> None:
        limit = self.settings.max_failed_logins
        with transaction(self.factory) as session:
            session.execute(update(StaffUser).where(StaffUser.id == user_id)
                            .values(failed_logins=StaffUser.failed_logins + 1))
            # Same transaction, row already locked by the UPDATE above: the count read here is exact.
            session.execute(update(StaffUser).where(StaffUser.id == user_id, StaffUser.failed_logins >= limit)
                            .values(failed_logins=0,
                                    locked_until=now + timedelta(minutes=self.settings.lockout_minutes)))

    def current(self, user_id: int, epoch: int) -> StaffIdentity | None:
        with self.factory() as session:
            user = session.get(StaffUser, user_id)
            if user is None or not user.active or user.session_epoch != epoch:
                return None
            return _identity(user)

    def list(self) -> list[StaffUser]:
        with self.factory() as session:
            return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))

    def set_password(self, user_id: int, password: str) -> None:
        with transaction(self.factory) as session:
            user = session.get(StaffUser, user_id)
            if user is None:
                raise AccountError(msg("accounts_unknown_user"))
            check_password_strength(password, user.username)
            user.password_hash = _hasher.hash(password)
            user.session_epoch += 1  # ends all sessions of this user
            user.failed_logins = 0
            user.locked_until = None

    def end_sessions(self, user_id: int) -> None:
        """Every session of this user ends: the generation in the cookie no longer matches."""
        with transaction(self.factory) as session:
            session.execute(update(StaffUser).where(StaffUser.id == user_id)
                            .values(session_epoch=StaffUser.session_epoch + 1))

    def unlock(self, user_id: int) -> None:
        with transaction(self.factory) as session:
            user = session.get(StaffUser, user_id)
            if user is not None:
                user.failed_logins = 0
                user.locked_until = None

    def set_active(self, user_id: int, active: bool) -> None:
        with transaction(self.factory) as session:
            user = session.get(StaffUser, user_id)
            if user is not None:
                user.active = active
                user.session_epoch += 1

    def count_admins(self) -> int:
        with self.factory() as session:
            return len(session.scalars(select(StaffUser.id).where(StaffUser.role == "admin", StaffUser.active.is_(True))).all())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
