"""The import page's progress bar and the JSON it polls: no share while the dry run counts
the rows, then the rows done of the rows counted, then full once the import is done."""

from __future__ import annotations

from broadsheet.models import ImportStatus
from broadsheet.services import reader_imports


def test_the_bar_shows_the_rows_done_of_the_rows_the_dry_run_counted(editor, committed):
    job = reader_imports.create_import(
        committed, "members.csv", b"email\na@example.org\n", status="active",
        newsletter_slugs=[], tags=[], update=False, created_by="editor@example.org",
    )  # fmt: skip
    committed.commit()
    page = f"/admin/subscribers/imports/{job.id}"
    checking = editor.get(f"{page}/progress").get_json()
    assert checking["status"] == "checking" and checking["share"] is None
    assert checking["total"] is None
    # Still counting: a bar with no value, which browsers draw as "under way".
    assert '<progress aria-labelledby="state-title"></progress>' in editor.get(page).text

    job.status = ImportStatus.RUNNING
    job.checked = {"source": "generic", "used": [["email", "address"]], "ignored": [],
                   "rows": 1000, "imported": 1000}  # fmt: skip
    job.counts = {"rows": 400, "imported": 390, "rejected": 10}
    committed.commit()
    running = editor.get(f"{page}/progress").get_json()
    assert running == {
        "status": "running", "share": 0.4, "total": 1000,
        "counts": {"rows": 400, "imported": 390, "rejected": 10},
    }  # fmt: skip
    assert 'max="1" value="0.4"' in editor.get(page).text

    job.status, job.counts = ImportStatus.DONE, {"rows": 1000, "imported": 990, "rejected": 10}
    committed.commit()
    done = editor.get(f"{page}/progress").get_json()
    assert done["status"] == "done" and done["share"] == 1.0
