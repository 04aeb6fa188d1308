"""Accounts made from the command line: API tokens (and, with the admin, people)."""

from __future__ import annotations

from broadsheet.db import make_engine, make_session_factory
from broadsheet.services.api_tokens import create_token
from broadsheet.settings import Settings


def issue_token(settings: Settings, name: str) -> str:
    """Create an API token called `name` in its own transaction; returns the secret."""
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            _, secret = create_token(session, name)
    finally:
        engine.dispose()
    return secret
