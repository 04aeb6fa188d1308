"""`broadsheet import-subscribers`: an export from another sender brought in, in one
transaction (rolled back for a dry run), and its summary told; `export-subscribers`, the
reverse: readers written out as CSV that the import reads back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from broadsheet.db import make_engine, make_session_factory
from broadsheet.errors import ValidationError
from broadsheet.imports import Summary, import_subscribers
from broadsheet.imports.reading import FIELD
from broadsheet.services.reader_export import export_subscribers
from broadsheet.settings import Settings


def import_file(
    settings: Settings,
    path: Path,
    *,
    status: str,
    newsletters: Sequence[str],
    tags: Sequence[str] = (),
    update: bool,
    dry_run: bool,
    rejects: Path | None,
) -> Summary:
    """Import the export at `path`; everything is committed at the end, or nothing (a dry
    run, or an error: a file that turns out not to be UTF-8 halfway leaves no half import)."""
    engine = make_engine(settings.database_url)
    try:
        with ExitStack() as stack:
            try:
                raw = stack.enter_context(path.open("rb"))
            except OSError as exc:
                raise ValidationError({FIELD: f"{path} cannot be read: {exc.strerror}"}) from exc
            out = None
            if rejects is not None:
                out = stack.enter_context(rejects.open("w", encoding="utf-8", newline=""))
            # Closing the session rolls back whatever was not committed.
            session = stack.enter_context(make_session_factory(engine)())
            summary = import_subscribers(
                session, raw, path.name, status=status, newsletter_slugs=newsletters,
                tags=tags, update=update, rejects=out, secret=settings.secret_key,
            )  # fmt: skip
            if not dry_run:
                session.commit()
            return summary
    finally:
        engine.dispose()


def tell(summary: Summary, dry_run: bool, say: Callable[[str], None]) -> None:
    """The column mapping and the counts, for a person at a terminal."""
    mapping = summary.mapping
    say(f"Columns ({mapping.source} export):")
    for column, what in mapping.used:
        say(f"  {column} -> {what}")
    for column, why in mapping.ignored:
        say(f"  {column} ignored: {why}")
    say(
        f"{summary.rows:,} rows: {summary.imported:,} imported, {summary.updated:,} updated, "
        f"{summary.skipped:,} skipped, {summary.suppressed:,} suppressed, "
        f"{summary.rejected:,} rejected" + (" (dry run: nothing was written)" if dry_run else "")
    )


def export_file(
    settings: Settings,
    out: IO[str],
    *,
    newsletters: Sequence[str],
    status: str | None,
    segment: str | None = None,
) -> int:
    """Write the readers chosen to `out` (CSV) from one read-only transaction; how many."""
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return export_subscribers(
                session, out, newsletter_slugs=newsletters, status=status, segment=segment
            )
    finally:
        engine.dispose()
