"""Test fixtures over real components: a database, Redis, an SMTP server and Celery workers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from broadsheet.db import make_engine, make_session_factory
from broadsheet.migrate import upgrade
from broadsheet.models import Base
from broadsheet.settings import Settings, load_settings
from tests.support.services import CeleryWorker, TestDatabase, TestRedis, make_tempdir
from tests.support.smtp import SmtpServer


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, object]]:
    """Start the services once per run and point the environment at them."""
    workdir = make_tempdir()
    database, redis_server, smtp = TestDatabase(workdir), TestRedis(workdir), SmtpServer()
    database.create()
    redis_server.start()
    try:
        smtp.start()
    except BaseException:
        redis_server.stop()
        database.drop()
        raise
    env = {
        "BROADSHEET_INSTANCE": str(workdir / "instance"),
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_server.url,
        "SMTP_URL": smtp.url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PUBLIC_URL": "http://news.example.test",
        "MAIL_FROM": "The Test Gazette <news@example.test>",
        "SEND_RATE": "2000",
        "BATCH_SIZE": "25",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    upgrade(database.url)
    try:
        yield {"workdir": workdir, "db": database, "redis": redis_server, "smtp": smtp, "env": env}
    finally:
        smtp.stop()
        redis_server.stop()
        database.drop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(stack: dict[str, object]) -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session inside a transaction that is rolled back after the test (savepoints inside)."""
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def committed(engine, stack) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session whose commits are real (workers in other processes must see the rows);
    every table is emptied, the SMTP recorder and Redis throttle reset, after the test."""
    sessions = make_session_factory(engine)
    session = sessions()
    try:
        yield session
    finally:
        session.close()
        with sessions.begin() as cleanup:
            for table in reversed(Base.metadata.sorted_tables):
                cleanup.execute(delete(table))
        stack["smtp"].handler.reset()


@pytest.fixture
def smtp(stack) -> object:  # type: ignore[no-untyped-def]
    return stack["smtp"].handler


@pytest.fixture(scope="session")
def celery_worker(stack) -> Iterator[CeleryWorker]:  # type: ignore[no-untyped-def]
    """A real Celery worker process (prefork, 2 children) sharing the test services."""
    worker = CeleryWorker(dict(os.environ), stack["workdir"] / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def app(settings: Settings, stack):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
