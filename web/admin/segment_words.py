"""A segment's rules, and why a reader meets each or not, in plain words."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from broadsheet.services.attribute_rules import as_text
from broadsheet.services.segments import Reason
from web.admin.segment_form import SOURCES

SOURCE_WORDS = dict(SOURCES)


def rule_words(rule: str, wanted: Any, names: dict[int, str], zone: ZoneInfo) -> str:
    """One rule as a reader must be to meet it, e.g. "tagged any of donor, press"."""
    if rule == "status":
        return "an active reader (confirmed, still subscribed)"
    if rule == "newsletters":
        return "subscribed to " + _either([names.get(i, f"newsletter {i}") for i in wanted])
    if rule == "tags_any":
        return "tagged " + _either(wanted)
    if rule == "tags_all":
        return "tagged " + (wanted[0] if len(wanted) == 1 else "all of " + ", ".join(wanted))
    if rule == "exclude_tags":
        return "not tagged " + (wanted[0] if len(wanted) == 1 else "any of " + ", ".join(wanted))
    if rule == "attributes":
        return "with " + _all(
            [f"no {name}" if v is None else f"{name} = {as_text(v)}" for name, v in wanted.items()]
        )
    if rule == "has_attributes":
        return "with a value for " + _all(wanted)
    if rule == "sources":
        return "signed up through " + _either([SOURCE_WORDS.get(s, s) for s in wanted])
    if rule in ("signed_up_after", "signed_up_before"):
        day = datetime.fromisoformat(wanted).astimezone(zone).strftime("%-d %B %Y, %H:%M")
        return f"signed up {rule.rpartition('_')[2]} {day} ({zone.key})"
    if rule == "engaged_in_last":
        last = "the last campaign" if wanted == 1 else f"any of the last {wanted} campaigns"
        return f"opened or clicked {last} sent"
    if rule == "not_engaged_in_last":
        if wanted == 1:
            return "did not open or click the last campaign sent"
        return f"opened or clicked none of the last {wanted} campaigns sent"
    if rule == "never_engaged":
        return "never opened or clicked any campaign"
    return f"{rule}: {wanted}"


def rules_words(rules: dict[str, Any], names: dict[int, str], zone: ZoneInfo) -> list[str]:
    """Each rule of a segment in plain words, in the order the form asks them."""
    return [
        rule_words(rule, wanted, names, zone) for rule, wanted in rules.items() if rule != "segment"
    ]


def reasons_words(
    reasons: list[Reason], names: dict[int, str], zone: ZoneInfo
) -> list[tuple[str, bool]]:
    """Each of explain()'s reasons as (what the segment asks, met or not)."""
    return [(rule_words(r.rule, r.wanted, names, zone), r.met) for r in reasons]


def _either(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _all(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
