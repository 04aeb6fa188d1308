"""Accounts made from the command line: API tokens and people who use the admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from broadsheet.db import make_engine, make_session_factory
from broadsheet.errors import NotFound
from broadsheet.models import Role
from broadsheet.services import erasure
from broadsheet.services.api_tokens import create_token, replace_run_token
from broadsheet.services.subscriptions import find_subscriber
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


def erase_reader(settings: Settings, email: str) -> str:
    """Erase the reader with this address at their request; returns the address. NotFound
    when there is none (erased already, or never here)."""

    def erase_one(session: Session) -> str:
        reader = find_subscriber(session, email)
        if reader is None:
            raise NotFound(f"no reader has the address {email!r}")
        erasure.erase(session, reader.id, settings.secret_key, actor="the command line")
        return email

    return _in_transaction(settings, erase_one)
