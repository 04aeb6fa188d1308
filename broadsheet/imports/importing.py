"""`import_subscribers`: an export read row by row, each row checked, the good ones written a
batch at a time and the others handed to a rejects file with their line and reason.

`begin_import` is the same import a batch at a time, for a caller that commits after each
(the admin's background import, which also starts again after the last line it committed)."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO, cast

from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.imports.ahead import ahead
from broadsheet.imports.formats import Mapping, map_columns
from broadsheet.imports.reading import REJECT_COLUMNS, Table, open_table
from broadsheet.imports.rows import Reader, check_row
from broadsheet.imports.writing import Written, prepare, write_batch
from broadsheet.models import SubscriberStatus, utcnow
from broadsheet.services import erasure, newsletters
from broadsheet.services.profiles import check_tags

# Rows per batch: on PostgreSQL one statement of a few parameters (arrays.py); on SQLite a
# look-up of erased addresses, a multi-row INSERT (12 values a row, well under its 32,766
# parameters) and three more.
# On PostgreSQL at 300,000 rows, 1,000 to 8,000 a batch import within 10% of each other (4,000
# about 3% faster than 2,000); the admin's import commits after each, so they stay small.
BATCH_SIZE = 2000
STATUSES = (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)
COUNTS = ("rows", "imported", "updated", "skipped", "suppressed", "rejected")


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

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass
class _Checked:
    """A batch of rows checked: the readers to write and the rows rejected, as (cells, line,
    reason); counted and written where the batch is written, so both follow its commit."""

    readers: list[Reader] = field(default_factory=list)
    rejected: list[tuple[Sequence[str], int, str]] = field(default_factory=list)
    rows: int = 0
    last_line: int = 0


@dataclass
class Importing:
    """An import under way: its summary so far, and its batches, each written as it is
    asked for (the last line it handled is what it yields)."""

    summary: Summary
    batches: Iterator[int]


def import_subscribers(
    session: Session,
    raw: BinaryIO,
    name: str,
    *,
    status: str = SubscriberStatus.ACTIVE.value,
    newsletter_slugs: Sequence[str] = (),
    tags: Sequence[str] = (),
    update: bool = False,
    rejects: TextIO | None = None,
    batch_size: int = BATCH_SIZE,
    secret: str | None = None,
) -> Summary:
    """Bring the readers of the export `raw` (called `name` in messages) in with `status`
    (active or pending) into the newsletters `newsletter_slugs` (default: the default one),
    each with `tags` and the file's own tags and attributes (formats.py, extras.py).

    Keeps: a reader who left, bounced or complained, here or in the old sender, never comes
    out of it able to get mail; a reader already here is skipped (with `update`, they take the
    file's name, attributes and tags, and join `newsletter_slugs`: updating.py); the file is
    read a row at a time and written a batch at a time, so memory stays flat. A file that is
    not UTF-8 CSV with an address column is a ValidationError on `file`, a bad status, tag or
    slug one on that option; a bad row is rejected (written to `rejects` with its line and
    reason) and the import goes on; so is an address erased at its reader's request (checked
    with `secret`, SECRET_KEY). Flushes, never commits."""
    run = begin_import(
        session, raw, name, status=status, newsletter_slugs=newsletter_slugs, tags=tags,
        update=update, rejects=rejects, batch_size=batch_size, secret=secret,
    )  # fmt: skip
    for _ in run.batches:
        pass
    return run.summary


def begin_import(
    session: Session,
    raw: BinaryIO,
    name: str,
    *,
    status: str = SubscriberStatus.ACTIVE.value,
    newsletter_slugs: Sequence[str] = (),
    tags: Sequence[str] = (),
    update: bool = False,
    rejects: TextIO | None = None,
    batch_size: int = BATCH_SIZE,
    secret: str | None = None,
    after_line: int = 0,
) -> Importing:
    """`import_subscribers`, its options checked and the file's header read now, its batches
    written one by one as the caller asks. Rows up to `after_line` are passed over (an import
    taken up again after its last commit: its counts so far are the caller's), and the
    rejects file's header is then not written again."""
    if status not in STATUSES:
        raise ValidationError({"status": f"must be one of {', '.join(STATUSES)}"})
    subscribed = SubscriberStatus(status)
    given_tags = check_tags(list(tags), "tags")
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
    if out is not None and not after_line:
        out.writerow([*table.header, *REJECT_COLUMNS])
    now = utcnow()
    write = functools.partial(
        write_batch, session, newsletter_ids=newsletter_ids, tags=given_tags, update=update,
        join_ids=newsletter_ids if newsletter_slugs else (),
        reason=f"imported from {name} ({summary.mapping.source})", now=now,
    )  # fmt: skip
    ready = functools.partial(
        prepare, tags=given_tags, now=now, secret=secret,
        postgresql=session.get_bind().dialect.name == "postgresql",
    )  # fmt: skip
    width = len(table.header)
    checked = _checked(table, summary.mapping, subscribed, batch_size, after_line)

    def batches() -> Iterator[int]:
        # Rows are read, checked and made ready on another thread while a batch is written.
        for part, batch in ahead((part, ready(part.readers)) for part in checked):
            written = write(batch)
            if written.erased:
                _reject_erased(part, written.erased)
            summary.rows += part.rows
            summary.rejected += len(part.rejected)
            if out is not None:
                for cells, line, reason in part.rejected:
                    row = list(cells[:width]) + [""] * (width - len(cells))
                    out.writerow([*row, line, reason])
            summary.add(written)
            yield part.last_line

    return Importing(summary, batches())


def _reject_erased(part: _Checked, erased: set[str]) -> None:
    """Each row of an address erased at its reader's request rejected, in line order."""
    for reader in part.readers:
        if reader.key in erased:
            part.rejected.append((reader.cells, reader.line, f"{reader.email} {erasure.REFUSAL}"))
    part.rejected.sort(key=lambda item: item[1])


def _checked(
    table: Table,
    mapping: Mapping,
    subscribed: SubscriberStatus,
    size: int,
    after_line: int,
) -> Iterator[_Checked]:
    """The rows after `after_line` checked, a batch of `size` at a time (with its rejected
    rows and their reasons)."""
    batch = _Checked()
    for line, row in table.rows:
        if line <= after_line:
            continue
        batch.rows += 1
        batch.last_line = line
        try:
            batch.readers.append(check_row(mapping, line, row, subscribed))
        except ValidationError as exc:
            batch.rejected.append((row, line, str(exc)))
        if batch.rows >= size:
            yield batch
            batch = _Checked()
    if batch.rows:
        yield batch
