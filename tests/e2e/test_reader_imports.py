"""An import as an editor runs it, through the real worker: the editors' trial uploaded,
checked (the mapping and the counts shown, nothing written), imported once confirmed, and its
rejected rows downloadable with their line and reason."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from sqlalchemy import func, select

from broadsheet.models import ReaderImport, Subscriber
from broadsheet.services import erasure, subscriptions
from tests.broadsheet.imports.exports import editors_trial
from tests.support.admin import csrf_token
from tests.support.imports import upload


def wait_for(client, url: str, status: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"{url}/progress").get_json()
        if data["status"] == status:
            return data
        assert data["status"] != "failed", client.get(url).get_data(as_text=True)
        time.sleep(0.2)
    raise AssertionError(f"{url} never became {status}")


def test_the_editors_trial_uploaded_checked_confirmed_and_run_by_the_worker(
    editor, committed, settings, celery_worker
):
    gone = subscriptions.create_subscriber(committed, "erased@example.org", status="active")
    erasure.erase(committed, gone.id, settings.secret_key)
    committed.commit()
    raw, bad_lines = editors_trial()
    content = raw.getvalue() + b"erased@example.org,Er,,1,,,,\r\n"
    answer = upload(editor, content, tags="spring")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    page = answer.headers["Location"]
    wait_for(editor, page, "checked")
    html = editor.get(page).get_data(as_text=True)
    assert "Columns (Mailchimp export)" in html and "attribute member_rating" in html
    assert "Import 1,000 readers" in html
    assert committed.scalar(select(func.count()).select_from(Subscriber)) == 1  # the dry run
    committed.rollback()
    start = editor.post(f"{page}/start", data={"csrf_token": csrf_token(editor, page),
                                               "confirm": "yes"})  # fmt: skip
    assert start.status_code == 303
    done = wait_for(editor, page, "done")
    assert {k: done["counts"][k] for k in ("imported", "skipped", "suppressed", "rejected")} == {
        "imported": 1000, "skipped": 20, "suppressed": 30, "rejected": 51
    }  # fmt: skip
    rejects = editor.get(f"{page}/rejects.csv")
    assert rejects.headers["Content-Disposition"] == 'attachment; filename="members-rejects.csv"'
    rows = list(csv.DictReader(io.StringIO(rejects.get_data(as_text=True))))
    assert [int(r["import_line"]) for r in rows][:50] == bad_lines
    assert all(r["import_reason"] for r in rows)
    assert rows[-1]["Email Address"] == "erased@example.org"
    assert "erased at the reader's request" in rows[-1]["import_reason"]
    assert committed.scalar(
        select(func.count()).where(Subscriber.email_key == "erased@example.org")
    ) == 0  # fmt: skip
    job = committed.scalars(select(ReaderImport)).one()
    assert job.content is None and job.counts and job.counts["rows"] == 1101
