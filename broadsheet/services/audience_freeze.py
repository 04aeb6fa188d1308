"""A campaign's audience between the draft and the start: the saved segment it goes to is
kept by reference (`campaigns.segment_id`) and read as it is now, so editing the segment
reaches drafts and scheduled campaigns; when the send starts (before planning) or the campaign
is cancelled, the segment's rules are copied into the campaign's own and the reference
dropped, so the ledger holds the audience as it stood then and it never changes after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from broadsheet.models import Campaign, Segment

SEGMENT = "segment"  # the rule naming a saved segment (audiences.check_rules keeps its id)


def rules_of(campaign: Campaign) -> dict[str, Any] | None:
    """The rules a campaign's readers meet: while it waits for its send to start, its
    segment's rules as they are now with its own over them (and the segment's name); once
    frozen, its own, which then never change."""
    segment = campaign.segment
    if segment is None:
        return campaign.audience_rules
    return {**segment.rules, **(campaign.audience_rules or {}), SEGMENT: segment.name}


def with_segment(session: Session, rules: dict[str, Any] | None) -> dict[str, Any] | None:
    """Rules as `check_rules` keeps them, a segment among them read as it is now (as
    `rules_of` reads a waiting campaign's)."""
    own = dict(rules or {})
    segment_id = own.pop(SEGMENT, None)
    segment = session.get(Segment, segment_id) if segment_id is not None else None
    if segment is None:
        return own
    return {**segment.rules, **own, SEGMENT: segment.name}


def freeze(session: Session, campaign: Campaign) -> bool:
    """Copy the segment's rules as they stand into the campaign's own and drop the
    reference: from here on the campaign's audience is what its rules say, whatever becomes
    of the segment. Done when the send starts (before planning) or the campaign is
    cancelled; whether there was a segment to freeze."""
    if campaign.segment_id is None:
        return False
    campaign.audience_rules = rules_of(campaign)
    campaign.segment_id, campaign.segment = None, None
    session.flush()
    return True
