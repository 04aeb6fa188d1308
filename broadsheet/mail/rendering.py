"""Render an email folder (subject, text, HTML) from templates/email/ and inline its CSS once."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from premailer import Premailer

from broadsheet.mail.plaintext import html_to_text
from broadsheet.settings import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "email"
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedEmail:
    """One email rendered for everyone: subject line, text/plain body and CSS-inlined HTML body."""

    subject: str
    text: str
    html: str


def render_email(name: str, context: Mapping[str, object]) -> RenderedEmail:
    """Render `templates/email/<name>/` with `context`; the HTML is CSS-inlined by premailer."""
    env = _environment()
    subject = env.get_template(f"{name}/subject.txt").render(context)
    text = env.get_template(f"{name}/body.txt").render(context)
    html = env.get_template(f"{name}/body.html").render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=_tidy_text(text),
        html=inline_css(html),
    )


def inline_css(html: str) -> str:
    """Move the <style> rules onto the elements, since many mail clients drop <style> blocks."""
    premailer = Premailer(
        html,
        base_url=None,  # a base URL would rewrite links, placeholders included
        disable_link_rewrites=True,
        keep_style_tags=False,
        remove_classes=False,
        # Kept: only the dark-mode rules use !important, to win over the inlined colours.
        strip_important=False,
        disable_validation=True,
        # Sizes come from HTML attributes: CSS `height:auto` must not become height="auto".
        disable_basic_attributes=["width", "height"],
        allow_network=False,
        cssutils_logging_level=logging.CRITICAL,
    )
    inlined: str = premailer.transform(pretty_print=False)
    return inlined


@cache
def _environment() -> Environment:
    """The one Jinja2 environment for email templates, built on first use rather than at import."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plaintext"] = html_to_text
    env.filters["long_date"] = long_date
    env.filters["iso_date"] = lambda when: _aware(when).date().isoformat()
    return env


def long_date(when: datetime) -> str:
    """Format as '5 March 2025', independent of the process locale."""
    when = _aware(when)
    return f"{when.day} {_MONTHS[when.month - 1]} {when.year}"


def _aware(when: datetime) -> datetime:
    # Naive values come back from SQLite; the application stores UTC.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _tidy_text(text: str) -> str:
    """Strip trailing spaces (bar the "-- " signature mark) and collapse runs of blank lines."""
    lines = "\n".join(
        line if line == "-- " else line.rstrip() for line in text.strip().splitlines()
    )
    return _BLANK_RUNS.sub("\n\n", lines) + "\n"
