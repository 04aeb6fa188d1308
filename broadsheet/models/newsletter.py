"""Newsletters a publication sends (a daily, a weekly, a section), each with its own sender
and description, and each reader's membership of them with its own status and times."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from broadsheet.models.base import Base, str_enum, utcnow


class Newsletter(Base):
    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # In addresses (the archive, the API) and List-Id: lower-case letters, digits, hyphens.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Public ones are offered on the signup form and listed in the archive.
    public: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The sender of its mail; empty: MAIL_FROM's.
    sender_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sender_address: Mapped[str] = mapped_column(String(320), default="", server_default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="", server_default="")
    # Its own look, where it differs from the publication's; empty: the publication's.
    logo_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    logo_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    accent: Mapped[str] = mapped_column(String(7), default="", server_default="")
    footer_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    welcome: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The one a reader joins when nothing is chosen for them (an API call, an old client).
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Newsletter {self.slug}>"


class MembershipStatus(enum.StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class Membership(Base):
    """A reader in a newsletter. The reader's own status still rules: an unsubscribed,
    bounced or complaining reader gets nothing, whatever their memberships say."""

    __tablename__ = "memberships"
    __table_args__ = (
        # Planning a campaign to newsletters: the subscribed readers of each, in id order.
        Index(
            "ix_memberships_newsletter_status_reader", "newsletter_id", "status", "subscriber_id"
        ),
        # A campaign's unsubscribes count the readers who left its newsletter through it.
        Index(
            "ix_memberships_left_through",
            "left_through",
            sqlite_where=text("left_through IS NOT NULL"),
            postgresql_where=text("left_through IS NOT NULL"),
        ),
    )

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus, "membership_status"), default=MembershipStatus.SUBSCRIBED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The campaign whose unsubscribe link the reader left this newsletter through, if one did.
    left_through: Mapped[int | None] = mapped_column()
