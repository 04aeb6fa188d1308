"""Admin accounts: created, signed in, given a role, deactivated. Passwords are kept only as
Argon2id hashes (broadsheet.passwords)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.addresses import check_address
from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Role, User, utcnow
from broadsheet.models.user import new_session_key
from broadsheet.passwords import check_password, hash_password, needs_rehash, verify_password
from broadsheet.services.choices import choice


def create_user(session: Session, email: object, password: object, role: object) -> User:
    """A new account; every problem with the fields is reported at once."""
    errors: dict[str, str] = {}
    address = key = ""
    account_role = Role.EDITOR
    try:
        checked = check_address(email)
        address, key = checked.email, checked.key
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        check_password(password)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        account_role = choice(Role, role, "role")
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(User.id).where(User.email_key == key)) is not None:
        raise ValidationError({"email": f"{address} already has an account"})
    assert isinstance(password, str)
    user = User(
        email=address, email_key=key, password_hash=hash_password(password), role=account_role
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: object, password: object) -> User | None:
    """The active account with this address and password, or None: an unknown address, a
    wrong password and a deactivated account look the same and take the same time. Records
    the sign-in and upgrades an old hash."""
    key = email.strip().lower() if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    user = session.scalar(select(User).where(User.email_key == key)) if key else None
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def session_user(session: Session, session_id: str) -> User | None:
    """The account a signed-in session belongs to ("<id>:<session key>"), if still valid."""
    user_id, _, key = session_id.partition(":")
    if not user_id.isdigit() or not key:
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_key != key:
        return None
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email_key)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_password(session: Session, user_id: int, password: object) -> User:
    """A new password; every session of the account ends (a new session key)."""
    user = get_user(session, user_id)
    user.password_hash = hash_password(check_password(password))
    user.session_key = new_session_key()
    session.flush()
    return user


def end_sessions(session: Session, user_id: int) -> User:
    """End every session of the account, on every device: a new session key, so no session
    id made with the old one is accepted again (signing out, where a copy of the cookie must
    stop working too)."""
    user = get_user(session, user_id)
    user.session_key = new_session_key()
    session.flush()
    return user


def update_user(session: Session, user_id: int, *, role: object, active: bool) -> User:
    """Change someone's role or switch their account off (their sessions end). The last
    active admin can be neither demoted nor switched off: someone must be able to manage."""
    user = get_user(session, user_id)
    new_role = choice(Role, role, "role")
    losing_admin = (
        user.role == Role.ADMIN and user.active and (new_role != Role.ADMIN or not active)
    )
    if losing_admin and _active_admins(session) <= 1:
        raise Conflict(f"{user.email} is the last active admin; make someone else admin first")
    if user.active and not active:
        user.session_key = new_session_key()
    user.role, user.active = new_role, active
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    """How many active admins there are, their rows locked: of two admins demoting each
    other at once, the second sees the first's change."""
    locked = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
    return len(session.scalars(locked.with_for_update()).all())
