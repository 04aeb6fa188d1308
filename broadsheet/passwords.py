"""Password hashing for admin accounts: Argon2id (argon2-cffi), slow and salted on purpose."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from broadsheet.errors import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing a megabyte-long "password" would only burn CPU


@cache
def _hasher() -> PasswordHasher:
    """argon2-cffi's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes)."""
    return PasswordHasher()


def check_password(password: object, field: str = "password") -> str:
    """A password good enough to keep: 10 to 1024 characters; ValidationError on `field`."""
    if not isinstance(password, str) or not password:
        raise ValidationError({field: "is required"})
    if len(password) < MIN_LENGTH:
        raise ValidationError({field: f"must be at least {MIN_LENGTH} characters"})
    if len(password) > MAX_LENGTH:
        raise ValidationError({field: f"must be at most {MAX_LENGTH} characters"})
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches. With no stored hash (no such account) a dummy one is
    checked, so an unknown address costs the same time as a wrong password."""
    candidate = stored_hash or _dummy_hash()
    try:
        _hasher().verify(candidate, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """The hash was made with weaker parameters than today's: store a new one at login."""
    return _hasher().check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    return _hasher().hash("no account has this password")
