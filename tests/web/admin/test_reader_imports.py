"""The admin's "Import readers" and "Export readers": bad uploads refused at their field (413
for one too large); an import whose worker was lost taken up again after its last committed
line; an upload discarded; rejects downloadable for their time only; an export filtered and
read back whole. (An import run by the real worker: tests/e2e/test_reader_imports.py.)"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadsheet.db import make_session_factory
from broadsheet.imports import import_subscribers
from broadsheet.models import (
    ImportRejects,
    ImportStatus,
    ReaderImport,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services import import_retention, reader_imports, subscriptions
from tests.broadsheet.imports.exports import MAILCHIMP, csv_bytes
from tests.support.admin import csrf_token, sign_in
from tests.support.apps import make_app
from tests.support.factories import make_user
from tests.support.imports import FORM, upload


def test_bad_uploads_are_refused_at_their_field(editor):
    nothing = upload(editor, b"")
    assert nothing.status_code == 422 and 'id="file-error"' in nothing.get_data(as_text=True)
    latin = upload(editor, "email\nzoë@example.org\n".encode("latin-1"))
    assert latin.status_code == 422 and "is not UTF-8 text" in latin.get_data(as_text=True)
    options = upload(editor, b"email\na@example.org\n", tags="no way!", newsletters="nope")
    html = options.get_data(as_text=True)
    assert options.status_code == 422
    assert 'id="tags-error"' in html and 'id="newsletters-error"' in html


@pytest.mark.commits
def test_an_upload_too_large_is_refused_before_it_is_read(settings, stack, committed):
    app = make_app(dataclasses.replace(settings, import_max_bytes=2048))
    make_user(committed, "editor")
    client = app.test_client()
    sign_in(client, "editor@example.org")
    answer = upload(client, b"email\n" + b"a@example.org\n" * 400)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 413 and 'id="file-error"' in html
    assert "is 6 KB; an import takes at most 2 KB (IMPORT_MAX_BYTES)" in html


def test_a_viewer_may_not_import_or_export(app, committed):
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    assert client.get(FORM).status_code == 403
    assert client.get("/admin/subscribers/export.csv").status_code == 403


@pytest.mark.commits
def test_a_lost_run_is_taken_up_after_its_last_committed_line(committed, engine, settings):
    """A run that died after committing the first 600 rows (its readers, counts and line
    together): the tick frees it, and a new run imports the rest, nobody twice."""
    sessions = make_session_factory(engine)
    lines = [MAILCHIMP] + [[f"r{n}@example.org", "R", str(n), "1", "", "", "", ""]
                           for n in range(1000)]  # fmt: skip
    content = csv_bytes(lines).getvalue()
    job = reader_imports.create_import(
        committed, "lost.csv", content, status="active", newsletter_slugs=[], tags=[],
        update=False, created_by="editor@example.org",
    )  # fmt: skip
    committed.commit()
    assert reader_imports.work(sessions, job.id, settings.secret_key) == "checked"
    assert reader_imports.confirm(committed, job.id)
    first = import_subscribers(committed, csv_bytes(lines[:601]), "lost.csv")  # lines 2 to 601
    job = committed.get(ReaderImport, job.id)
    job.counts, job.line_done = first.counts(), 601
    job.lease, job.heartbeat_at = "a-dead-run", utcnow() - timedelta(minutes=5)
    committed.commit()
    assert reader_imports.work(sessions, job.id, settings.secret_key) == "not mine"  # held
    with sessions.begin() as session:
        found = reader_imports.stalled(session, utcnow(), timedelta(seconds=120))
    assert found.again == (job.id,)
    assert reader_imports.work(sessions, job.id, settings.secret_key) == "done"
    committed.expire_all()
    job = committed.get(ReaderImport, job.id)
    assert job.status == ImportStatus.DONE and job.attempts == 1  # the dead run was made here
    assert job.counts == {"rows": 1000, "imported": 1000, "updated": 0, "skipped": 0,
                          "suppressed": 0, "rejected": 0}  # fmt: skip
    assert committed.scalar(select(func.count()).select_from(Subscriber)) == 1000
    job.status, job.lease, job.attempts = ImportStatus.RUNNING, "dead", 3
    job.heartbeat_at = utcnow() - timedelta(minutes=5)
    committed.commit()
    with sessions.begin() as session:
        assert reader_imports.stalled(session, utcnow(), timedelta(seconds=120)).failed == 1
    committed.expire_all()
    assert committed.get(ReaderImport, job.id).status == ImportStatus.FAILED


def test_the_export_download_is_filtered_and_reads_back(editor, committed):
    subscriptions.create_subscriber(committed, "ann@example.org", "Ann", status="active",
                                    tags=["donor"], attributes={"n": 3})  # fmt: skip
    subscriptions.create_subscriber(committed, "bo@example.org", "Bo", status="pending")
    committed.commit()
    assert editor.get("/admin/subscribers/export").status_code == 200
    answer = editor.get("/admin/subscribers/export.csv?status=active&newsletter=&segment=")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["email"], r["tags"], r["attributes"]) for r in rows] == [
        ("ann@example.org", "donor", '{"n": 3}')
    ]
    bad = editor.get("/admin/subscribers/export.csv?segment=Nobody")
    assert bad.status_code == 422 and 'id="segment-error"' in bad.get_data(as_text=True)
    assert SubscriberStatus.ACTIVE.value == rows[0]["status"]


def checked_upload(db, name: str) -> int:
    """An upload as its dry run leaves it: checked, waiting for the go-ahead."""
    job = reader_imports.create_import(
        db, name, b"email\na@example.org\n", status="active", newsletter_slugs=[], tags=[],
        update=False, created_by="editor@example.org",
    )  # fmt: skip
    job.status = ImportStatus.CHECKED
    job.checked = {"source": "generic", "used": [["email", "address"]], "ignored": [],
                   "rows": 1, "imported": 1}  # fmt: skip
    db.commit()
    return job.id


def test_an_upload_is_discarded_once_confirmed_and_not_after_it_started(editor, committed):
    jobs = [checked_upload(committed, name) for name in ("keep.csv", "started.csv")]
    page, started = (f"/admin/subscribers/imports/{job}" for job in jobs)
    html = editor.get(page).get_data(as_text=True)
    assert "Discard this upload" in html and "the upload is discarded" in html
    token = csrf_token(editor, page)
    asked = editor.post(f"{page}/discard", data={"csrf_token": token})
    assert asked.status_code == 200 and "Discard keep.csv?" in asked.get_data(as_text=True)
    assert committed.get(ReaderImport, jobs[0]) is not None  # asked, not done
    done = editor.post(f"{page}/discard", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"].endswith(FORM)
    form = editor.get(FORM).get_data(as_text=True)
    assert "keep.csv is discarded: nothing was imported." in form
    assert editor.get(page).status_code == 404
    assert reader_imports.confirm(committed, jobs[1])
    committed.commit()
    refused = editor.post(f"{started}/discard", data={"csrf_token": token, "confirm": "yes"})
    assert refused.status_code == 303 and refused.headers["Location"].endswith(started)
    refusal = "Not discarded: only an upload waiting for the go-ahead can be."
    assert refusal in editor.get(started).get_data(as_text=True)
    assert committed.get(ReaderImport, jobs[1]) is not None


def test_the_rejected_rows_are_downloadable_for_their_time_only(editor, committed):
    job = reader_imports.create_import(
        committed, "old.csv", b"email\nnot-an-address\n", status="active", newsletter_slugs=[],
        tags=[], update=False, created_by="editor@example.org",
    )  # fmt: skip
    job.status, job.counts = ImportStatus.DONE, {"rows": 1, "rejected": 1}
    job.finished_at = utcnow() - import_retention.REJECTS_KEPT + timedelta(hours=1)
    committed.add(ImportRejects(import_id=job.id, part=0, text="email\r\nnot-an-address\r\n"))
    committed.commit()
    page = f"/admin/subscribers/imports/{job.id}"
    html = editor.get(page).get_data(as_text=True)
    assert "Download the 1 rejected rows" in html and "then deleted" in html
    assert "not-an-address" in editor.get(f"{page}/rejects.csv").get_data(as_text=True)
    job.finished_at -= timedelta(hours=2)
    committed.commit()
    html = editor.get(page).get_data(as_text=True)
    assert "Download the" not in html and "rejected rows were deleted" in html
    assert editor.get(f"{page}/rejects.csv").status_code == 404
