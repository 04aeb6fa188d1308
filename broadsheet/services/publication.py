"""The publication's settings (one row, made on first save): read for each campaign's
rendering, changed by an admin."""

from __future__ import annotations

from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import PUBLICATION_ROW, Publication, utcnow

MAX_ADDRESS = 500
MAX_NOTE = 1000


def get_publication(session: Session) -> Publication:
    """The settings as stored, or empty ones (not added) before the first save."""
    found = session.get(Publication, PUBLICATION_ROW)
    return (
        found
        if found is not None
        else Publication(id=PUBLICATION_ROW, postal_address="", footer_note="")
    )


def save_publication(session: Session, postal_address: object, footer_note: object) -> Publication:
    """Keep the postal address (a few lines) and the footer note; ValidationError names the
    field at fault. Campaigns rendered from now on carry them; those sent keep theirs."""
    errors: dict[str, str] = {}
    address = postal_address.strip() if isinstance(postal_address, str) else None
    note = footer_note.strip() if isinstance(footer_note, str) else None
    if address is None or len(address) > MAX_ADDRESS:
        errors["postal_address"] = f"must be text of at most {MAX_ADDRESS} characters"
    elif address.count("\n") > 5:
        errors["postal_address"] = "must fit in six lines"
    if note is None or len(note) > MAX_NOTE:
        errors["footer_note"] = f"must be text of at most {MAX_NOTE} characters"
    if errors:
        raise ValidationError(errors)
    assert address is not None and note is not None
    row = session.merge(get_publication(session))
    row.postal_address = "\n".join(line.strip() for line in address.splitlines() if line.strip())
    row.footer_note, row.changed_at = note, utcnow()
    session.flush()
    return row
