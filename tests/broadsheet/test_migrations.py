"""The schema is built by Alembic alone, and the models agree with it."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from broadsheet.migrate import alembic_config
from broadsheet.models import Base


def test_single_head(settings):
    heads = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}"


def test_models_match_migrations(engine):
    # The test database was built by `alembic upgrade head` in the stack fixture.
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection skips expression indexes (lower(name)); PostgreSQL compares them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_readers_already_there_join_a_default_newsletter_named_after_the_publication(
    tmp_path, monkeypatch
):
    """Upgrading an install with readers (a database file of its own, from 0019 to head)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0019")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for n, status in enumerate(("active", "unsubscribed")):
                conn.execute(
                    sa.text(
                        "INSERT INTO subscribers (email, email_key, name, status, source,"
                        " created_at, status_changed_at) VALUES (:e, :e, '', :s, 'api',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"e": f"r{n}@example.org", "s": status},
                )
        monkeypatch.setenv("MAIL_FROM", "The Ledger <editor@example.org>")
        command.upgrade(config, "head")
        with engine.connect() as conn:
            newsletters = conn.execute(sa.text("SELECT slug, name, is_default FROM newsletters"))
            assert [tuple(row) for row in newsletters] == [("the-ledger", "The Ledger", 1)]
            members = conn.execute(sa.text("SELECT status FROM memberships")).scalars()
            assert list(members) == ["subscribed", "subscribed"]  # their own status still rules
    finally:
        engine.dispose()
