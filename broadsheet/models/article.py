"""Articles: what an editor publishes; each campaign sends one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow


class Article(Base):
    __tablename__ = "articles"
    # The admin's list: newest published first, a page from an article's (time, id) down.
    __table_args__ = (Index("ix_articles_published_at_id", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    dek: Mapped[str] = mapped_column(String(600), default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    body_markdown: Mapped[str] = mapped_column(Text)
    # Rendered from body_markdown and sanitized; what every page and email shows.
    body_html: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    word_count: Mapped[int] = mapped_column(default=0)
    reading_minutes: Mapped[int] = mapped_column(default=1)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
