"""API tokens: created from the CLI, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import ApiToken, utcnow

TOKEN_PREFIX = "bs_"  # noqa: S105 - a marker that makes leaked tokens greppable


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> tuple[ApiToken, str]:
    """Create a token named `name`; returns the row and the secret, which is not stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "must be 1 to 100 characters"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(secret))
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
