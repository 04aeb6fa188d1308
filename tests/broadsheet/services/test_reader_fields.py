"""Reader fields through a campaign, on the real database: the batch a worker claims carries
each reader's attributes (no query per message), the preview fills the sample reader's
fallbacks, a subject's unknown field is refused, and an article saved before fields were
checked fails the pre-send check instead of reaching readers."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, update

from broadsheet.errors import ValidationError
from broadsheet.mail.compose import campaign_recipient, campaign_skeleton
from broadsheet.mail.preview import campaign_checks, preview_message
from broadsheet.models import Article, Delivery
from broadsheet.services import articles, campaigns, claims
from broadsheet.services.ledger import plan_deliveries
from broadsheet.services.subscriptions import create_subscriber
from tests.support.api import html_part, text_part

BODY = 'Hello {{ reader.attributes.city | default("friend") }}.'


def campaign_for(db, settings, body: str = BODY, subject: str = "For {{ reader.name }}"):
    article = articles.create_article(db, title="Fields", body_markdown=body)
    campaign = campaigns.create_campaign(db, article.id, subject=subject)
    return campaigns.prepare(db, campaign, settings)


def test_a_claimed_batch_carries_each_readers_attributes(db, settings):
    create_subscriber(db, "ann@example.org", "Ann", status="active", attributes={"city": "Lyon"})
    create_subscriber(db, "bob@example.org", "", status="active")
    campaign = campaign_for(db, settings)
    campaigns.start_send(db, campaign.id)
    plan_deliveries(db, campaign)
    ids = list(db.scalars(select(Delivery.id).order_by(Delivery.id)))
    held = claims.claim(db, campaign.id, ids[0], ids[-1], "task-a", timedelta(minutes=5))
    assert [(h.email, h.attributes) for h in held] == [
        ("ann@example.org", {"city": "Lyon"}),
        ("bob@example.org", None),
    ]
    skeleton = campaign_skeleton(campaign, settings)
    for row, city, subject in zip(held, ("Lyon", "friend"), ("For Ann", "For"), strict=True):
        recipient = campaign_recipient(
            settings, campaign.id, row.subscriber_id, row.email, row.name, None, None,
            row.attributes,
        )  # fmt: skip
        message = message_from_bytes(skeleton.render(recipient), policy=policy.default)
        assert str(message["Subject"]) == subject
        assert f"Hello {city}." in text_part(message)


def test_the_preview_fills_the_fallback_and_the_check_names_the_fields(db, settings):
    campaign = campaign_for(db, settings)
    message = message_from_bytes(preview_message(campaign, settings), policy=policy.default)
    assert "Hello friend." in html_part(message)
    check = next(c for c in campaign_checks(campaign, settings) if c.key == "reader-fields")
    assert check.level == "pass"
    assert "reader.name, reader.attributes.city (else “friend”)" in check.detail


def test_a_subject_with_an_unknown_field_is_refused_by_name(db, settings):
    article = articles.create_article(db, title="Fields", body_markdown="x")
    with pytest.raises(ValidationError) as refused:
        campaigns.create_campaign(db, article.id, subject="For {{ reader.town }}")
    assert "cannot fill in {{ reader.town }}" in refused.value.fields["subject"]


def test_an_unchecked_article_fails_the_pre_send_check_not_the_send(db, settings):
    article = articles.create_article(db, title="Old", body_markdown="x")
    db.execute(update(Article).values(body_html="<p>Hi {{ reader.town }}!</p>"))
    campaign = campaigns.create_campaign(db, article.id)
    db.expire_all()
    campaigns.prepare(db, campaigns.get_campaign(db, campaign.id), settings)
    checks = {c.key: c for c in campaign_checks(campaigns.get_campaign(db, campaign.id), settings)}
    assert checks["reader-fields"].level == "fail"
    assert "{{ reader.town }}" in checks["reader-fields"].detail
