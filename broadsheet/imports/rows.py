"""One row of an export checked: its address (broadsheet.addresses.check_address, no DNS),
its name, the status the reader comes in with, its tags and its attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broadsheet.addresses import check_address, clean_name
from broadsheet.imports.extras import row_attributes, row_tags
from broadsheet.imports.formats import Mapping
from broadsheet.models import SubscriberStatus

# Statuses that keep a reader from any mail: an import never turns them into readers who get it.
SUPPRESSED = frozenset(
    (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)
)


@dataclass(frozen=True, slots=True)
class Reader:
    """A row that passed: what is written for it."""

    line: int
    email: str
    key: str
    name: str
    status: SubscriberStatus
    cells: tuple[str, ...] = ()  # the row as the export had it, for the rejects file
    tags: tuple[str, ...] = ()
    attributes: str | None = None  # a JSON object's text


def check_row(
    mapping: Mapping, line: int, row: Sequence[str], subscribed: SubscriberStatus
) -> Reader:
    """The reader a row describes; ValidationError naming the field when it cannot be taken.
    `subscribed` is the status of a reader the old sender had as subscribed; a pending one
    stays pending, one who left or bounced there comes in as such."""
    address = check_address(row[mapping.email] if mapping.email < len(row) else "")
    name = clean_name(" ".join(row[i] for i in mapping.names if i < len(row)))
    status = mapping.status(row) or subscribed
    tags = row_tags(mapping.extras, row)
    attributes = row_attributes(mapping.extras, row)
    return Reader(line, address.email, address.key, name, status, tuple(row), tags, attributes)
