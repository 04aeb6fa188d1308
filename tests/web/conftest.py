"""The web tests run the app on the test's own database connection, inside a transaction
rolled back after the test: each request's commit is a savepoint's, so the test's session
sees what a request wrote, nothing is left to delete afterwards, and no test sees another's
rows.

A test whose rows another process or thread must see (a Celery worker, a live server, the
command line, requests racing from threads) gets the real, committing app instead: it uses
the `live` or `celery_worker` fixture, or is marked `commits`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import committing_session, reset_services, rolled_back_session
from tests.support.apps import make_app
from web.app import dispose

REAL_COMMITS = ("live", "celery_worker")


def commits(request: pytest.FixtureRequest) -> bool:
    marked = request.node.get_closest_marker("commits") is not None
    return marked or any(name in request.fixturenames for name in REAL_COMMITS)


@pytest.fixture
def committed(request, engine, stack) -> Iterator[Session]:
    """The test's session: its commits are savepoints in the test's transaction (real ones
    for a test that `commits`)."""
    if commits(request):
        yield from committing_session(engine, stack)
        return
    try:
        yield from rolled_back_session(engine)
    finally:
        reset_services(stack)


@pytest.fixture
def app(request, settings, stack, committed) -> Iterator[Flask]:
    """The app, its requests' sessions on the test's connection (see the module)."""
    app = make_app(settings)
    if not commits(request):
        app.extensions["broadsheet.sessions"] = sessionmaker(
            bind=committed.bind,  # the connection itself: asking the session would begin it
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
    yield app
    dispose(app)
