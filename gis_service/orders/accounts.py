"""Staff accounts: argon2id password hashes, roles clerk and admin, lock-out after failed logins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gis_service.config import StaffSettings
from gis_service.orders.db import transaction, utcnow
from gis_service.orders.models import StaffUser

ROLES = ("clerk", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
        raise AccountError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    if len(password) > 1024:
        raise AccountError("Das Passwort ist zu lang.")
    if username and username.lower() in password.lower():
        raise AccountError("Das Passwort darf den Benutzernamen nicht enthalten.")
    if len(set(password)) < 5:
        raise AccountError("Das Passwort ist zu einfach.")


class Accounts:
    def __init__(self, factory: sessionmaker[Session], settings: StaffSettings):
        self.factory = factory
        self.settings = settings

    def create(self, username: str, password: str, role: str = "clerk", display_name: str | None = None) -> StaffIdentity:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise AccountError("Benutzername: 2–80 Zeichen, Kleinbuchstaben, Ziffern, Punkt, Binde- oder Unterstrich.")
        if role not in ROLES:
            raise AccountError(f"Rolle muss {' oder '.join(ROLES)} sein.")
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
            raise AccountError(f"Den Benutzer „{username}“ gibt es schon.") from None

    def authenticate(self, username: str, password: str) -> StaffIdentity:
        """The identity, or AccountError with a message that does not tell which part was wrong."""
        wrong = AccountError("Benutzername oder Passwort ist falsch.")
        username = (username or "").strip().lower()[:80]
        password = (password or "")[:1024]
        with transaction(self.factory) as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            now = utcnow()
            if user is None or not user.active:
                _verify(_DUMMY_HASH, password)
                raise wrong
            if user.locked_until and user.locked_until > now:
                raise AccountError("Das Konto ist wegen zu vieler Fehlversuche vorübergehend gesperrt. "
                                   "Bitte versuchen Sie es später erneut oder wenden Sie sich an die Administration.")
            if not _verify(user.password_hash, password):
                user.failed_logins += 1
                if user.failed_logins >= self.settings.max_failed_logins:
                    user.locked_until = now + timedelta(minutes=self.settings.lockout_minutes)
                    user.failed_logins = 0
                # The failed attempt must be stored even though the login fails: commit, then raise.
                failed = True
            else:
                failed = False
                user.failed_logins = 0
                user.locked_until = None
                user.last_login_at = now
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                identity = _identity(user)
        if failed:
            raise wrong
        return identity

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
                raise AccountError("Unbekannter Benutzer.")
            check_password_strength(password, user.username)
            user.password_hash = _hasher.hash(password)
            user.session_epoch += 1  # ends all sessions of this user
            user.failed_logins = 0
            user.locked_until = None

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
