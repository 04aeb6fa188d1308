"""How long an admin import keeps its file and rejected rows: an upload waiting for the
go-ahead can be discarded (no other), the tick deletes uploads left unconfirmed and finished
imports' rejected rows once their time is up, and nothing sooner; a reader erased before then
is removed from both at once."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from broadsheet.db import make_session_factory
from broadsheet.models import ImportRejects, ImportStatus, ReaderImport, Subscriber, utcnow
from broadsheet.services import erasure, import_retention, reader_imports, subscriptions
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


def rejects_file(committed, import_id: int) -> str:
    found = "".join(reader_imports.rejects_text(committed, import_id))
    committed.rollback()  # SQLite: the read's lock freed for the worker's next write
    return found


@pytest.mark.commits
def test_erasing_a_reader_removes_their_address_from_uploads_and_rejects(
    committed, engine, settings
):
    """Ann is erased while an upload naming her waits for the go-ahead, a confirmed one is
    being run, and a finished one rejected her row: none holds her address after, every other
    row is as it was (line numbers too), and the imports still run."""
    sessions = make_session_factory(engine)
    secret = settings.secret_key

    def made(content: bytes) -> int:
        job = reader_imports.create_import(
            committed, "members.csv", content, status="active", newsletter_slugs=[], tags=[],
            update=False, created_by="editor@example.org",
        )  # fmt: skip
        committed.commit()
        assert reader_imports.work(sessions, job.id, secret) == "checked"
        return job.id

    ann = subscriptions.create_subscriber(committed, "ann@example.org", "Ann", status="active")
    committed.commit()
    done = made(b"email,name\r\nAnn <ANN@example.org>,Ann\r\nnot-an-address,Nobody\r\n")
    assert reader_imports.confirm(committed, done)
    committed.commit()
    assert reader_imports.work(sessions, done, secret) == "done"
    waiting = made(
        b'email,name\r\njoann@example.org,Jo\r\nann@example.org,"Ann\r\nReader"\r\n'
        b"bo@example.org,Bo\r\nann@example.org.uk,Uk\r\n"
    )
    running = made(b"email,name\n\xef\xbb\xbfx@,Bad\nann@example.org,Ann\ncy@example.org,Cy\n")
    assert reader_imports.confirm(committed, running)
    committed.execute(
        update(ReaderImport).where(ReaderImport.id == running)
        .values(lease="a-live-run", heartbeat_at=utcnow())
    )  # fmt: skip
    committed.commit()

    erasure.erase(committed, ann.id, secret)
    committed.commit()

    def content(import_id: int) -> bytes:
        committed.expire_all()
        found = committed.scalar(select(ReaderImport.content).where(ReaderImport.id == import_id))
        committed.rollback()
        return found or b""

    assert content(waiting) == (
        b"email,name\r\njoann@example.org,Jo\r\n\r\n\r\nbo@example.org,Bo\r\n"
        b"ann@example.org.uk,Uk\r\n"
    )
    assert content(running) == b"email,name\n\xef\xbb\xbfx@,Bad\n\ncy@example.org,Cy\n"
    rejects = rejects_file(committed, done)
    assert "ann@example.org" not in rejects.lower()
    header, hers, other = csv.reader(io.StringIO(rejects))
    assert header == ["email", "name", "import_line", "import_reason"]
    assert hers == ["", "", "2", import_retention.ERASED_ROW]
    assert other[:3] == ["not-an-address", "Nobody", "3"] and "email" in other[3]
    # The run under way lost its lease: a later tick takes it up again on the file rewritten.
    later = utcnow() + timedelta(minutes=3)
    with sessions.begin() as session:
        assert reader_imports.stalled(session, later, timedelta(minutes=2)).again == (running,)
    for job in (waiting, running):
        assert job == running or reader_imports.confirm(committed, job)
        committed.commit()
        assert reader_imports.work(sessions, job, secret) == "done"
    rejected = rejects_file(committed, running)
    assert "ann@" not in rejected and ",2," in rejected  # the bad row, on its own line
    emails = committed.scalars(select(Subscriber.email).order_by(Subscriber.email))
    assert list(emails) == [
        "ann@example.org.uk", "bo@example.org", "cy@example.org", f"erased-{ann.id}@erased.invalid",
        "joann@example.org",
    ]  # fmt: skip
