"""Feeds (RSS or Atom) whose new entries become articles and campaigns, and the entries seen
in each, so that an entry becomes an article once: across restarts, and when two pollers run
at once (the unique key decides which of them makes it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, utcnow


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    # Where its campaigns go; None: every active reader (no newsletter existed when it came).
    newsletter_id: Mapped[int | None] = mapped_column(ForeignKey("newsletters.id"))
    # True: a new entry's campaign starts sending at once; False: it waits as a draft.
    send_now: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The validators of the last answer, sent back so an unchanged feed costs one 304.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_polled_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    # Why the last failing poll failed, and when; kept after a success for the admin.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set after too many failures in a row (or by an editor); a paused feed is not polled.
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Feed {self.id} {self.url}>"


class FeedEntry(Base):
    """An entry seen in a feed, by its key: its id (GUID), or its link when it has none. An
    entry seen on a feed's first poll that was too old has no article."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str | None] = mapped_column(String(2000), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
