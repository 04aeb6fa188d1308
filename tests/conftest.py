"""Test fixtures over real components: a database, Redis, an SMTP server and Celery workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from broadsheet.db import make_engine, make_session_factory
from broadsheet.models import Base, OutboxMessage
from broadsheet.settings import PROJECT_ROOT, Settings, load_settings
from tests.support.admin import sign_in
from tests.support.apps import CHEAP_HASHER, make_app
from tests.support.browser import CHROMIUM, launch
from tests.support.factories import make_user
from tests.support.live_server import LiveServer
from tests.support.services import CeleryWorker
from tests.support.stack import Stack
from worker import tasks as worker_tasks
from worker.app import QUEUES
from worker.resources import close_resources

_STACK = Stack()
# A test whose fixtures reach these touches the database (the stack holds it).
DATABASE_FIXTURES = frozenset(("engine", "stack"))


def pytest_configure(config: pytest.Config) -> None:
    _STACK.export()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `database` each test that touches the database: .ci/run's PostgreSQL run runs only
    those, as the others (parsing, signing, rendering, `make run`'s own SQLite) would do the
    same thing again."""
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A test that uses the Celery worker gets the original one unless a fixture of its own
    changed it (see CeleryWorker.restart): checked here, once every fixture is set up."""
    worker = getattr(item, "funcargs", {}).get("celery_worker")
    if isinstance(worker, CeleryWorker):
        worker.settle()


def pytest_unconfigure(config: pytest.Config) -> None:
    close_resources()  # tests that call worker code in this process opened its connections
    if _STACK.started:
        _STACK.stop()
    _STACK.restore_environment()


@pytest.fixture(scope="session")
def stack() -> dict[str, object]:
    """Start the services once per run (on first use); stopped when pytest ends."""
    if not _STACK.started:
        _STACK.start()
    return {
        "workdir": _STACK.workdir,
        "db": _STACK.db,
        "redis": _STACK.redis,
        "smtp": _STACK.smtp,
        "env": _STACK.env,
    }


@pytest.fixture(scope="session")
def settings(stack: dict[str, object]) -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def engine(settings: Settings):
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (savepoints inside)."""
    yield from rolled_back_session(engine)


def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session on a connection of its own, inside a transaction rolled back at the end; its
    commits are savepoints."""
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
def committed(engine, stack) -> Iterator[Session]:
    """A session whose commits are real (workers in other processes must see the rows);
    every table is emptied, the SMTP recorder and Redis throttle reset, after the test."""
    yield from committing_session(engine, stack)


def committing_session(engine, stack) -> Iterator[Session]:
    sessions = make_session_factory(engine)
    session = sessions()
    try:
        yield session
    finally:
        session.close()
        with sessions.begin() as cleanup:
            for table in reversed(Base.metadata.sorted_tables):
                cleanup.execute(delete(table))
        reset_services(stack)


def reset_services(stack) -> None:
    """What a test leaves in Redis and the SMTP recorder, gone before the next test."""
    # Tasks a test queued without a worker must not run in a later test (ids get reused).
    client = stack["redis"].client()
    client.delete(*QUEUES.split(","))
    # Rates a test slowed down, and connection places, must not carry into the next test.
    # So must the rate limiter's counts (signups, sign-ins and test sends counted against
    # the test client's address), and a sweep asked for (a later test's signup would wait
    # for its key to expire).
    # Health facts too (workers' heartbeats stay: they are renewed by the workers themselves).
    patterns = (
        "broadsheet:throttle:*",
        "broadsheet:limit:*",
        "broadsheet:outbox-*",
        "broadsheet:sends:*",
        "broadsheet:tracking:*",  # hits a test left unwritten
        "broadsheet:health:relay:*",
        "broadsheet:health:bounce-poll",
    )
    for pattern in patterns:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    worker_tasks.forget_asking()  # this process's last ask went with the key
    stack["smtp"].handler.reset()


@pytest.fixture
def smtp(stack) -> object:
    return stack["smtp"].handler


@pytest.fixture(scope="session")
def celery_worker(stack) -> Iterator[CeleryWorker]:
    """A real Celery worker process (prefork, 2 children) sharing the test services."""
    worker = CeleryWorker(dict(os.environ), stack["workdir"] / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Passwords hashed in this process with Argon2id's cheapest parameters (hashes made
    elsewhere still verify: their parameters travel with them). The strength of the hash is
    not what these tests test, and the full cost is most of a sign-in's time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("broadsheet.passwords._hasher", lambda: CHEAP_HASHER)
        yield


@pytest.fixture
def app(settings: Settings, stack):
    from web.app import dispose

    app = make_app(settings)
    yield app
    dispose(app)


@pytest.fixture
def editor(app, committed):
    """A test client signed in to the admin as an editor (editor@example.org)."""
    make_user(committed, "editor")
    client = app.test_client()
    sign_in(client, "editor@example.org")
    return client


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, one per test module. `make test` installs it."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: run sh scripts/install-browser.sh"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live(app) -> Iterator[LiveServer]:
    """The test app served over HTTP on a loopback port, for the browser."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where a test's screenshots go: tests/artifacts/screenshots/<module>/ (git-ignored, kept
    after the run to look at), or BROADSHEET_SCREENSHOTS when set."""
    base = os.environ.get("BROADSHEET_SCREENSHOTS") or PROJECT_ROOT / "tests/artifacts/screenshots"
    folder: Path = Path(base) / request.module.__name__.rpartition(".")[2]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def owed(monkeypatch, committed):
    """`owed()`: the readers whose confirmation the outbox holds, as committed, in order. No
    sweep is asked for, so no task outlives this test's rows to mail a later test's reader."""
    monkeypatch.setattr("web.enqueue.wake_sweep", lambda client: False)

    def read() -> list[int]:
        try:
            query = select(OutboxMessage.subscriber_id).order_by(OutboxMessage.id)
            return list(committed.scalars(query))
        finally:
            committed.rollback()

    return read
