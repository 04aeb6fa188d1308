"""API tokens: created from the CLI, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import ApiToken, Role, utcnow
from broadsheet.services.choices import choice

TOKEN_PREFIX = "bs_"  # noqa: S105 - a marker that makes leaked tokens greppable
# The name of the token `broadsheet run` makes for itself at each start; no other may have it.
RUN_TOKEN_NAME = "broadsheet run"  # noqa: S105 - a name, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: object, role: object = Role.ADMIN) -> tuple[ApiToken, str]:
    """Create a token named `name` with `role`'s rights; returns the row and the secret,
    which is not stored."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise ValidationError({"name": "must be 1 to 100 characters"})
    if name == RUN_TOKEN_NAME:
        reserved = f"is kept for the token `{RUN_TOKEN_NAME}` makes at each start; choose another"
        raise ValidationError({"name": reserved})
    return _mint(session, name, choice(Role, role, "role"))


def replace_run_token(session: Session) -> str:
    """A new admin token for `broadsheet run` to print, in place of the one its last start
    made: only a hash of that one is kept, so it cannot be shown again, and it is deleted
    (refused from now on, like a revoked one, without a row left per start). Tokens made by
    hand are left alone. However often it starts, one token of its own works."""
    session.execute(delete(ApiToken).where(ApiToken.name == RUN_TOKEN_NAME))
    return _mint(session, RUN_TOKEN_NAME, Role.ADMIN)[1]


def _mint(session: Session, name: str, role: Role) -> tuple[ApiToken, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(secret), role=role)
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token matching `token`, or None; records when it was last used."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, live ones first, newest first."""
    return list(
        session.scalars(
            select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"API token {token_id} does not exist")
    return row


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Stop a token working, for good; revoking twice changes nothing."""
    row = get_token(session, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row
