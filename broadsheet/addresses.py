"""Email address validation and the case-insensitive key that makes an address unique."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from broadsheet.errors import ValidationError

# An ASCII dot-atom before the @ (RFC 5322 atext between single dots): email-validator takes
# such a local part as it is, so only the domain is left to check, and imports see a few
# thousand domains over a million addresses. Anything else goes through email-validator whole.
PLAIN_LOCAL = re.compile(
    r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z"
)
# Local parts email-validator lower-cases (RFC 2142's role mailboxes): left to it.
ROLE_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
MAX_LENGTH = 254  # octets, as email-validator counts them


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
    text = raw.strip()
    email = _plain(text)
    if email is None:
        try:
            email = validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValidationError({field: str(exc)}) from exc
    return CheckedAddress(email=email, key=email.lower())


def _plain(text: str) -> str | None:
    """The address email-validator would make of `text` when its local part is a plain ASCII
    dot-atom and its domain one email-validator takes (asked once per domain); else None,
    and email-validator decides (and words any refusal)."""
    local, at, domain = text.rpartition("@")
    if not at or not PLAIN_LOCAL.match(local) or local.lower() in ROLE_MAILBOXES:
        return None
    checked = _domain(domain)
    if checked is None:
        return None
    normalized, ascii_domain = checked
    email = f"{local}@{normalized}"
    lengths = (text, email, f"{local}@{ascii_domain}")
    if any(len(s.encode()) > MAX_LENGTH for s in lengths):
        return None
    return email


@functools.lru_cache(maxsize=65_536)
def _domain(domain: str) -> tuple[str, str] | None:
    """email-validator's normal and ASCII (IDNA) forms of `domain`, or None if it refuses it."""
    try:
        result = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.domain, result.ascii_domain


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
