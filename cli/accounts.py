"""Accounts made from the command line: API tokens and people who use the admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from broadsheet.db import make_engine, make_session_factory
from broadsheet.models import Role
from broadsheet.services.api_tokens import create_token, replace_run_token
from broadsheet.services.users import count_users, create_user
from broadsheet.settings import Settings

T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run `work` in one committed transaction on a short-lived engine."""
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            return work(session)
    finally:
        engine.dispose()


def issue_token(settings: Settings, name: str, role: str = Role.ADMIN.value) -> str:
    """Create an API token called `name` with `role`'s rights; returns the secret."""
    return _in_transaction(settings, lambda session: create_token(session, name, role)[1])


def run_token(settings: Settings) -> str:
    """The token `broadsheet run` prints, made anew at each start in place of its last one."""
    return _in_transaction(settings, replace_run_token)


def add_user(settings: Settings, email: str, password: str, role: str) -> str:
    """Create an account; returns its normalised address."""
    return _in_transaction(settings, lambda s: create_user(s, email, password, role).email)


def has_users(settings: Settings) -> bool:
    return _in_transaction(settings, count_users) > 0
