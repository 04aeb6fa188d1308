"""PostgreSQL connections: one that sat in the pool is pinged before use, so a connection the
server dropped (a restart) is replaced instead of failing the request that drew it; one in
steady use is handed out without the extra round trip (broadsheet/db.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from broadsheet import db as broadsheet_db
from broadsheet.db import make_engine


@pytest.fixture
def pg_engine(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the ping applies to PostgreSQL; SQLite has no server to drop connections")
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        pid: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _drop(settings, pid: int) -> None:
    killer = make_engine(settings.database_url)
    try:
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        killer.dispose()


def test_an_idle_connection_dropped_by_the_server_is_replaced(pg_engine, settings, monkeypatch):
    first = _backend(pg_engine)
    _drop(settings, first)
    monkeypatch.setattr(broadsheet_db, "PING_IDLE_AFTER", 0.0)  # it has sat long enough
    assert _backend(pg_engine) != first  # no error: the ping found it gone


def test_a_connection_in_steady_use_is_not_pinged(pg_engine, settings):
    first = _backend(pg_engine)
    _drop(settings, first)
    # Checked in a moment ago: handed out as it is, so this one request fails...
    with pytest.raises(Exception, match=r"terminat|closed|server"):
        _backend(pg_engine)
    # ...and the pool replaces it for the next.
    assert _backend(pg_engine) != first
