"""How long an admin import keeps the personal data it holds: the uploaded file and the
rejected rows (addresses and names that did not become readers, or that were refused because
their reader asked to be erased).

An editor may discard an upload the dry run checked instead of importing it; one left
unconfirmed is discarded by the tick `UNCONFIRMED_KEPT` after its upload. A finished import's
file is emptied when it finishes (reader_imports); its rejected rows stay downloadable for
`REJECTS_KEPT`, then the tick deletes them, and the import's record keeps only its counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadsheet.db import rowcount
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
