"""Engine and session construction; SQLite is tuned so several processes can share it safely.
Also how many rows a statement run through a session changed (`rowcount`), and the dialect's
INSERT that can skip duplicates (`dialect_insert`)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Result,
    Table,
    create_engine,
    event,
    exc,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine; on SQLite use WAL, a busy timeout and `BEGIN IMMEDIATE` transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


def make_session_factory(engine: Engine | Connection) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so no query runs outside a transaction."""
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the dialect's own form (`dialect` is the engine's dialect name), which can
    skip rows that would break a unique key (`on_conflict_do_nothing`)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE given to `Session.execute` matched (or an INSERT added).
    For these the session returns the driver's CursorResult, which its signature types as the
    general Result."""
    return cast(CursorResult[Any], result).rowcount


# A pooled connection unused for this long is tested before it is handed out.
PING_IDLE_AFTER = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """A connection that sat in the pool is pinged before use, so one dropped by a database
    restart is replaced instead of failing a request; one checked in less than
    `PING_IDLE_AFTER` ago is not. Under load that spares each request a round trip (of about
    six for a signup on PostgreSQL), which `pool_pre_ping` would spend on every checkout; a
    connection lost in that last second fails its request and is replaced, as SQLAlchemy
    replaces every connection it finds disconnected."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry | None) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is not None and time.monotonic() - checked_in_at < PING_IDLE_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError(str(error)) from error


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and as DEFERRED, so two processes that read and then
    # write fail with "database is locked" instead of waiting. Taking the write lock up front
    # (BEGIN IMMEDIATE) makes writers queue instead: on the writers' lock below, and on the
    # busy timeout where that lock does not apply.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    database = engine.url.database
    queue = _WriterQueue(f"{database}-writers" if database and database != ":memory:" else None)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        queue.enter(conn.connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            queue.leave(conn.connection)
            raise

    commit, rollback = engine.dialect.do_commit, engine.dialect.do_rollback

    def do_commit(dbapi_conn: PoolProxiedConnection) -> None:
        try:
            commit(dbapi_conn)
        finally:
            queue.leave(dbapi_conn)

    def do_rollback(dbapi_conn: PoolProxiedConnection) -> None:
        try:
            rollback(dbapi_conn)
        finally:
            queue.leave(dbapi_conn)

    # Replaced on this engine's dialect instance alone (SQLAlchemy has no event after a DBAPI
    # COMMIT or ROLLBACK); mypy takes the instance attribute for the class's method.
    engine.dialect.do_commit = do_commit  # type: ignore[method-assign, assignment]
    engine.dialect.do_rollback = do_rollback  # type: ignore[method-assign, assignment]

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        fd = record.info.pop("writers_fd", None)
        if fd is not None:
            os.close(fd)


class _WriterQueue:
    """Writers wait for SQLite's write lock in the kernel, first come first served.

    SQLite's own busy handler polls: a writer that finds the lock taken sleeps 1, 2, 5, 10,
    ... up to 100 ms between tries, so under a steady stream of short transactions (signups
    and the outbox sweep) an unlucky one waits hundreds of milliseconds for a lock that was
    free most of that time. Here each transaction first takes an exclusive `flock` on a file
    beside the database, which the kernel hands to the next waiter the moment it is released
    (after COMMIT or ROLLBACK); SQLite's lock is then free whenever BEGIN IMMEDIATE asks.
    Each connection has its own descriptor (a flock belongs to an open file), and a thread
    already inside a transaction on another connection does not queue again: SQLite's busy
    timeout governs that rare case, as before.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._holders: set[int] = set()  # threads inside a queued transaction

    def enter(self, fairy: PoolProxiedConnection) -> None:
        thread = threading.get_ident()
        if self.path is None or thread in self._holders:
            return
        fd = fairy.info.get("writers_fd")
        if fd is None:
            fd = fairy.info["writers_fd"] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        fairy.info["writers_thread"] = thread
        self._holders.add(thread)

    def leave(self, fairy: PoolProxiedConnection) -> None:
        """After COMMIT or ROLLBACK, from whichever thread ends the transaction."""
        try:
            info = fairy.info
        except (AttributeError, NotImplementedError):  # a bare or first-connect connection
            return
        thread = info.pop("writers_thread", None)
        if thread is None:
            return
        fcntl.flock(info["writers_fd"], fcntl.LOCK_UN)
        self._holders.discard(thread)
