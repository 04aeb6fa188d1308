"""The schema is built by Alembic alone, and the models agree with it."""

from __future__ import annotations

import json
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


def test_campaigns_made_for_a_segment_keep_their_copy_and_a_downgrade_freezes_references(
    tmp_path,
):
    """0033 (campaigns.segment_id): a campaign made before it keeps the copy of a segment's
    rules it was made with (no reference, so nothing changes its audience); going back, a
    campaign that refers to a segment takes a copy of its rules first."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0032")
    engine = sa.create_engine(url)
    copied = '{"tags_any": ["donor"], "segment": "Donors"}'
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO segments (id, name, rules, created_at) VALUES"
                    " (1, 'Donors', '{\"tags_any\": [\"donor\"]}', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO articles (id, slug, title, dek, author, body_markdown,"
                    " body_html, word_count, reading_minutes, published_at, created_at,"
                    " updated_at) VALUES (1, 'a', 'A', '', '', 'x', '<p>x</p>', 1, 1,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
            for campaign_id, rules in ((1, copied), (2, '{"newsletters": [1]}')):
                conn.execute(
                    sa.text(
                        "INSERT INTO campaigns (id, article_id, subject, audience,"
                        " audience_rules, status, created_at) VALUES (:id, 1, 'A', 'chosen',"
                        " :rules, 'draft', '2026-01-01 00:00:00')"
                    ),
                    {"id": campaign_id, "rules": rules},
                )
        command.upgrade(config, "head")
        with engine.begin() as conn:
            kept = conn.execute(sa.text("SELECT segment_id, audience_rules FROM campaigns"))
            assert [tuple(row) for row in kept] == [
                (None, copied),
                (None, '{"newsletters": [1]}'),
            ]
            conn.execute(sa.text("UPDATE campaigns SET segment_id = 1 WHERE id = 2"))
        command.downgrade(config, "0032")
        with engine.connect() as conn:
            query = sa.text("SELECT audience_rules FROM campaigns WHERE id = 2")
            assert json.loads(conn.execute(query).scalar_one()) == {
                "tags_any": ["donor"],
                "newsletters": [1],
                "segment": "Donors",
            }
    finally:
        engine.dispose()
