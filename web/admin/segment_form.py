"""The segment form: its fields read into the rules broadsheet.services.audiences checks, and
rules kept shown back in the fields. Lists are typed with commas; dates are days in the
TIMEZONE setting's calendar (a reader signed up after a day: from its midnight there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import request

from broadsheet.services.audiences import ENGAGEMENT_RULES, TAG_RULES, TIME_RULES

SOURCES = [
    ("form", "the subscribe page"),
    ("api", "the API"),
    ("admin", "the admin"),
    ("import", "an import"),
]
TEXT_FIELDS = ("name", *TAG_RULES, *TIME_RULES, *ENGAGEMENT_RULES)


def read_form(zone: ZoneInfo) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The posted form as typed (to show again), as rules (for the service to check), and the
    form's own errors by field (a date that is not one)."""
    form: dict[str, Any] = {name: request.form.get(name, "").strip() for name in TEXT_FIELDS}
    form["newsletters"] = request.form.getlist("newsletters")
    form["sources"] = request.form.getlist("sources")
    rules: dict[str, Any] = {}
    for rule in ("newsletters", "sources"):
        if form[rule]:
            rules[rule] = form[rule]
    for rule in TAG_RULES:
        tags = [tag.strip() for tag in form[rule].split(",") if tag.strip()]
        if tags:
            rules[rule] = tags
    errors: dict[str, str] = {}
    for rule in TIME_RULES:
        if form[rule]:
            try:
                day = datetime.strptime(form[rule], "%Y-%m-%d")
            except ValueError:
                errors[rule] = "must be a day, such as 2026-01-31"
                continue
            rules[rule] = day.replace(tzinfo=zone).isoformat()
    for rule in ENGAGEMENT_RULES:
        typed = form[rule]
        if typed:
            rules[rule] = int(typed) if typed.isascii() and typed.isdigit() else typed
    return form, rules, errors


def form_of(
    name: str, rules: dict[str, Any], slugs: dict[int, str], zone: ZoneInfo
) -> dict[str, Any]:
    """A kept segment's rules as the form shows them (newsletters kept by id, as slugs)."""
    form: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    form["name"] = name
    form["newsletters"] = [slugs[i] for i in rules.get("newsletters", []) if i in slugs]
    form["sources"] = list(rules.get("sources", []))
    for rule in TAG_RULES:
        form[rule] = ", ".join(rules.get(rule, []))
    for rule in TIME_RULES:
        if rule in rules:
            form[rule] = datetime.fromisoformat(rules[rule]).astimezone(zone).strftime("%Y-%m-%d")
    for rule in ENGAGEMENT_RULES:
        form[rule] = str(rules.get(rule, ""))
    return form


def field_errors(fields: dict[str, str]) -> dict[str, str]:
    """The service's `rules.<rule>` errors under the form's field names (`rules`: no rule)."""
    return {key.removeprefix("rules."): message for key, message in fields.items()}
