"""The readers' section's imports and exports: "Import readers" uploads a CSV file (kept in the
database, for a worker on any machine), shows the dry run's column mapping and counts, runs the
import in the background once confirmed, with a progress bar the page polls (and reloads
without JavaScript), then its summary and its rejects file; "Export readers" downloads CSV,
streamed, filtered by newsletter, status and segment.

Views are thin over broadsheet/services/reader_imports.py and reader_export.py; they join the
Subscribers section (its blueprint and its rights: an editor's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import ImportStatus, SubscriberStatus, utcnow
from broadsheet.services import (
    import_retention,
    newsletters,
    reader_export,
    reader_imports,
    segments,
)
from broadsheet.settings import Settings
from web import enqueue
from web.admin.confirm import confirmed
from web.admin.subscribers import bp
from web.db import session

UPLOAD = "admin.subscribers.import_upload"
STATUS_CHOICES = [
    ("active", "Active: they agreed to get mail in the old sender"),
    ("pending", "Pending: each is mailed a confirmation, and becomes active once they confirm"),
]


@bp.before_app_request
def _upload_limit() -> ResponseReturnValue | None:
    """An upload may be IMPORT_MAX_BYTES (the app's limit for other requests is 2 MB); a larger
    one is refused before its body is read, with the form and the reason at its field."""
    if request.endpoint != UPLOAD:
        return None
    limit = _settings().import_max_bytes
    request.max_content_length = limit
    if (request.content_length or 0) > limit and current_user.is_authenticated:
        too_big = (
            f"is {_megabytes(request.content_length or 0)}; an import takes at most "
            f"{_megabytes(limit)} (IMPORT_MAX_BYTES): split the file, or use the "
            "command line (broadsheet import-subscribers)"
        )
        return _form(_empty_form(), {"file": too_big}), 413
    return None


@bp.get("/imports/new")
def import_form() -> ResponseReturnValue:
    return _form(_empty_form(), {})


@bp.post("/imports")
def import_upload() -> ResponseReturnValue:
    upload = request.files.get("file")
    chosen = request.form.getlist("newsletters")
    form: dict[str, object] = {
        "status": request.form.get("status", "active"),
        "newsletters": chosen,
        "tags": request.form.get("tags", ""),
        "update": request.form.get("update") == "yes",
    }
    try:
        job = reader_imports.create_import(
            session(), (upload.filename or "readers.csv") if upload else "",
            upload.read() if upload else b"",
            status=str(form["status"]), newsletter_slugs=chosen,
            tags=[t for t in str(form["tags"]).split(",") if t.strip()],
            update=bool(form["update"]), created_by=current_user.email,
        )  # fmt: skip
    except ValidationError as exc:
        return _form(form, exc.fields), 422
    enqueue.reader_import(job.id)
    return redirect(url_for("admin.subscribers.import_show", import_id=job.id), 303)


@bp.get("/imports/<int:import_id>")
def import_show(import_id: int) -> ResponseReturnValue:
    job = reader_imports.get_import(session(), import_id)
    return render_template(
        "admin/reader_import.html", job=job, share=reader_imports.share_done(job),
        live=job.status in (ImportStatus.CHECKING, ImportStatus.RUNNING),
        discarded_on=job.created_at + import_retention.UNCONFIRMED_KEPT,
        rejects_until=import_retention.rejects_until(job), now=utcnow(),
        rejects_kept_days=import_retention.REJECTS_KEPT.days,
    )  # fmt: skip


@bp.get("/imports/<int:import_id>/progress")
def import_progress(import_id: int) -> ResponseReturnValue:
    """What the page polls while the import is checked or run (admin.js, liveImport)."""
    job = reader_imports.get_import(session(), import_id)
    return jsonify(
        status=job.status.value,
        share=reader_imports.share_done(job),
        counts=job.counts or {},
        total=(job.checked or {}).get("rows"),
    )


@bp.post("/imports/<int:import_id>/start")
def import_start(import_id: int) -> ResponseReturnValue:
    """The go-ahead: the page it comes from is the dry run's mapping and counts, and its
    button says what will happen (the confirmation step)."""
    back = url_for("admin.subscribers.import_show", import_id=import_id)
    job = reader_imports.get_import(session(), import_id)
    answer = confirmed(
        f"Import {job.file_name}?",
        "The readers the dry run counted are added (and, with update, brought up to date).",
        "Import",
        back=back,
        danger=False,
    )
    if answer is not None:
        return answer
    if reader_imports.confirm(session(), import_id):
        enqueue.reader_import(import_id)
    return redirect(back, 303)


@bp.post("/imports/<int:import_id>/discard")
def import_discard(import_id: int) -> ResponseReturnValue:
    """Instead of the go-ahead: the upload and its dry run deleted, nothing imported."""
    back = url_for("admin.subscribers.import_show", import_id=import_id)
    job = reader_imports.get_import(session(), import_id)
    name = job.file_name
    answer = confirmed(
        f"Discard {name}?",
        "The uploaded file and its dry run are deleted, and no reader is added. To import "
        "it later, upload it again.",
        "Discard",
        back=back,
    )
    if answer is not None:
        return answer
    if not import_retention.discard(session(), import_id):
        flash("Not discarded: only an upload waiting for the go-ahead can be.", "error")
        return redirect(back, 303)
    flash(f"{name} is discarded: nothing was imported.", "success")
    return redirect(url_for("admin.subscribers.import_form"), 303)


@bp.get("/imports/<int:import_id>/rejects.csv")
def import_rejects(import_id: int) -> ResponseReturnValue:
    """The rejected rows, each with its line and reason: fixed, the file imports again."""
    job = reader_imports.get_import(session(), import_id)
    until = import_retention.rejects_until(job)
    if until is not None and until <= utcnow():
        raise NotFound(
            f"the rejected rows of import {import_id} were deleted {until.day} {until:%B %Y}"
        )
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return _streamed(lambda db: reader_imports.rejects_text(db, import_id), f"{stem}-rejects.csv")


@bp.get("/export")
def export_form() -> ResponseReturnValue:
    return _export_form(request.args.to_dict(), {})


@bp.get("/export.csv")
def export_download() -> ResponseReturnValue:
    chosen = request.args.to_dict()
    try:
        query = reader_export.export_query(
            session(), newsletter_slugs=[chosen["newsletter"]] if chosen.get("newsletter") else [],
            status=chosen.get("status") or None, segment=chosen.get("segment") or None,
        )  # fmt: skip
    except ValidationError as exc:
        fields = {("newsletter" if k == "newsletters" else k): v for k, v in exc.fields.items()}
        return _export_form(chosen, fields), 422

    def lines(db: Session) -> Iterator[str]:
        yield _csv_lines([reader_export.COLUMNS])
        for rows in reader_export.export_pages(db, query):
            yield _csv_lines(rows)

    return _streamed(lines, "readers.csv")


def _streamed(make: Callable[[Session], Iterator[str]], filename: str) -> Response:
    """A CSV download written as it is read, from a session of its own (the request's has
    committed by the time the body is sent)."""
    sessions: sessionmaker[Session] = current_app.extensions["broadsheet.sessions"]

    def body() -> Iterator[str]:
        with sessions() as db:
            yield from make(db)

    answer = Response(stream_with_context(body()), mimetype="text/csv")
    answer.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return answer


def _csv_lines(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _form(form: dict[str, object], errors: dict[str, str]) -> str:
    return render_template(
        "admin/reader_import_new.html", form=form, errors=errors, status_choices=STATUS_CHOICES,
        all_newsletters=newsletters.list_newsletters(session()),
        recent=reader_imports.latest_imports(session(), 5),
        max_size=_megabytes(_settings().import_max_bytes),
    )  # fmt: skip


def _empty_form() -> dict[str, object]:
    return {"status": "active", "newsletters": [], "tags": "", "update": False}


def _export_form(chosen: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "admin/reader_export.html", chosen=chosen, errors=errors,
        newsletter_options=[(n.slug, n.name) for n in newsletters.list_newsletters(session())],
        status_options=[(s.value, s.value.capitalize()) for s in SubscriberStatus],
        segment_options=[(s.name, s.name) for s in segments.list_segments(session())],
    )  # fmt: skip


def _megabytes(size: int) -> str:
    """A size as people read it: 50 MB, 2.5 MB, 700 KB."""
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / (1024 * 1024):,.1f} MB".replace(".0 MB", " MB")


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings
