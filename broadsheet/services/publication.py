"""The publication's settings (one row, made on first save): its name and look, read for each
campaign's rendering, the outbox's mail and the reader pages, and changed by an admin."""

from __future__ import annotations

from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.mail.compose import Publisher
from broadsheet.mail.look import Look, logo_errors, normal_accent
from broadsheet.models import PUBLICATION_ROW, Publication, utcnow

MAX_NAME = 200
MAX_ADDRESS = 500
MAX_NOTE = 1000


def get_publication(session: Session) -> Publication:
    """The settings as stored, or empty ones (not added) before the first save."""
    found = session.get(Publication, PUBLICATION_ROW)
    if found is not None:
        return found
    return Publication(
        id=PUBLICATION_ROW, name="", postal_address="", footer_note="", logo_url="",
        logo_alt="", accent="",
    )  # fmt: skip


def look_of(row: Publication) -> Look:
    return Look(row.logo_url, row.logo_alt, row.accent)


def publisher(session: Session) -> Publisher:
    """Who the publication's own mail (confirmations, welcomes) comes from, as saved."""
    row = get_publication(session)
    return Publisher(row.name, look_of(row))


def save_publication(
    session: Session,
    postal_address: object,
    footer_note: object,
    *,
    name: object = "",
    logo_url: object = "",
    logo_alt: object = "",
    accent: object = "",
) -> Publication:
    """Keep the name, the look, the postal address (a few lines) and the footer note;
    ValidationError names each field at fault. Campaigns rendered from now on carry them;
    those sent keep theirs."""
    errors: dict[str, str] = {}
    title = name.strip() if isinstance(name, str) else None
    address = postal_address.strip() if isinstance(postal_address, str) else None
    note = footer_note.strip() if isinstance(footer_note, str) else None
    if title is None or len(title) > MAX_NAME or "\n" in title:
        errors["name"] = f"must be one line of at most {MAX_NAME} characters"
    errors.update(logo_errors(logo_url, logo_alt))
    colour = accent_of(errors, accent)
    if address is None or len(address) > MAX_ADDRESS:
        errors["postal_address"] = f"must be text of at most {MAX_ADDRESS} characters"
    elif address.count("\n") > 5:
        errors["postal_address"] = "must fit in six lines"
    if note is None or len(note) > MAX_NOTE:
        errors["footer_note"] = f"must be text of at most {MAX_NOTE} characters"
    if errors:
        raise ValidationError(errors)
    assert title is not None and address is not None and note is not None
    assert isinstance(logo_url, str) and isinstance(logo_alt, str)
    row = session.merge(get_publication(session))
    row.name, row.accent = " ".join(title.split()), colour
    row.logo_url, row.logo_alt = logo_url.strip(), logo_alt.strip() if logo_url.strip() else ""
    row.postal_address = "\n".join(line.strip() for line in address.splitlines() if line.strip())
    row.footer_note, row.changed_at = note, utcnow()
    session.flush()
    return row


def accent_of(errors: dict[str, str], accent: object) -> str:
    """The accent colour as kept ("#rrggbb" or ""); a problem added to `errors`."""
    try:
        return normal_accent(accent)
    except ValueError as exc:
        errors["accent"] = str(exc)
        return ""
