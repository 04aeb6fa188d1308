"""Addresses erased at their reader's request, kept only as a keyed hash: an import or the
API cannot silently bring them back (broadsheet.services.erasure)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow


class Erasure(Base):
    __tablename__ = "erasures"

    # HMAC-SHA256 of the lower-cased address under SECRET_KEY, hex: the address itself is gone.
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
