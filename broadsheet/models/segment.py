"""Saved, named segments: a set of audience rules (broadsheet.services.audiences) an editor
reuses, counts before a send, and asks "why is this reader in it?" of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Checked rules, as a campaign keeps them (newsletters by id, tags lower-cased, ...).
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
