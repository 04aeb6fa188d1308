"""`import_subscribers`: an export read row by row, each row checked, the good ones written a
batch at a time and the others handed to a rejects file with their line and reason."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, cast

from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.imports.ahead import ahead
from broadsheet.imports.formats import Mapping, map_columns
from broadsheet.imports.reading import Table, open_table
from broadsheet.imports.rows import Reader, check_row
from broadsheet.imports.writing import Written, write_batch
from broadsheet.models import SubscriberStatus, utcnow
from broadsheet.services import erasure, newsletters

# Rows per batch: each batch is one multi-row INSERT (12 values a row, well under SQLite's
# 32,766 and PostgreSQL's 65,535 parameters) and two INSERT ... SELECTs.
BATCH_SIZE = 2000
STATUSES = (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)
# The two columns a rejects file adds to the export's own; an import again ignores them.
REJECT_COLUMNS = ["import_line", "import_reason"]


@dataclass
class Summary:
    """What an import did (or, in a dry run rolled back after, would do)."""

    mapping: Mapping
    rows: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    suppressed: int = 0
    rejected: int = 0

    def add(self, written: Written) -> None:
        self.imported += written.imported
        self.updated += written.updated
        self.skipped += written.skipped
        self.suppressed += written.suppressed


def import_subscribers(
    session: Session,
    raw: BinaryIO,
    name: str,
    *,
    status: str = SubscriberStatus.ACTIVE.value,
    newsletter_slugs: Sequence[str] = (),
    update: bool = False,
    rejects: TextIO | None = None,
    batch_size: int = BATCH_SIZE,
    secret: str | None = None,
) -> Summary:
    """Bring the readers of the export `raw` (called `name` in messages) in with `status`
    (active or pending) into the newsletters `newsletter_slugs` (default: the default one).

    Keeps: a reader who left, bounced or complained, here or in the old sender, never comes
    out of it able to get mail; a reader already here is skipped (with `update`, only their
    name changes); the file is read a row at a time and written a batch at a time, so memory
    stays flat. A file that is not UTF-8 CSV with an address column is a ValidationError on
    `file`, a bad status or slug one on that option; a bad row is rejected (written to
    `rejects` with its line and reason) and the import goes on; so is an address erased at
    its reader's request (checked with `secret`, SECRET_KEY). Flushes, never commits."""
    if status not in STATUSES:
        raise ValidationError({"status": f"must be one of {', '.join(STATUSES)}"})
    subscribed = SubscriberStatus(status)
    if newsletter_slugs:
        chosen = newsletters.by_slugs(session, list(newsletter_slugs), "newsletter")
        newsletter_ids = [n.id for n in chosen]
    else:
        newsletter_ids = newsletters.default_ids(session)
    # Buffered, to peek at the start (a test's BytesIO passes for the raw file it wraps).
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    table = open_table(buffered, name)
    summary = Summary(map_columns(table.header))
    out = csv.writer(rejects) if rejects is not None else None
    if out is not None:
        out.writerow([*table.header, *REJECT_COLUMNS])
    reason = f"imported from {name} ({summary.mapping.source})"
    write = functools.partial(
        write_batch, session, newsletter_ids=newsletter_ids, update_names=update,
        reason=reason, now=utcnow(),
    )  # fmt: skip
    checked = _checked(table, summary, subscribed, out, batch_size)
    width = len(table.header)
    for batch in ahead(checked):
        if secret is not None:
            batch = _without_erased(session, secret, batch, summary, out, width)
        summary.add(write(batch))
    return summary


def _without_erased(
    session: Session, secret: str, batch: list[Reader], summary: Summary, out: Any, width: int
) -> list[Reader]:
    """The batch less the addresses erased at their reader's request, each rejected (one
    query a batch)."""
    erased = erasure.erased_among(session, secret, [r.key for r in batch])
    if not erased:
        return batch
    for reader in batch:
        if reader.key in erased:
            summary.rejected += 1
            if out is not None:
                cells = list(reader.cells[:width]) + [""] * (width - len(reader.cells))
                out.writerow([*cells, reader.line, f"{reader.email} {erasure.REFUSAL}"])
    return [r for r in batch if r.key not in erased]


def _checked(
    table: Table,
    summary: Summary,
    subscribed: SubscriberStatus,
    out: Any,
    size: int,
) -> Iterator[list[Reader]]:
    """The rows checked, a batch at a time; each rejected row counted and written to `out`
    (a csv writer, or None) with its line and reason, in the cells of the export's columns."""
    width = len(table.header)
    batch: list[Reader] = []
    for line, row in table.rows:
        summary.rows += 1
        try:
            batch.append(check_row(summary.mapping, line, row, subscribed))
        except ValidationError as exc:
            summary.rejected += 1
            if out is not None:
                cells = row[:width] + [""] * (width - len(row))
                out.writerow([*cells, line, str(exc)])
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
