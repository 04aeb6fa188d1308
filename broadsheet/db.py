"""Engine and session construction; SQLite is tuned so several processes can share it safely."""

from __future__ import annotations

import random
import sqlite3
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine; on SQLite use WAL, a busy timeout and `BEGIN IMMEDIATE` transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so no query runs outside a transaction."""
    return sessionmaker(engine, expire_on_commit=False)


# Waiting for SQLite's write lock: SQLite's own busy handler sleeps in steps of up to 100 ms,
# so the lock often sits free while waiters sleep. Retry with short, jittered pauses instead.
LOCK_WAIT_SECONDS = 30.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0002, 0.004


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and as DEFERRED, so two processes that read and then
    # write fail with "database is locked" instead of waiting. Taking the write lock up front
    # (BEGIN IMMEDIATE) makes writers queue for it instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=0")  # waiting is done by _begin_immediate
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        _begin_immediate(conn.connection.dbapi_connection)


def _begin_immediate(dbapi_conn: sqlite3.Connection) -> None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = _FIRST_PAUSE
    while True:
        try:
            dbapi_conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, _LONGEST_PAUSE)
