"""How long an admin import keeps its file and rejected rows: an upload waiting for the
go-ahead can be discarded (no other), the tick deletes uploads left unconfirmed and finished
imports' rejected rows once their time is up, and nothing sooner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadsheet.models import ImportRejects, ImportStatus, ReaderImport, utcnow
from broadsheet.services import import_retention
from broadsheet.services.import_retention import REJECTS_KEPT, UNCONFIRMED_KEPT
from broadsheet.services.upkeep import run_upkeep

DAY = timedelta(days=1)


def an_import(db, status: ImportStatus, *, age: timedelta, rejects: int = 0) -> int:
    """An import uploaded `age` ago, finished then too when it is done or failed."""
    at = utcnow() - age
    job = ReaderImport(
        status=status, file_name="members.csv", file_size=3, content=b"a,b",
        options={"status": "active", "newsletters": [], "tags": [], "update": False},
        created_by="editor@example.org", created_at=at, attempts=0, line_done=0,
        finished_at=at if status in import_retention.FINISHED else None,
    )  # fmt: skip
    db.add(job)
    db.flush()
    for part in range(rejects):
        db.add(ImportRejects(import_id=job.id, part=part, text="x@,1,bad\r\n"))
    db.flush()
    return job.id


def rejects_of(db, import_id: int) -> int:
    return db.scalar(select(func.count()).where(ImportRejects.import_id == import_id)) or 0


def test_only_an_upload_waiting_for_the_go_ahead_is_discarded(db):
    waiting = an_import(db, ImportStatus.CHECKED, age=timedelta(minutes=5))
    others = [an_import(db, s, age=timedelta(minutes=5)) for s in ImportStatus if s != "checked"]
    assert import_retention.discard(db, waiting)
    assert not import_retention.discard(db, waiting), "gone already"
    assert [import_retention.discard(db, i) for i in others] == [False] * len(others)
    assert db.get(ReaderImport, waiting) is None
    kept = db.scalar(select(func.count()).select_from(ReaderImport))
    assert kept == len(others)


@pytest.mark.parametrize("tick", ["expire", "run_upkeep"])
def test_uploads_and_rejects_are_deleted_once_their_time_is_up(db, tick):
    stale = an_import(db, ImportStatus.CHECKED, age=UNCONFIRMED_KEPT + DAY)
    fresh = an_import(db, ImportStatus.CHECKED, age=UNCONFIRMED_KEPT - DAY)
    # Confirmed long ago and still running (a huge file): never deleted under it.
    running = an_import(db, ImportStatus.RUNNING, age=UNCONFIRMED_KEPT + DAY, rejects=2)
    old = an_import(db, ImportStatus.DONE, age=REJECTS_KEPT + DAY, rejects=3)
    old_failed = an_import(db, ImportStatus.FAILED, age=REJECTS_KEPT + DAY, rejects=1)
    recent = an_import(db, ImportStatus.DONE, age=REJECTS_KEPT - DAY, rejects=2)
    if tick == "expire":
        expired = import_retention.expire(db, utcnow())
        assert (expired.uploads, expired.rejects) == (1, 4)
    else:
        upkeep = run_upkeep(db, utcnow(), stall_after=timedelta(minutes=2), batch_size=10)
        assert upkeep.counts()["imports_expired"] == 5
    db.expire_all()
    assert db.get(ReaderImport, stale) is None and db.get(ReaderImport, fresh) is not None
    assert [rejects_of(db, i) for i in (running, old, old_failed, recent)] == [2, 0, 0, 2]
    # The finished imports' records (their counts) stay; only their rows went.
    assert db.get(ReaderImport, old) is not None and db.get(ReaderImport, old_failed) is not None


def test_rejects_are_kept_for_their_time_after_the_finish_and_unbounded_before(db):
    done = db.get(ReaderImport, an_import(db, ImportStatus.DONE, age=DAY))
    running = db.get(ReaderImport, an_import(db, ImportStatus.RUNNING, age=DAY))
    assert done.finished_at is not None
    assert import_retention.rejects_until(done) == done.finished_at + REJECTS_KEPT
    assert import_retention.rejects_until(running) is None
