"""The segment form: its fields read into the rules broadsheet.services.audiences checks, and
rules kept shown back in the fields. Lists are typed with commas; attributes one `name = value`
a line, as on a reader's page (`name = null`: no such attribute); dates are days in the
TIMEZONE setting's calendar (a reader signed up after a day: from its midnight there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import request

from broadsheet.errors import ValidationError
from broadsheet.services.audiences import (
    ENGAGEMENT_RULES,
    NEVER_ENGAGED,
    TAG_RULES,
    TIME_RULES,
)
from broadsheet.services.profiles import attributes_as_lines, attributes_from_lines

SOURCES = [
    ("form", "the subscribe page"),
    ("api", "the API"),
    ("admin", "the admin"),
    ("import", "an import"),
]
TEXT_FIELDS = ("name", *TAG_RULES, "attributes", "has_attributes", *TIME_RULES, *ENGAGEMENT_RULES)


def read_form(zone: ZoneInfo) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The posted form as typed (to show again), as rules (for the service to check), and the
    form's own errors by field (a date that is not one)."""
    form: dict[str, Any] = {name: request.form.get(name, "").strip() for name in TEXT_FIELDS}
    form["newsletters"] = request.form.getlist("newsletters")
    form["sources"] = request.form.getlist("sources")
    form[NEVER_ENGAGED] = request.form.get(NEVER_ENGAGED) == "yes"
    rules: dict[str, Any] = {}
    for rule in ("newsletters", "sources"):
        if form[rule]:
            rules[rule] = form[rule]
    for rule in TAG_RULES:
        tags = [tag.strip() for tag in form[rule].split(",") if tag.strip()]
        if tags:
            rules[rule] = tags
    errors: dict[str, str] = {}
    if form["attributes"]:
        try:
            rules["attributes"] = attributes_from_lines(form["attributes"])
        except ValidationError as exc:
            errors.update(exc.fields)
    names = [name.strip() for name in form["has_attributes"].split(",") if name.strip()]
    if names:
        rules["has_attributes"] = names
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
    if form[NEVER_ENGAGED]:
        rules[NEVER_ENGAGED] = True
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
    form["attributes"] = attributes_as_lines(rules.get("attributes"))
    form["has_attributes"] = ", ".join(rules.get("has_attributes", []))
    form[NEVER_ENGAGED] = bool(rules.get(NEVER_ENGAGED))
    for rule in TIME_RULES:
        if rule in rules:
            form[rule] = datetime.fromisoformat(rules[rule]).astimezone(zone).strftime("%Y-%m-%d")
    for rule in ENGAGEMENT_RULES:
        form[rule] = str(rules.get(rule, ""))
    return form


def field_errors(fields: dict[str, str]) -> dict[str, str]:
    """The service's `rules.<rule>` errors under the form's field names (`rules`: no rule);
    one attribute's (`rules.attributes.city`) under the attributes box, naming it."""
    errors: dict[str, str] = {}
    for key, message in fields.items():
        rule, _, attribute = key.removeprefix("rules.").partition(".")
        errors.setdefault(rule, f"the attribute {attribute} {message}" if attribute else message)
    return errors
