"""The schema. Importing this package registers every table on `Base.metadata`."""

from broadsheet.models.api_token import ApiToken
from broadsheet.models.article import Article
from broadsheet.models.base import Base, utcnow
from broadsheet.models.bounce_report import BounceReport, ReportKind
from broadsheet.models.campaign import Campaign, CampaignStatus
from broadsheet.models.campaign_sample import CampaignSample
from broadsheet.models.delivery import FINAL_STATUSES, Delivery, DeliveryStatus
from broadsheet.models.engagement import (
    NO_LINK,
    Engagement,
    EngagementCount,
    EngagementKind,
    EngagementReport,
    TrackingBatch,
)
from broadsheet.models.erasure import Erasure
from broadsheet.models.feed import Feed, FeedEntry
from broadsheet.models.newsletter import Membership, MembershipStatus, Newsletter
from broadsheet.models.outbox_message import ADMIN_KINDS, OutboxKind, OutboxMessage, OutboxStatus
from broadsheet.models.publication import PUBLICATION_ROW, Publication
from broadsheet.models.reader_import import ImportRejects, ImportStatus, ReaderImport
from broadsheet.models.segment import Segment
from broadsheet.models.subscriber import Subscriber, SubscriberStatus
from broadsheet.models.subscriber_event import EventSource, SubscriberEvent
from broadsheet.models.subscriber_tag import SubscriberTag
from broadsheet.models.user import Role, User

__all__ = [
    "ADMIN_KINDS",
    "FINAL_STATUSES",
    "NO_LINK",
    "PUBLICATION_ROW",
    "ApiToken",
    "Article",
    "Base",
    "BounceReport",
    "Campaign",
    "CampaignSample",
    "CampaignStatus",
    "Delivery",
    "DeliveryStatus",
    "Engagement",
    "EngagementCount",
    "EngagementKind",
    "EngagementReport",
    "Erasure",
    "EventSource",
    "Feed",
    "FeedEntry",
    "ImportRejects",
    "ImportStatus",
    "Membership",
    "MembershipStatus",
    "Newsletter",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Publication",
    "ReaderImport",
    "ReportKind",
    "Role",
    "Segment",
    "Subscriber",
    "SubscriberEvent",
    "SubscriberStatus",
    "SubscriberTag",
    "TrackingBatch",
    "User",
    "utcnow",
]
