"""Email address validation and the case-insensitive key that makes an address unique."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from broadsheet.errors import ValidationError


@dataclass(frozen=True)
class CheckedAddress:
    email: str
    key: str


def check_address(raw: object, field: str = "email") -> CheckedAddress:
    """Validate syntax (RFC 5321/5322 via email-validator, no DNS) and normalise the address."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({field: "an email address is required"})
    if len(raw) > 320:
        raise ValidationError({field: "the address is too long"})
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError({field: str(exc)}) from exc
    return CheckedAddress(email=result.normalized, key=result.normalized.lower())


def clean_name(raw: object, field: str = "name", max_length: int = 200) -> str:
    """A display name: a string, one line, printable, trimmed, at most `max_length` characters."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError({field: "must be a string"})
    if not raw.isprintable():  # a control character or a line break becomes a space
        raw = "".join(ch if ch.isprintable() else " " for ch in raw)
    name = " ".join(raw.split())
    if len(name) > max_length:
        raise ValidationError({field: f"must be at most {max_length} characters"})
    return name
