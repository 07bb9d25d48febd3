"""Staff accounts: creation and password checks (Argon2 via argon2-cffi)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.errors import Conflict, InvalidInput, Unauthorized
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
            f"Display names are at most {MAX_DISPLAY_NAME} characters.",
            field="display_name",
        )
    if not _USERNAME.match(username):
        raise InvalidInput("Usernames are 2-64 letters, digits, '.', '_' or '-'.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_CHARS} characters.")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        display_name=display_name,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(f"The username '{username}' is taken.") from error
    return user.id


def authenticate(session: Session, username: str, password: str) -> StaffMember:
    """The active account with these credentials, or Unauthorized (audited)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _verify(_DUMMY_HASH, password)
    if user is None or not _verify(user.password_hash, password) or not user.is_active:
        audit.record(
            session,
            "login_failed",
            actor_id=user.id if user is not None else None,
            username=username[:64],
        )
        session.commit()
        raise Unauthorized("Wrong username or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    member = staff_member(user)
    audit.record(session, "login", actor_id=user.id)
    session.commit()
    return member


def set_on_duty(session: Session, user_id: int, on_duty: bool) -> StaffMember:
    """Start or end a shift."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        session.rollback()
        raise Unauthorized()
    user.is_on_duty = on_duty
    audit.record(session, "duty_changed", actor_id=user_id, on_duty=on_duty)
    member = staff_member(user)
    session.commit()
    return member


def list_staff(session: Session) -> list[StaffMember]:
    """Every account, by name."""
    members = [
        staff_member(user)
        for user in session.scalars(select(User).order_by(User.username)).all()
    ]
    session.rollback()
    return members


def load_staff(session: Session, user_id: int) -> StaffMember | None:
    """The active staff member with this id, if any."""
    user = session.get(User, user_id)
    member = staff_member(user) if user is not None and user.is_active else None
    session.rollback()
    return member


def create_first_admin(session: Session) -> str | None:
    """On an empty database, create ``admin`` with a random password and return
    the password (to be shown once); otherwise return None."""
    count = session.scalar(select(func.count()).select_from(User))
    session.rollback()
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
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
