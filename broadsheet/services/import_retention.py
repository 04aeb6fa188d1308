"""How long an admin import keeps the personal data it holds: the uploaded file and the
rejected rows (addresses and names that did not become readers, or that were refused because
their reader asked to be erased).

An editor may discard an upload the dry run checked instead of importing it; one left
unconfirmed is discarded by the tick `UNCONFIRMED_KEPT` after its upload. A finished import's
file is emptied when it finishes (reader_imports); its rejected rows stay downloadable for
`REJECTS_KEPT`, then the tick deletes them, and the import's record keeps only its counts.
A reader erased before then is removed from both at once (`forget_address`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from broadsheet.db import rowcount
from broadsheet.imports.reading import DELIMITERS, REJECT_COLUMNS
from broadsheet.models import ImportRejects, ImportStatus, ReaderImport

UNCONFIRMED_KEPT = timedelta(days=7)
REJECTS_KEPT = timedelta(days=30)
FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)


@dataclass(frozen=True)
class Expired:
    """What one tick deleted: unconfirmed uploads, and the stored parts of finished imports'
    rejected rows (a batch's rows each)."""

    uploads: int = 0
    rejects: int = 0


def discard(session: Session, import_id: int) -> bool:
    """Delete an upload that waits for the editor's go-ahead (checked, not confirmed), with
    its file; False when it is not waiting (being checked, running, or finished). Flushes."""
    gone = session.execute(
        delete(ReaderImport).where(
            ReaderImport.id == import_id, ReaderImport.status == ImportStatus.CHECKED
        )
    )
    return rowcount(gone) == 1


def rejects_until(job: ReaderImport) -> datetime | None:
    """Until when a finished import's rejected rows can be downloaded (None: not finished)."""
    if job.status not in FINISHED or job.finished_at is None:
        return None
    return job.finished_at + REJECTS_KEPT


def expire(session: Session, now: datetime) -> Expired:
    """Delete the uploads left unconfirmed for UNCONFIRMED_KEPT and the rejected rows of
    imports finished REJECTS_KEPT ago. Flushes."""
    uploads = session.execute(
        delete(ReaderImport).where(
            ReaderImport.status == ImportStatus.CHECKED,
            ReaderImport.created_at < now - UNCONFIRMED_KEPT,
        )
    )
    finished = select(ReaderImport.id).where(
        ReaderImport.status.in_(FINISHED), ReaderImport.finished_at < now - REJECTS_KEPT
    )
    rejects = session.execute(delete(ImportRejects).where(ImportRejects.import_id.in_(finished)))
    return Expired(uploads=rowcount(uploads), rejects=rowcount(rejects))


def forget_address(session: Session, email_key: str) -> int:
    """Remove an address erased at its reader's request from every import that holds it, in
    the caller's transaction: each row of an upload's kept file that names it becomes blank
    lines (as many as it spanned, so every other row keeps its line number and a run taken
    up again after its last line stays right), and each rejected row that names it is
    blanked but for its line and a reason. A run under way on such a file loses its lease
    (its next batch is rolled back) and the tick starts it again on the file as rewritten.
    How many rows were removed or blanked. Flushes."""
    naming = _naming(email_key)
    removed = 0
    held = select(ReaderImport.id, ReaderImport.status, ReaderImport.lease).where(
        ReaderImport.content.is_not(None)
    )
    for import_id, status, lease in list(session.execute(held)):
        # One file in memory at a time.
        content = session.scalar(select(ReaderImport.content).where(ReaderImport.id == import_id))
        if content is None or not naming.search(content.decode("utf-8", "surrogateescape")):
            continue
        rewritten, count = _without_rows(content, naming)
        values: dict[str, Any] = {"content": rewritten}
        if status == ImportStatus.RUNNING and lease is not None:
            values |= {"lease": None, "heartbeat_at": None}
        session.execute(update(ReaderImport).where(ReaderImport.id == import_id).values(values))
        removed += count
    # Only the parts that may name it are read (the pattern then decides).
    maybe = func.lower(ImportRejects.text).contains(email_key.lower(), autoescape=True)
    parts = session.execute(
        select(ImportRejects.import_id, ImportRejects.part, ImportRejects.text).where(maybe)
    )
    for import_id, part, text in list(parts):
        if not naming.search(text):
            continue
        blanked, count = _without_rejects(text, naming)
        session.execute(
            update(ImportRejects)
            .where(ImportRejects.import_id == import_id, ImportRejects.part == part)
            .values(text=blanked)
        )
        removed += count
    session.flush()
    return removed


ERASED_ROW = "removed: its reader asked to be erased"
# Characters of an address's local part: one that goes on before the key is another address.
_LOCAL = r"\w.!#$%&'*+/=?^`{|}~-"


def _naming(email_key: str) -> re.Pattern[str]:
    """The erased address anywhere in a cell (`Ann <ann@example.org>` too), in any case, but
    not inside a longer address (`joann@example.org`, `ann@example.org.uk`)."""
    return re.compile(
        rf"(?<![{_LOCAL}]){re.escape(email_key)}(?![\w-])(?!\.\w)", re.IGNORECASE
    )  # fmt: skip


def _without_rows(content: bytes, naming: re.Pattern[str]) -> tuple[bytes, int]:
    """The upload with each row naming the address (after the header) turned into its line
    breaks alone; bytes that are not UTF-8 are kept as they were."""
    text = content.decode("utf-8", "surrogateescape")
    lines = io.StringIO(text, newline="")
    header = lines.readline()
    delimiter = max(DELIMITERS, key=header.count)
    taken: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            taken.append(line)
            yield line

    out, count = [header], 0
    reader = csv.reader(feed(), delimiter=delimiter, strict=False)
    while True:
        taken.clear()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:  # past what reading can parse (an import fails there): line by line
            out += [_breaks(line) if naming.search(line) else line for line in taken]
            count += sum(1 for line in taken if naming.search(line))
            continue
        if any(naming.search(cell) for cell in cells):
            out += [_breaks(line) for line in taken]
            count += 1
        else:
            out += taken
    return "".join(out).encode("utf-8", "surrogateescape"), count


def _breaks(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _without_rejects(text: str, naming: re.Pattern[str]) -> tuple[str, int]:
    """A part of a rejects file with each row naming the address blanked but for its line
    (`import_line`) and ERASED_ROW as its reason."""
    out = io.StringIO()
    writer = csv.writer(out)
    count = 0
    for cells in csv.reader(io.StringIO(text, newline="")):
        if cells[-2:] != REJECT_COLUMNS and any(naming.search(cell) for cell in cells):
            cells = [""] * (len(cells) - 2) + [cells[-2], ERASED_ROW]
            count += 1
        writer.writerow(cells)
    return out.getvalue(), count
