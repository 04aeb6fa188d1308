"""The audience on the admin's campaign forms (a new campaign, and a draft's message form):
newsletters ticked and/or a saved segment, read back from the post with each error by its
field, what the form offers with the count as chosen, and the audience said in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import Campaign, Newsletter, Segment
from broadsheet.services import audience_freeze, campaigns, newsletters, segments

# Posted when the form carries the audience's fields (a draft whose rules the form cannot
# show, made through the API with tags, keeps its audience as it is).
MARKER = "audience_fields"


@dataclass(frozen=True)
class Offered:
    newsletters: list[tuple[Newsletter, int]]  # each with its active readers now
    segments: list[Segment]
    everyone: int
    count: int | None  # the audience as chosen on the form; None when it cannot be counted


def posted() -> tuple[object, dict[str, Any]]:
    """The audience posted, as `create_campaign` takes it, and the form's values as sent."""
    chosen = request.form.getlist("newsletters")
    segment = request.form.get("segment", "")
    return campaigns.audience_from_form(chosen, segment), {
        "newsletters": chosen,
        "segment": segment,
    }


def field_errors(fields: dict[str, str]) -> dict[str, str]:
    """The service's errors by the form's fields: `audience.newsletters` by the boxes,
    `audience.segment` by the segment's list, any other rule by the audience as a whole."""
    shown: dict[str, str] = {}
    for key, message in fields.items():
        name, dot, rule = key.partition(".")
        if name == "audience" and dot:
            shown[rule if rule in ("newsletters", "segment") else "audience"] = message
        else:
            shown[key] = message
    return shown


def offered(session: Session, form: dict[str, Any]) -> Offered:
    """What the form offers, and the count of the audience it holds (not when it is wrong)."""
    try:
        audience = campaigns.audience_from_form(form["newsletters"], form["segment"])
        count: int | None = campaigns.count_audience(session, audience)
    except ValidationError:
        count = None
    return Offered(
        newsletters=campaigns.newsletter_choices(session),
        segments=segments.list_segments(session),
        everyone=campaigns.audience_size(session, "everyone"),
        count=count,
    )


def editable(campaign: Campaign) -> bool:
    """Whether the form can show the campaign's audience as it is: newsletters and a segment
    by reference, nothing else (a legacy copy of a segment's rules, tags from the API)."""
    return set(campaign.audience_rules or {}) <= {"newsletters"}


def form_of(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The form's values for a draft's audience as kept."""
    ids, segment = campaigns.audience_of(campaign)
    slugs = {n.id: n.slug for n in newsletters.list_newsletters(session)}
    return {"newsletters": [slugs[i] for i in ids if i in slugs], "segment": segment}


def in_words(session: Session, campaign: Campaign) -> str:
    """Who the campaign goes to, for its page and the confirmations: "the readers of Daily
    and Weekly in the segment “Donors”, as it is now", "every active reader", ..."""
    rules = audience_freeze.rules_of(campaign) or {}
    if campaign.audience == "everyone" or not rules:
        return "every active reader"
    names = {n.id: n.name for n in newsletters.list_newsletters(session)}
    own = campaign.audience_rules or {}
    chosen = [names.get(i, f"newsletter {i}") for i in own.get("newsletters", [])]
    readers = f"the readers of {_listed(chosen)}" if chosen else ""
    segment = rules.get(audience_freeze.SEGMENT)
    if campaign.segment is not None:
        within = f"the segment “{segment}” as it is when the send starts"
        return f"{readers} in {within}" if readers else within
    if segment:
        return f"the segment “{segment}”, with its rules as they were when this campaign was made"
    if set(rules) == {"newsletters"}:
        return readers
    return campaigns.AUDIENCES[campaign.audience].lower()


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
