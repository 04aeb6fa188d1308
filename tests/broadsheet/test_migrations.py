"""The schema is built by Alembic alone, and the models agree with it."""

from __future__ import annotations

import warnings

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
