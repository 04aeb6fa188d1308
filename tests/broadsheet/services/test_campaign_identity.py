"""A campaign to one newsletter comes from that newsletter: its name in the footer, its sender
and reply-to, its own List-Id; any other campaign from the publication (MAIL_FROM)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from broadsheet.mail.preview import preview_message
from broadsheet.models import Campaign, EventSource
from broadsheet.services import campaigns, newsletters, preferences, subscriptions
from broadsheet.signing import read_unsubscribe_token
from tests.support.api import html_part, text_part
from tests.support.factories import make_article


def previewed(db, settings, audience: object) -> EmailMessage:
    campaign = campaigns.create_campaign(db, make_article(db).id, audience=audience)
    campaigns.prepare(db, campaign, settings)
    raw = preview_message(campaign, settings)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_campaign_to_one_newsletter_comes_from_it(db, settings):
    newsletters.create_newsletter(
        db, "The Weekly Dispatch", "weekly", sender_name="Ed Itor",
        sender_address="weekly@example.org", reply_to="letters@example.org",
    )  # fmt: skip
    message = previewed(db, settings, {"newsletters": ["weekly"]})
    assert message["From"] == "Ed Itor <weekly@example.org>"
    assert message["Reply-To"] == "letters@example.org"
    assert message["List-Id"] == "The Weekly Dispatch <weekly.example.org>"
    assert "The Weekly Dispatch" in text_part(message)
    assert "The Weekly Dispatch" in html_part(message)


def test_a_newsletter_without_a_sender_keeps_the_publications_address(db, settings):
    newsletters.create_newsletter(db, "Daily", "daily")
    message = previewed(db, settings, {"newsletters": ["daily"]})
    publication = previewed(db, settings, "everyone")
    assert message["From"].addresses[0].addr_spec == publication["From"].addresses[0].addr_spec
    assert message["Reply-To"] is None
    assert message["List-Id"].endswith("<daily." + message["From"].addresses[0].domain + ">")
    assert publication["List-Id"] != message["List-Id"]


def test_a_campaign_to_two_newsletters_comes_from_the_publication(db, settings):
    """Its sender and List-Id are the publication's, but its unsubscribe link leaves the two
    newsletters it went to, not everything."""
    newsletters.create_newsletter(db, "Daily", "daily", sender_address="daily@example.org")
    newsletters.create_newsletter(db, "Weekly", "weekly", sender_address="weekly@example.org")
    newsletters.create_newsletter(db, "Staff", "staff")
    both = previewed(db, settings, {"newsletters": ["daily", "weekly"]})
    everyone = previewed(db, settings, "everyone")
    assert both["From"] == everyone["From"] and both["List-Id"] == everyone["List-Id"]
    ann = subscriptions.create_subscriber(
        db, "ann@example.org", status="active", newsletters_chosen=["daily", "weekly", "staff"]
    )
    token = both["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
    campaign_id = read_unsubscribe_token(settings.secret_key, token).campaign_id
    assert campaign_id is not None  # the campaign, and so its newsletters, is signed
    assert db.get(Campaign, campaign_id).audience_rules["newsletters"]
    left = preferences.leave_through(db, ann.id, campaign_id, EventSource.ONE_CLICK)
    assert left == preferences.Left(("Daily", "Weekly"), everything=False)
    kept = {
        n.slug for n, m in newsletters.memberships(db, ann.id) if m.status.value == "subscribed"
    }
    assert kept == {"staff"}
