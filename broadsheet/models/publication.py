"""The publication's own settings, edited by an admin (one row): its name and look, and what
every campaign's footer carries besides the unsubscribe link, the postal address above all
(the law in many places asks bulk mail for one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow

PUBLICATION_ROW = 1


class Publication(Base):
    __tablename__ = "publication"

    id: Mapped[int] = mapped_column(primary_key=True)  # always PUBLICATION_ROW
    # The name readers know it by; empty: MAIL_FROM's display name (compose.publication_name).
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Its look (broadsheet/mail/look.py): a logo (an https image and its alt text) and an
    # accent colour ("#rrggbb") for links and buttons; empty: none, the stock colours.
    logo_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    logo_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    accent: Mapped[str] = mapped_column(String(7), default="", server_default="")
    postal_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    footer_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
