"""Failures grouped as an operator reads them (broadsheet.services.failures): by the relay's
reply class and by the readers' domain, each with a reply to show; kept for a large campaign."""

from __future__ import annotations

import pytest

from broadsheet.models import Campaign, utcnow
from broadsheet.services import failures, progress, samples
from broadsheet.services.claims import SUPPRESSED_ERROR
from tests.support.live import mixed_campaign


@pytest.mark.parametrize(
    ("reply", "error", "kind"),
    [
        ("550 5.1.1 <ann@example.org>: no such user", None, "550 5.1.1"),
        ("550-5.7.26 unauthenticated mail is refused", None, "550 5.7.26"),
        ("554 no thanks", None, "554"),
        (None, "gave up after 6 attempts: 451 4.2.2 mailbox full", "451 4.2.2"),
        (None, "gave up after 6 attempts: connection lost: reset", "connection lost"),
        (None, "Connection refused: relay down", "connection refused"),
        (None, SUPPRESSED_ERROR, failures.READER_LEFT),
        (None, None, failures.NO_REPLY),
    ],
)
def test_a_reply_falls_in_the_class_its_codes_or_first_words_say(reply, error, kind):
    assert failures.reply_class(reply, error) == kind


def test_failures_are_grouped_by_reply_class_and_domain_with_a_reply_each(committed):
    campaign_id = mixed_campaign(committed)
    groups = failures.group(committed, campaign_id)
    assert groups["total"] == 6
    classes = {g["name"]: (g["count"], g["reply"]) for g in groups["classes"]["top"]}
    assert classes == {
        "550 5.7.1": (3, "550 5.7.1 <x@refusing.test>: we refuse"),
        "550 5.1.1": (2, "550 5.1.1 no such user here"),
        "connection lost": (1, "gave up after 6 attempts: connection lost: x"),
    }
    domains = [(g["name"], g["count"]) for g in groups["domains"]["top"]]
    assert domains == [("refusing.test", 3), ("example.org", 2), ("slow.test", 1)]
    assert groups["domains"]["rest"] == {"count": 0, "groups": 0}


def test_past_the_top_domains_the_rest_are_summed(committed, monkeypatch):
    monkeypatch.setattr(failures, "TOP_DOMAINS", 1)
    groups = failures.group(committed, mixed_campaign(committed))
    assert [g["name"] for g in groups["domains"]["top"]] == ["refusing.test"]
    assert groups["domains"]["rest"] == {"count": 3, "groups": 2}


def test_a_large_campaign_shows_the_groups_the_tick_kept(committed, monkeypatch):
    monkeypatch.setattr(progress, "KEPT_COUNTS_ABOVE", 3)
    campaign_id = mixed_campaign(committed)
    progress.keep(committed, [campaign_id])
    samples.take_samples(committed, utcnow())
    committed.commit()
    campaign = committed.get(Campaign, campaign_id)
    committed.refresh(campaign)
    assert campaign.failures is not None and campaign.failures["total"] == 6
    shown = failures.shown(committed, campaign)
    assert shown["at"] == campaign.failures["at"]  # kept, not grouped again
