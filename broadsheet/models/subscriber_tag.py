"""Readers' free-form tags ("donor", "city:lyon"), one row each: a campaign's audience and a
segment filter on them in SQL (any, all, none of a list)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base


class SubscriberTag(Base):
    __tablename__ = "subscriber_tags"
    __table_args__ = (
        # The readers with a tag, in id order (audiences: EXISTS by tag).
        Index("ix_subscriber_tags_tag_reader", "tag", "subscriber_id"),
    )

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    # Lower-case, 1 to 64 characters (broadsheet.services.tags.check_tags).
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
