"""API tokens: created from the CLI, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import ApiToken, Role, utcnow
from broadsheet.services.choices import choice

TOKEN_PREFIX = "bs_"  # noqa: S105 - a marker that makes leaked tokens greppable


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: object, role: object = Role.ADMIN) -> tuple[ApiToken, str]:
    """Create a token named `name` with `role`'s rights; returns the row and the secret,
    which is not stored."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise ValidationError({"name": "must be 1 to 100 characters"})
    token_role = choice(Role, role, "role")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(secret), role=token_role)
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
