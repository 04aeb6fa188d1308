"""Imports of readers started in the admin: the uploaded file kept in the database (the worker
that runs it may be on another machine), its options, the dry run's mapping and counts, and
the run's progress, counted per batch committed so it can start again after its last line.
Their rejected rows are kept a batch at a time in `import_rejects`."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class ImportStatus(enum.StrEnum):
    CHECKING = "checking"  # the dry run is to be done, or under way
    CHECKED = "checked"  # the mapping and the counts wait for the editor's go-ahead
    RUNNING = "running"  # confirmed: the import is to be done, or under way
    DONE = "done"
    FAILED = "failed"


# The states a worker has work to do in.
WORKING = (ImportStatus.CHECKING, ImportStatus.RUNNING)


class ReaderImport(Base):
    __tablename__ = "imports"
    __table_args__ = (
        # The tick's look for imports whose worker was lost, and the list of the latest.
        Index("ix_imports_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status"), default=ImportStatus.CHECKING
    )
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int]
    # The file as uploaded; emptied once the import is done or failed (the rejects stay).
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # {"status": "active", "newsletters": ["weekly"], "tags": ["spring"], "update": false}
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The run that holds it (a worker's task), and when it last showed it was alive.
    lease: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # The dry run: {"source", "used": [[column, what]], "ignored": [[column, why]], counts}.
    checked: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The run's counts so far (rows, imported, ...) and the last line they cover.
    counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    line_done: Mapped[int] = mapped_column(default=0)
    # Why it failed, by field ({"file": "... is not UTF-8 ..."}).
    error: Mapped[dict[str, str] | None] = mapped_column(JSON)


class ImportRejects(Base):
    """One batch's rejected rows, as CSV text (the first holds the header)."""

    __tablename__ = "import_rejects"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
