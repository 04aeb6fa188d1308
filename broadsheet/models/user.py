"""People who run the publication from the admin: editors, operators and admins."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class Role(enum.StrEnum):
    """What someone may do; see broadsheet.access for each role's rights."""

    ADMIN = "admin"  # everything, including people and API tokens
    EDITOR = "editor"  # articles, campaigns, subscribers
    OPERATOR = "operator"  # reads everything about delivery, may pause a send


def new_session_key() -> str:
    return secrets.token_urlsafe(16)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased address: the unique key, so one person cannot have two accounts by case.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), default=Role.EDITOR)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Part of every signed-in session's id: changing it (a new password, deactivation) ends
    # every session of this account at its next request.
    session_key: Mapped[str] = mapped_column(String(32), default=new_session_key)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
