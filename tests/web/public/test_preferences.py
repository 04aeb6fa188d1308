"""A reader's preferences page, through the link in every campaign: choose newsletters (the
public ones and those they are in), change their name, leave everything; the next campaign
to a newsletter they left skips them while the others still reach them."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from broadsheet.mail.compose import subscription_urls
from broadsheet.models import OutboxMessage, SubscriberStatus
from broadsheet.services import campaigns, engagement, erasure, newsletters, subscriptions
from tests.broadsheet.services.test_newsletters import planned_emails
from tests.support.factories import make_article

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def reader_in_two(committed, settings) -> tuple[int, str]:
    newsletters.create_newsletter(committed, "Daily", description="Every morning.")
    newsletters.create_newsletter(committed, "Weekly")
    newsletters.create_newsletter(committed, "Staff", public=False)
    newsletters.create_newsletter(committed, "Board", public=False)
    ann = subscriptions.create_subscriber(
        committed, "ann@example.org", "Ann", status="active",
        newsletters_chosen=["daily", "weekly", "staff"],
    )  # fmt: skip
    committed.commit()
    _, preferences = subscription_urls(settings, ann.id, None)
    return ann.id, preferences.removeprefix(settings.public_url)


def status_of(committed, reader_id: int) -> SubscriberStatus:
    """As the app left it (its requests change rows behind this session's back)."""
    committed.expire_all()
    return subscriptions.get_subscriber(committed, reader_id).status


def send(client, path: str, **fields: object):
    page = client.get(path).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, "no form on the page"
    return client.post(path, data={"csrf_token": match.group(1), **fields})


def test_a_reader_leaves_one_newsletter_and_keeps_the_others(client, committed, settings):
    ann, path = reader_in_two(committed, settings)
    page = client.get(path).get_data(as_text=True)
    for slug in ("daily", "weekly", "staff"):
        assert f'value="{slug}" checked' in page, slug
    assert 'value="board"' not in page  # private, and she is not in it
    saved = send(client, path, newsletters=["weekly", "staff"], name="Ann R.")
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    assert 'value="daily">' in saved.get_data(as_text=True)
    assert planned_emails(committed, {"newsletters": ["daily"]}) == []
    assert planned_emails(committed, {"newsletters": ["weekly"]}) == ["ann@example.org"]
    assert subscriptions.get_subscriber(committed, ann).name == "Ann R."


def test_clearing_every_newsletter_stops_all_mail(client, committed, settings):
    ann, path = reader_in_two(committed, settings)
    left = send(client, path, name="Ann")
    assert "You are unsubscribed" in left.get_data(as_text=True)
    assert status_of(committed, ann) == SubscriberStatus.UNSUBSCRIBED
    again = client.get(path).get_data(as_text=True)
    choices = again.split("</header>")[-1].split('id="my-data"')[0]
    assert "gets no email from" in again and "<form" not in choices  # only "my data" is left


def test_a_newsletter_not_offered_is_refused_and_nothing_changes(client, committed, settings):
    ann, path = reader_in_two(committed, settings)
    refused = send(client, path, newsletters=["board"], name="Ann")
    assert refused.status_code == 422
    assert 'id="newsletters-error"' in refused.get_data(as_text=True)
    joined = {
        n.slug for n, m in newsletters.memberships(committed, ann) if m.status.value == "subscribed"
    }
    assert joined == {"daily", "weekly", "staff"}


def test_a_forged_or_unknown_link_is_refused(client, committed, settings):
    assert client.get("/preferences/not-a-token").status_code in (400, 404)
    _, nobody = subscription_urls(settings, 999_999, None)
    assert client.get(nobody.removeprefix(settings.public_url)).status_code == 404


def test_one_click_from_a_newsletters_campaign_leaves_that_newsletter_only(
    client, committed, settings
):
    ann, _ = reader_in_two(committed, settings)
    weekly = campaigns.create_campaign(
        committed, make_article(committed, "W").id, audience={"newsletters": ["weekly"]}
    )
    daily = campaigns.create_campaign(
        committed, make_article(committed, "D").id, audience={"newsletters": ["daily"]}
    )
    committed.commit()

    def link(campaign_id: int) -> str:
        url, _ = subscription_urls(settings, ann, campaign_id)
        return url.removeprefix(settings.public_url)

    page = client.get(link(weekly.id)).get_data(as_text=True)
    assert "no more of Weekly" in page
    left = client.post(link(weekly.id), data={"List-Unsubscribe": "One-Click"})
    assert "no more of Weekly" in left.get_data(as_text=True)
    assert status_of(committed, ann) == SubscriberStatus.ACTIVE
    assert planned_emails(committed, {"newsletters": ["weekly"]}) == []
    assert planned_emails(committed, {"newsletters": ["daily"]}) == ["ann@example.org"]
    client.post(link(daily.id), data={"List-Unsubscribe": "One-Click"})
    assert status_of(committed, ann) == SubscriberStatus.ACTIVE  # staff
    everything = client.post(link(daily.id), data={"everything": "yes"})
    assert "no more email from" in everything.get_data(as_text=True)
    assert status_of(committed, ann) == SubscriberStatus.UNSUBSCRIBED
    # Each campaign counts her once: Weekly's for the newsletter she left through it, Daily's
    # for leaving Daily and then everything through the same link.
    left = engagement.count_left(committed, [weekly.id, daily.id])
    assert left == {
        weekly.id: {"unsubscribed": 1, "complained": 0},
        daily.id: {"unsubscribed": 1, "complained": 0},
    }


def test_one_click_from_a_two_newsletter_campaign_leaves_both_and_keeps_a_third(
    client, committed, settings
):
    ann, _ = reader_in_two(committed, settings)  # daily, weekly and staff
    both = campaigns.create_campaign(
        committed, make_article(committed).id, audience={"newsletters": ["daily", "weekly"]}
    )
    committed.commit()
    url, _ = subscription_urls(settings, ann, both.id)
    path = url.removeprefix(settings.public_url)
    asked = " ".join(client.get(path).get_data(as_text=True).split())
    assert "no more of Daily and Weekly, which this email went to" in asked
    left = client.post(path, data={"List-Unsubscribe": "One-Click"}).get_data(as_text=True)
    left = " ".join(left.split())
    assert "no more of Daily and Weekly" in left and "other newsletters you chose" in left
    assert "/preferences/" in left  # the rest are chosen there
    assert status_of(committed, ann) == SubscriberStatus.ACTIVE
    kept = {n.slug: m.status.value for n, m in newsletters.memberships(committed, ann)}
    assert kept == {"daily": "unsubscribed", "weekly": "unsubscribed", "staff": "subscribed"}
    assert engagement.count_left(committed, [both.id])[both.id]["unsubscribed"] == 1


def test_one_click_from_a_campaign_to_everyone_leaves_everything_and_says_so(
    client, committed, settings
):
    ann, _ = reader_in_two(committed, settings)
    everyone = campaigns.create_campaign(committed, make_article(committed).id)
    tagged = campaigns.create_campaign(
        committed, make_article(committed, "Tagged").id, audience={"tags_any": ["donor"]}
    )
    committed.commit()
    for campaign in (everyone, tagged):
        url, _ = subscription_urls(settings, ann, campaign.id)
        asked = " ".join(
            client.get(url.removeprefix(settings.public_url)).get_data(as_text=True).split()
        )
        assert "unsubscribes you from everything" in asked, campaign.audience_rules
    url, _ = subscription_urls(settings, ann, everyone.id)
    left = client.post(
        url.removeprefix(settings.public_url), data={"List-Unsubscribe": "One-Click"}
    )
    words = " ".join(left.get_data(as_text=True).split())
    assert "went to readers of every newsletter, so you left everything" in words
    assert status_of(committed, ann) == SubscriberStatus.UNSUBSCRIBED


def test_leaving_the_last_newsletter_is_leaving_everything(client, committed, settings):
    newsletters.create_newsletter(committed, "Weekly")
    bo = subscriptions.create_subscriber(
        committed, "bo@example.org", status="active", newsletters_chosen=["weekly"]
    )
    weekly = campaigns.create_campaign(
        committed, make_article(committed).id, audience={"newsletters": ["weekly"]}
    )
    committed.commit()
    url, _ = subscription_urls(settings, bo.id, weekly.id)
    client.post(url.removeprefix(settings.public_url), data={"List-Unsubscribe": "One-Click"})
    assert status_of(committed, bo.id) == SubscriberStatus.UNSUBSCRIBED


def test_the_signup_form_offers_the_public_newsletters_all_ticked(client, committed):
    for existing in newsletters.list_newsletters(committed):  # the migration's, if kept
        existing.public = False
    newsletters.create_newsletter(committed, "Daily", description="Every morning.")
    newsletters.create_newsletter(committed, "Weekly")
    newsletters.create_newsletter(committed, "Staff", public=False)
    committed.commit()
    form = client.get("/subscribe").get_data(as_text=True)
    assert 'value="daily" checked' in form and 'value="weekly" checked' in form
    assert 'value="staff"' not in form
    none = send(client, "/subscribe", email="zoe@example.org", offered="1")
    assert none.status_code == 400 and 'id="newsletters-error"' in none.get_data(as_text=True)
    picked = send(
        client, "/subscribe", email="zoe@example.org", offered="1", newsletters=["weekly"]
    )
    assert picked.status_code == 200
    zoe = subscriptions.find_subscriber(committed, "zoe@example.org")
    assert zoe is not None
    assert [n.slug for n, _ in newsletters.memberships(committed, zoe.id)] == ["weekly"]
    forged = send(client, "/subscribe", email="yan@example.org", offered="1", newsletters=["staff"])
    assert forged.status_code == 400


def test_a_reader_who_left_everything_is_told_so_by_a_newsletters_link(client, committed, settings):
    ann, _ = reader_in_two(committed, settings)
    weekly = campaigns.create_campaign(
        committed, make_article(committed).id, audience={"newsletters": ["weekly"]}
    )
    subscriptions.unsubscribe(committed, ann)
    committed.commit()
    url, _ = subscription_urls(settings, ann, weekly.id)
    page = client.post(url.removeprefix(settings.public_url)).get_data(as_text=True)
    assert "no more email from" in page and "no more of Weekly" not in page


def test_no_data_is_mailed_to_an_address_that_bounced_or_to_an_erased_reader(
    client, committed, settings
):
    bounced = subscriptions.create_subscriber(committed, "gone@example.org", status="active")
    bounced.status = SubscriberStatus.BOUNCED  # as a bounce report leaves them
    kept = subscriptions.create_subscriber(committed, "kept@example.org", status="active")
    erasure.erase(committed, kept.id, settings.secret_key)
    committed.commit()
    for reader_id, says in ((bounced.id, "bounced, so we cannot email"), (kept.id, "erased")):
        _, url = subscription_urls(settings, reader_id, None)
        path = url.removeprefix(settings.public_url)
        page = client.get(path).get_data(as_text=True)
        assert says in page and "Email me my data" not in page
        token = TOKEN.search(client.get("/subscribe").get_data(as_text=True))  # a forged ask
        assert token is not None
        refused = client.post(f"{path}/my-data", data={"csrf_token": token.group(1)})
        assert refused.status_code == 409 and says in refused.get_data(as_text=True)
    assert committed.scalar(select(func.count()).select_from(OutboxMessage)) == 0
