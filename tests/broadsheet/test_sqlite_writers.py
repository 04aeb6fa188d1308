"""SQLite writers queue on a flock beside the database (broadsheet/db.py): held from BEGIN
to COMMIT or ROLLBACK, by whichever thread ends the transaction, and free otherwise."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import text

from broadsheet.db import make_engine


@pytest.fixture
def sqlite_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/q.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, f"{tmp_path}/q.db-writers"
    engine.dispose()


def held(path: str) -> bool:
    """Whether some transaction holds the writers' lock (asked on a descriptor of our own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_lock_is_held_for_the_transaction_and_released_by_commit_or_rollback(sqlite_file):
    engine, path = sqlite_file
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert held(path)
        conn.commit()
        assert not held(path)
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        conn.rollback()
        assert not held(path)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 1


def test_a_second_writer_waits_for_the_first_then_goes(sqlite_file):
    engine, path = sqlite_file
    order: list[str] = []
    first = engine.connect()
    first.begin()
    first.execute(text("INSERT INTO t VALUES (1)"))

    def second() -> None:
        with engine.begin() as conn:
            order.append("second began")
            conn.execute(text("INSERT INTO t VALUES (2)"))

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and order == [], "the second writer waits in the queue"
    order.append("first committed")
    first.commit()
    thread.join(5)
    first.close()
    assert order == ["first committed", "second began"]
    assert not held(path)
