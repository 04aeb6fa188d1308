"""The request owns the transaction: one session per request, committed once at the end,
then the work queued during the request is enqueued (never before the commit succeeds)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from broadsheet.db import make_engine, make_session_factory
from broadsheet.settings import Settings
from web.extensions import REDIS
from worker.metrics import count_commits

log = logging.getLogger(__name__)


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    app.extensions["broadsheet.engine"] = engine
    sessions = app.extensions["broadsheet.sessions"] = make_session_factory(engine)
    # What the request's services counted reaches /metrics once the request commits.
    count_commits(sessions, lambda: app.extensions[REDIS])
    app.after_request(_commit)
    app.teardown_request(_close)


def session() -> Session:
    """This request's session (opened on first use)."""
    if "db" not in g:
        sessions: sessionmaker[Session] = current_app.extensions["broadsheet.sessions"]
        g.db = sessions()
        g.after_commit = []
    db: Session = g.db
    return db


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once this request's transaction has committed (e.g. to enqueue a task);
    what it returns is not used."""
    session()
    g.after_commit.append(callback)


def commit() -> None:
    """Commit this request's work now (e.g. before rendering), then enqueue what it queued."""
    db = g.get("db")
    if db is None:
        return
    db.commit()
    _run_after_commit()


def _run_after_commit() -> None:
    callbacks, g.after_commit = g.get("after_commit", []), []
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the commit stands; the scheduler repairs lost work
            log.exception("work queued after commit could not be enqueued")


def _commit(response: Response) -> Response:
    db = g.pop("db", None)
    if db is None:
        return response
    try:
        if response.status_code < 400:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()
    if response.status_code < 400:
        _run_after_commit()
    return response


def _close(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()
