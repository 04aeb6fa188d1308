"""API tokens: only a hash is stored; the token itself is shown once when it is created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow
from broadsheet.models.user import Role


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the token may do, as for a person with that role (broadsheet.access).
    role: Mapped[Role] = mapped_column(
        str_enum(Role, "api_token_role"), default=Role.ADMIN, server_default=Role.ADMIN.value
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
