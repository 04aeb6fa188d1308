"""The readers' commands as an editor runs them: `broadsheet import-subscribers` (a dry run
first, the mapping and the counts, nothing written; then the import, its summary and its
rejects file) and `broadsheet erase-subscriber`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.models import Subscriber, SubscriberTag
from broadsheet.settings import PROJECT_ROOT
from tests.broadsheet.imports.exports import editors_trial
from tests.support.services import make_tempdir


def broadsheet(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=PROJECT_ROOT, env=dict(os.environ),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def readers(session: Session) -> int:
    """Readers committed; the read's transaction ended (on SQLite it holds the write lock)."""
    try:
        return session.scalar(select(func.count()).select_from(Subscriber)) or 0
    finally:
        session.rollback()


def test_the_editors_trial_through_the_command(committed):
    folder = make_tempdir()
    export, rejects = folder / "members.csv", folder / "rejects.csv"
    raw, bad_lines = editors_trial()
    export.write_bytes(raw.getvalue())

    code, out = broadsheet("import-subscribers", str(export), "--dry-run")
    assert code == 0, out
    assert "Columns (Mailchimp export):" in out and "Email Address -> email" in out
    assert "MEMBER_RATING -> attribute member_rating" in out and "TAGS -> tags" in out
    assert "1,000 imported, 0 updated, 20 skipped, 30 suppressed, 50 rejected" in out
    assert "dry run: nothing was written" in out
    assert readers(committed) == 0

    code, out = broadsheet(
        "import-subscribers", str(export), "--rejects", str(rejects), "--tag", "from-mc"
    )
    assert code == 0, out
    assert "1,100 rows: 1,000 imported, 0 updated, 20 skipped, 30 suppressed, 50 rejected" in out
    assert readers(committed) == 1030
    with rejects.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["import_line"]) for r in rows] == bad_lines
    assert all(r["import_reason"].startswith("email: ") for r in rows)
    tagged = select(func.count()).where(SubscriberTag.tag == "from-mc")
    assert committed.scalar(tagged) == 1030
    committed.rollback()

    code, out = broadsheet("import-subscribers", str(export))  # again: all known now
    assert "0 imported, 0 updated, 1,050 skipped, 0 suppressed, 50 rejected" in out

    back = folder / "export.csv"
    code, out = broadsheet("export-subscribers", "--status", "unsubscribed", "-o", str(back))
    assert (code, out.strip()) == (0, "30 readers exported")
    with back.open(newline="", encoding="utf-8") as f:
        gone = list(csv.DictReader(f))
    assert [r["email"] for r in gone][:2] == ["gone0@example.org", "gone1@example.org"]
    assert gone[0]["tags"] == "from-mc"
    assert json.loads(gone[0]["attributes"]) == {"member_rating": "1"}  # UNSUB_TIME: the status


def test_a_file_that_is_not_utf8_is_refused_and_nothing_written(committed):
    export = make_tempdir() / "latin1.csv"
    export.write_bytes("email,name\nzoe@example.org,Zoë\n".encode("latin-1"))
    code, out = broadsheet("import-subscribers", str(export))
    assert code == 1
    assert "Error: file: latin1.csv is not UTF-8 text (byte 0xeb on line 2)" in out
    assert readers(committed) == 0


def test_erase_subscriber_through_the_command(committed):
    committed.add(Subscriber(email="zed@example.org", email_key="zed@example.org", status="active"))
    committed.commit()
    code, said = broadsheet("erase-subscriber", "zed@example.org")
    assert code == 0 and "zed@example.org is erased." in said, said
    code, said = broadsheet("erase-subscriber", "zed@example.org")
    assert code != 0 and "no reader has the address" in said, said
