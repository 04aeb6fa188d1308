"""Imports started in the admin, run by a worker on any machine: the file is kept in the
database (`imports`), checked by a dry run first (its mapping and counts shown, nothing
written), then, once an editor confirms, imported a batch at a time, each batch committed
with the import's counts, its last line and its rejected rows. A run that dies is taken up
again after its last committed line, so no row is written twice and the counts stay true.

Who runs what: `claim` gives a job to one run at a time (a lease); the tick's `stalled` frees
the jobs whose run has shown no sign of life for a while, to be enqueued again, and fails
those that died MAX_ATTEMPTS times."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker, undefer

from broadsheet.db import rowcount
from broadsheet.errors import NotFound, ValidationError
from broadsheet.imports.formats import map_columns
from broadsheet.imports.importing import COUNTS, STATUSES, begin_import, import_subscribers
from broadsheet.imports.reading import open_table
from broadsheet.models import ImportRejects, ImportStatus, ReaderImport, utcnow
from broadsheet.models.reader_import import WORKING
from broadsheet.services import newsletters
from broadsheet.services.profiles import check_tags

# A run that dies this many times (a worker lost each time) fails: the file is at fault.
MAX_ATTEMPTS = 3
# The dry run is one transaction (rolled back), so it shows no sign of life until it ends:
# it is taken for dead only after this long (a 50 MB file is checked in about a minute).
CHECK_STALL = timedelta(minutes=10)


@dataclass(frozen=True)
class Stalled:
    """What the tick found: imports to enqueue again, and how many it marked failed."""

    again: tuple[int, ...] = ()
    failed: int = 0


def create_import(
    session: Session,
    file_name: str,
    content: bytes,
    *,
    status: str,
    newsletter_slugs: Sequence[str],
    tags: Sequence[str],
    update: bool,
    created_by: str,
) -> ReaderImport:
    """A new import, to be checked by a worker; its options are checked now, and so is the
    file's start (UTF-8 text with a header naming an address column). ValidationError names
    every field at fault (file, status, newsletters, tags)."""
    errors: dict[str, str] = {}
    if not content:
        errors["file"] = "choose a CSV file (this one is empty or none was chosen)"
    else:
        try:
            map_columns(open_table(io.BufferedReader(io.BytesIO(content)), file_name).header)
        except ValidationError as exc:
            errors.update(exc.fields)
    if status not in STATUSES:
        errors["status"] = f"must be one of {', '.join(STATUSES)}"
    try:
        tags = check_tags(list(tags), "tags")
    except ValidationError as exc:
        errors.update(exc.fields)
    if newsletter_slugs:
        try:
            newsletters.by_slugs(session, list(newsletter_slugs), "newsletters")
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    job = ReaderImport(
        file_name=file_name[:255], file_size=len(content), content=content, created_by=created_by,
        options={"status": status, "newsletters": list(newsletter_slugs), "tags": list(tags),
                 "update": update},
        created_at=utcnow(), attempts=0, line_done=0,
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def get_import(session: Session, import_id: int) -> ReaderImport:
    job = session.get(ReaderImport, import_id)
    if job is None:
        raise NotFound(f"import {import_id} does not exist")
    return job


def latest_imports(session: Session, limit: int = 10) -> list[ReaderImport]:
    return list(session.scalars(select(ReaderImport).order_by(ReaderImport.id.desc()).limit(limit)))


def confirm(session: Session, import_id: int) -> bool:
    """The editor's go-ahead after the dry run; False when it was not waiting for one (a
    second click, or a failed check). Flushes."""
    done = session.execute(
        update(ReaderImport)
        .where(ReaderImport.id == import_id, ReaderImport.status == ImportStatus.CHECKED)
        .values(status=ImportStatus.RUNNING, confirmed_at=utcnow(), attempts=0)
    )
    return rowcount(done) == 1


def share_done(job: ReaderImport) -> float | None:
    """How far the run is, 0 to 1 (rows done of the rows the dry run counted); None while
    that is not known (the dry run is under way)."""
    if job.status == ImportStatus.DONE:
        return 1.0
    if job.status != ImportStatus.RUNNING or not job.checked:
        return None
    total = job.checked.get("rows") or 0
    done = (job.counts or {}).get("rows", 0)
    return min(1.0, done / total) if total else 0.0


def rejects_text(session: Session, import_id: int) -> Iterator[str]:
    """The run's rejects file, a batch's rows at a time (one part in memory at once)."""
    last = -1
    while True:
        part = session.execute(
            select(ImportRejects.part, ImportRejects.text)
            .where(ImportRejects.import_id == import_id, ImportRejects.part > last)
            .order_by(ImportRejects.part)
            .limit(1)
        ).first()
        if part is None:
            return
        last = part.part
        yield part.text


def claim(session: Session, import_id: int, now: datetime) -> str | None:
    """Take the job for this run if it has work and no live run holds it: the lease key, or
    None (nothing to do, or another run has it). Flushes; the caller commits."""
    lease = uuid.uuid4().hex
    taken = session.execute(
        update(ReaderImport)
        .where(
            ReaderImport.id == import_id,
            ReaderImport.status.in_(WORKING),
            ReaderImport.lease.is_(None),
        )
        .values(lease=lease, heartbeat_at=now, attempts=ReaderImport.attempts + 1)
    )
    return lease if rowcount(taken) == 1 else None


def work(sessions: sessionmaker[Session], import_id: int, secret: str) -> str:
    """Do what the job is waiting for, if no other run has it: its dry run, or its import (from
    after its last committed line). What happened, in a word, for the log."""
    with sessions.begin() as session:
        lease = claim(session, import_id, utcnow())
        status = session.scalar(select(ReaderImport.status).where(ReaderImport.id == import_id))
    if lease is None:
        return "not mine"
    if status == ImportStatus.CHECKING:
        return _check(sessions, import_id, lease, secret)
    return _run(sessions, import_id, lease, secret)


def stalled(session: Session, now: datetime, stall_after: timedelta) -> Stalled:
    """Jobs with work whose run shows no sign of life (no batch committed for `stall_after`,
    CHECK_STALL for a dry run; or never taken: its task was lost): freed to be enqueued
    again, or failed after MAX_ATTEMPTS runs. Flushes."""
    jobs = session.execute(
        select(ReaderImport.id, ReaderImport.status, ReaderImport.attempts,
               func.coalesce(ReaderImport.heartbeat_at, ReaderImport.confirmed_at,
                             ReaderImport.created_at).label("seen"))
        .where(ReaderImport.status.in_(WORKING))
    ).all()  # fmt: skip
    again: list[int] = []
    failed = 0
    for job in jobs:
        limit = CHECK_STALL if job.status == ImportStatus.CHECKING else stall_after
        if job.seen > now - limit:
            continue
        values: dict[str, Any] = {"lease": None, "heartbeat_at": now}
        if job.attempts >= MAX_ATTEMPTS:
            failed += 1
            lost = (
                f"the import stopped {job.attempts} times without finishing (its worker was "
                "lost each time); what it imported stays, and uploading the file again adds "
                "the rest"
            )
            values |= {"status": ImportStatus.FAILED, "finished_at": now, "content": None,
                       "error": {"file": lost}}  # fmt: skip
        else:
            again.append(job.id)
        session.execute(update(ReaderImport).where(ReaderImport.id == job.id).values(values))
    return Stalled(tuple(again), failed)


def _options(job: ReaderImport, secret: str) -> dict[str, Any]:
    options = job.options
    return {
        "status": options["status"], "newsletter_slugs": options["newsletters"],
        "tags": options["tags"], "update": options["update"], "secret": secret,
    }  # fmt: skip


def _load(session: Session, import_id: int) -> ReaderImport:
    query = select(ReaderImport).options(undefer(ReaderImport.content))
    job = session.scalars(query.where(ReaderImport.id == import_id)).one()
    return job


def _check(sessions: sessionmaker[Session], import_id: int, lease: str, secret: str) -> str:
    """The dry run: the whole import in one transaction, rolled back; its summary kept."""
    values: dict[str, Any]
    with sessions() as session:
        job = _load(session, import_id)
        try:
            summary = import_subscribers(
                session, io.BytesIO(job.content or b""), job.file_name, **_options(job, secret)
            )
        except ValidationError as exc:
            values = {"status": ImportStatus.FAILED, "error": exc.fields, "content": None,
                      "finished_at": utcnow()}  # fmt: skip
        else:
            mapping = summary.mapping
            values = {
                "status": ImportStatus.CHECKED,
                "checked": {"source": mapping.source, "used": mapping.used,
                            "ignored": mapping.ignored, **summary.counts()},
            }  # fmt: skip
        session.rollback()
    with sessions.begin() as session:
        kept = session.execute(
            update(ReaderImport)
            .where(ReaderImport.id == import_id, ReaderImport.lease == lease)
            .values(lease=None, heartbeat_at=utcnow(), **values)
        )
    return values["status"].value if rowcount(kept) else "lost its lease"


def _run(sessions: sessionmaker[Session], import_id: int, lease: str, secret: str) -> str:
    """The import, from after the last committed line: each batch committed with the counts,
    the line it reached and its rejected rows, while this run still holds the lease."""
    with sessions() as session:
        job = _load(session, import_id)
        base = job.counts or dict.fromkeys(COUNTS, 0)
        part = session.scalar(
            select(func.count()).where(ImportRejects.import_id == import_id)
        ) or 0  # fmt: skip
        rejects = io.StringIO()
        try:
            run = begin_import(
                session, io.BytesIO(job.content or b""), job.file_name,
                rejects=rejects, after_line=job.line_done, **_options(job, secret),
            )  # fmt: skip
            for last_line in run.batches:
                counts = {k: base[k] + n for k, n in run.summary.counts().items()}
                kept = session.execute(
                    update(ReaderImport)
                    .where(ReaderImport.id == import_id, ReaderImport.lease == lease)
                    .values(counts=counts, line_done=last_line, heartbeat_at=utcnow())
                )
                if not rowcount(kept):
                    session.rollback()
                    return "lost its lease"
                if rejects.tell():
                    session.add(
                        ImportRejects(import_id=import_id, part=part, text=rejects.getvalue())
                    )
                    part += 1
                    rejects.seek(0)
                    rejects.truncate()
                session.commit()
        except ValidationError as exc:  # the file changed since its check: it cannot
            session.rollback()
            return _finish(sessions, import_id, lease, ImportStatus.FAILED, exc.fields)
    return _finish(sessions, import_id, lease, ImportStatus.DONE, None)


def _finish(
    sessions: sessionmaker[Session], import_id: int, lease: str, status: ImportStatus,
    error: dict[str, str] | None,
) -> str:  # fmt: skip
    with sessions.begin() as session:
        kept = session.execute(
            update(ReaderImport)
            .where(ReaderImport.id == import_id, ReaderImport.lease == lease)
            .values(status=status, error=error, finished_at=utcnow(), lease=None, content=None)
        )
    return status.value if rowcount(kept) else "lost its lease"
