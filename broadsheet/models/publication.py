"""The publication's own settings, edited by an admin (one row): what every campaign's footer
carries besides the unsubscribe link, the postal address above all (the law in many places
asks bulk mail for one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow

PUBLICATION_ROW = 1


class Publication(Base):
    __tablename__ = "publication"

    id: Mapped[int] = mapped_column(primary_key=True)  # always PUBLICATION_ROW
    postal_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    footer_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
