"""Staff accounts: creation, password checks (Argon2 via argon2-cffi), and
ending sign-ins.

Every signed-in session carries the account's ``session_version`` from the
moment it signed in; raising the version (sign-out, a password change or
reset, deactivation, "sign out everywhere") ends every such session at its
next request or socket event, and the dispatcher hangs up its consoles.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hotline.events import DutyChanged, SessionsRevoked, record
from hotline.models import Role, User
from hotline.services import audit

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD_CHARS = 10
MAX_DISPLAY_NAME = 64
# Verified against when the username is unknown, so a failed login takes the
# same time whether or not the account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class StaffMember:
    """A signed-in staff member, detached from the database session."""

    user_id: int
    username: str
    role: Role
    is_active: bool
    is_on_duty: bool
    session_version: int = 0
    display_name: str = ""


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
) -> int:
    """Create a staff account; returns its id. ``display_name`` is the first
    name residents see (quick replies fill it in); the username if empty."""
    display_name = display_name.strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput(
            "display_name_too_long", field="display_name", max_chars=MAX_DISPLAY_NAME
        )
    if not _USERNAME.match(username):
        raise InvalidInput("username", field="username")
    _check_new_password(password)
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        display_name=display_name,
    )
    try:
        # A savepoint: a taken name fails alone, not the caller's unit.
        with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        raise Conflict("username_taken", username=username) from error
    return user.id


def authenticate(session: Session, username: str, password: str) -> StaffMember | None:
    """The active account with these credentials, or None; both audited.

    Returns rather than raises, so that the caller's unit commits the
    failure's audit record. The typed name is kept only as a hash: it is
    often a password typed into the wrong field.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _verify(_DUMMY_HASH, password)
    if user is None or not _verify(user.password_hash, password) or not user.is_active:
        audit.record(
            session,
            "login_failed",
            actor_id=user.id if user is not None else None,
            username_hash=username_hash(username),
        )
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(session, "login", actor_id=user.id)
    return staff_member(user)


def username_hash(username: str) -> str:
    """What the audit keeps of a typed username: enough to see repeats."""
    return hashlib.sha256(f"username:{username}".encode()).hexdigest()[:16]


def sign_out_everywhere(session: Session, user_id: int, actor_id: int) -> None:
    """End every signed-in session of the account, on every device."""
    user = _user(session, user_id)
    _revoke(session, user)
    action = "logout" if actor_id == user_id else "sessions_revoked"
    audit.record(session, action, actor_id=actor_id, user_id=user_id)


def set_active(session: Session, user_id: int, actor_id: int, active: bool) -> None:
    """Deactivate (signed out everywhere, off duty) or reactivate an account."""
    user = _user(session, user_id)
    if not active and user_id == actor_id:
        raise InvalidInput("deactivate_self")
    user.is_active = active
    if not active:
        if user.is_on_duty:
            user.is_on_duty = False
            record(session, DutyChanged(user_id, False, "deactivated"))
        _revoke(session, user)
    audit.record(
        session,
        "account_activated" if active else "account_deactivated",
        actor_id=actor_id,
        user_id=user_id,
    )


def reset_password(
    session: Session, user_id: int, new_password: str, actor_id: int
) -> None:
    """An administrator sets a new password; the account is signed out."""
    _check_new_password(new_password)
    user = _user(session, user_id)
    user.password_hash = _hasher.hash(new_password)
    _revoke(session, user)
    audit.record(session, "password_reset", actor_id=actor_id, user_id=user_id)


def change_own_password(
    session: Session, user_id: int, current_password: str, new_password: str
) -> StaffMember:
    """A staff member changes their password: every other session ends.

    Returns the member with the new session version, for the caller to keep
    its own session signed in.
    """
    user = _user(session, user_id)
    if not _verify(user.password_hash, current_password):
        raise Unauthorized("wrong_password")
    _check_new_password(new_password)
    user.password_hash = _hasher.hash(new_password)
    _revoke(session, user)
    audit.record(session, "password_changed", actor_id=user_id)
    return staff_member(user)


def _revoke(session: Session, user: User) -> None:
    user.session_version = (user.session_version or 0) + 1
    record(session, SessionsRevoked(user.id))


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("account")
    return user


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            "password_too_short", field="password", min_chars=MIN_PASSWORD_CHARS
        )


def set_on_duty(session: Session, user_id: int, on_duty: bool) -> StaffMember:
    """Start or end a shift."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized()
    user.is_on_duty = on_duty
    audit.record(session, "duty_changed", actor_id=user_id, on_duty=on_duty)
    record(session, DutyChanged(user_id, on_duty))
    return staff_member(user)


def list_staff(session: Session) -> list[StaffMember]:
    """Every account, by name."""
    return [
        staff_member(user)
        for user in session.scalars(select(User).order_by(User.username)).all()
    ]


def find_staff(session: Session, user_id: int) -> StaffMember | None:
    """The account with this id, active or not."""
    user = session.get(User, user_id)
    return staff_member(user) if user is not None else None


def load_staff(session: Session, user_id: int) -> StaffMember | None:
    """The active staff member with this id, if any."""
    user = session.get(User, user_id)
    return staff_member(user) if user is not None and user.is_active else None


def create_first_admin(session: Session) -> str | None:
    """On an empty database, create ``admin`` with a random password and return
    the password (to be shown once); otherwise return None."""
    count = session.scalar(select(func.count()).select_from(User))
    if count:
        return None
    password = secrets.token_urlsafe(12)
    create_user(session, "admin", password, Role.ADMIN)
    return password


def staff_member(user: User) -> StaffMember:
    """A detached view of a user row."""
    return StaffMember(
        user_id=user.id,
        username=user.username,
        role=user.role,
        is_active=user.is_active,
        is_on_duty=user.is_on_duty,
        session_version=user.session_version or 0,
        display_name=user.display_name or "",
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
